"""Shared fixtures: a real data root when one is present, and small synthetic paired features."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xmbench.data.base import PairedSplit
from xmbench.testing import planted_pairs  # noqa: F401  (the tests import it from here)

REPO = Path(__file__).resolve().parents[1]


def find_data_root() -> Path | None:
    for candidate in (os.environ.get("XMBENCH_DATA_ROOT"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = find_data_root()
    if root is None:
        pytest.skip("no data root: set XMBENCH_DATA_ROOT or place shared/data beside the repository")
    return root


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory) -> Path:
    """One feature cache for the tests that run the harness without testing the cache itself: each
    dataset's extractor trains once per session instead of once per test."""
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture
def planted() -> tuple[PairedSplit, PairedSplit]:
    """(train, test) with a strong planted shared class signal."""
    return planted_pairs(600, 200, 20, 12, 5, 0.5, seed=1)
