"""Shared fixtures: a real data root when one is present, and small synthetic paired features."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from xmbench.data.base import PairedSplit

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


def planted_pairs(
    n_train: int, n_test: int, d_a: int, d_b: int, n_classes: int, noise: float, seed: int
) -> tuple[PairedSplit, PairedSplit]:
    """(train, test): two modalities sharing a class signal through different random linear maps."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    y = rng.integers(0, n_classes, size=n)
    centres = rng.standard_normal((n_classes, 8)) * 3
    latent = centres[y] + noise * rng.standard_normal((n, 8))
    a = latent @ rng.standard_normal((8, d_a)) + noise * rng.standard_normal((n, d_a))
    b = latent @ rng.standard_normal((8, d_b)) + noise * rng.standard_normal((n, d_b))
    a, b = a.astype(np.float32), b.astype(np.float32)
    train, test = slice(0, n_train), slice(n_train, n)
    return PairedSplit(a[train], b[train], y[train], y[train]), PairedSplit(a[test], b[test], y[test], y[test])


@pytest.fixture
def planted() -> tuple[PairedSplit, PairedSplit]:
    """(train, test) with a strong planted shared class signal."""
    return planted_pairs(600, 200, 20, 12, 5, 0.5, seed=1)
