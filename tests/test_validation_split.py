"""The validation split model selection scores: carved from the training pairs, class-stratified,
seeded from the data alone, and the test split is never seen before ``fit`` has returned."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xmbench import api
from xmbench.data import DATASETS, LoadOptions
from xmbench.data.base import PairedSplit
from xmbench.data.fraction import MAX_VALIDATION_PAIRS, carve_validation
from xmbench.errors import XmbenchError
from xmbench.methods.linear.cca import CCA


def pairs(n: int = 200, n_classes: int = 10) -> PairedSplit:
    y = np.arange(n) % n_classes
    a = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return PairedSplit(a, a[:, :2].copy(), y, y.copy())


def test_validation_is_a_stratified_tenth_disjoint_from_training_and_seeded():
    data = pairs(200)
    held = carve_validation(data, 0.1, seed=3)
    assert len(held.validation) == 20 and len(held.train) == 180
    assert np.bincount(held.validation.y_a).tolist() == [2] * 10  # stratified by class
    rows = set(held.train.a[:, 0]) | set(held.validation.a[:, 0])
    assert len(rows) == 200 and not set(held.train.a[:, 0]) & set(held.validation.a[:, 0])
    np.testing.assert_array_equal(held.validation.a[:, 0], held.index)  # row i holds value i
    np.testing.assert_array_equal(carve_validation(data, 0.1, seed=3).index, held.index)
    assert not np.array_equal(carve_validation(data, 0.1, seed=4).index, held.index)


def test_large_training_sets_hold_out_at_most_the_cap():
    held = carve_validation(pairs(30_000), 0.1, seed=0)
    assert len(held.validation) == MAX_VALIDATION_PAIRS and len(held.train) == 30_000 - MAX_VALIDATION_PAIRS


def test_at_least_one_pair_per_class_and_zero_means_none():
    held = carve_validation(pairs(60), 0.05, seed=0)  # 5% of 60 is 3 pairs, fewer than 10 classes
    assert sorted(held.validation.y_a.tolist()) == list(range(10))
    none = carve_validation(pairs(60), 0.0, seed=0)
    assert none.validation is None and len(none.train) == 60
    with pytest.raises(XmbenchError, match=r"validation fraction must lie in \[0, 0.5\]"):
        carve_validation(pairs(60), 0.6, seed=0)
    with pytest.raises(XmbenchError, match="validation fraction 0.1 of 15 training pairs"):
        carve_validation(pairs(15), 0.1, seed=0)  # 5 classes have a single pair


@pytest.fixture(scope="module")
def cache(feature_cache):
    return feature_cache


@pytest.fixture(scope="module")
def two_seeds_two_methods(tmp_path_factory, cache):
    root = tmp_path_factory.mktemp("val")
    config = api.RunConfig(methods=("cca", "kcca"), seeds=(0, 1), out=root / "r", cache_dir=cache, device="cpu")
    report = api.run_benchmark(config, log=lambda line: None)
    assert not report.failed
    return root, [json.loads(p.read_text()) for p in (root / "r" / "runs").glob("*/manifest.json")]


def test_every_method_and_seed_is_selected_on_the_same_validation_pairs(two_seeds_two_methods, cache):
    root, manifests = two_seeds_two_methods
    by_replicate = {(m["seeds"]["replicate"], m["training_data"]["validation"]["pairs_sha256"]) for m in manifests}
    prints = {sha for _, sha in by_replicate}
    assert len(manifests) == 4 and len(by_replicate) == len(prints) == 2  # the method does not enter it; the replicate does
    other = api.RunConfig(methods=("cca",), split_seed=1, out=root / "r1", cache_dir=cache, device="cpu")
    api.run_benchmark(other, log=lambda line: None)
    [moved] = [json.loads(p.read_text()) for p in (root / "r1" / "runs").glob("*/manifest.json")]
    assert moved["training_data"]["validation"]["pairs_sha256"] not in prints  # the data seed does
    n = manifests[0]["training_data"]
    assert n["validation"]["n_pairs"] == 126 and n["n_paired"] == manifests[0]["dataset"]["n_train"] - 126


def test_the_test_split_is_never_embedded_before_fit_returns(monkeypatch, tmp_path, cache):
    calls = []  # (while fitting?, rows of modality a) of every embedding CCA makes
    original = CCA._embed

    def spy(self, modality, X):
        if modality.value == "a":  # digit images are distinct; colour rows repeat across splits by design
            calls.append((not getattr(self, "fitted_", False), {row.tobytes() for row in X}))
        return original(self, modality, X)

    monkeypatch.setattr(CCA, "_embed", spy)
    config = api.RunConfig(methods=("cca",), out=tmp_path / "r", cache_dir=cache, device="cpu")
    api.run_benchmark(config, log=lambda line: None)
    data = DATASETS.get("digits-colors").load(None, LoadOptions())
    during = set().union(*(rows for fitting, rows in calls if fitting))
    after = set().union(*(rows for fitting, rows in calls if not fitting))
    assert during and after and not during & after
    assert len(during) == 126 and len(after) == len(data.test)  # validation pairs, then the test split
