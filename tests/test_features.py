"""Frozen features: the thesis CNN, determinism, and a cache that never serves a bad entry."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from xmbench.data import DATASETS, LoadOptions
from xmbench.features.cache import FeatureCache
from xmbench.features.cnn import FEATURE_DIM, ExtractorConfig, FeatureCNN
from xmbench.features.extract import build_features, feature_inputs

CPU = torch.device("cpu")
FAST = ExtractorConfig(epochs=1)


@pytest.fixture(scope="module")
def digits():
    return DATASETS.get("digits-colors").load("non-unique", LoadOptions())


@pytest.mark.parametrize(("channels", "params"), [(1, 2174), (3, 2246)])
def test_cnn_matches_the_thesis_summary(channels, params):
    model = FeatureCNN(channels, 10)
    assert sum(p.numel() for p in model.parameters()) == params
    assert model.features(torch.zeros(2, channels, 28, 28)).shape == (2, FEATURE_DIM)


def test_features_are_deterministic_and_cached(digits, tmp_path):
    cache = FeatureCache(tmp_path)
    first = build_features(digits, FAST, 0, CPU, cache)
    assert not first.from_cache
    assert first.data.train.a.shape == (len(digits.train), FEATURE_DIM)
    assert set(first.extractor_accuracy) == {"digit", "colour"}
    # identical colour images give identical features; O/P-like classes 7 and 8 cannot be told apart
    assert first.extractor_accuracy["colour"] <= 0.9 + 1e-9
    second = build_features(digits, FAST, 0, CPU, cache)
    assert second.from_cache and second.cache_key == first.cache_key
    np.testing.assert_array_equal(second.data.test.b, first.data.test.b)
    fresh = build_features(digits, FAST, 0, CPU, None)
    np.testing.assert_array_equal(fresh.data.train.a, first.data.train.a)


def test_cache_key_covers_what_features_depend_on(digits):
    base = feature_inputs(digits, FAST, 0, CPU)
    changed = [
        feature_inputs(digits, dataclasses.replace(FAST, epochs=2), 0, CPU),
        feature_inputs(digits, FAST, 1, CPU),
        feature_inputs(dataclasses.replace(digits, pairing="unique"), FAST, 0, CPU),
        feature_inputs(dataclasses.replace(digits, name="other"), FAST, 0, CPU),
    ]
    assert all(inputs != base for inputs in changed)
    assert {"xmbench", "torch", "device_type", "torch_threads", "provenance"} <= set(base)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert feature_inputs(digits, FAST, 0, CPU) != base
    finally:
        torch.set_num_threads(threads)


def test_corrupt_or_tampered_cache_entries_are_rebuilt(digits, tmp_path):
    cache = FeatureCache(tmp_path)
    reference = build_features(digits, FAST, 0, CPU, cache)
    data_file = next(tmp_path.glob("*.npz"))
    data_file.write_bytes(data_file.read_bytes()[:100])  # truncated
    with pytest.warns(UserWarning, match="checksum mismatch"):
        rebuilt = build_features(digits, FAST, 0, CPU, cache)
    assert not rebuilt.from_cache
    np.testing.assert_array_equal(rebuilt.data.test.a, reference.data.test.a)

    meta_file = next(tmp_path.glob("*.json"))
    meta = json.loads(meta_file.read_text())
    meta["inputs"]["data_seed"] = 99  # an entry whose recorded inputs differ: stale
    meta_file.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="stale"):
        assert not build_features(digits, FAST, 0, CPU, cache).from_cache

    meta_file.write_text("{not json")
    with pytest.warns(UserWarning, match="unusable"):
        assert not build_features(digits, FAST, 0, CPU, cache).from_cache
    assert build_features(digits, FAST, 0, CPU, cache).from_cache


def test_different_data_under_the_same_name_never_hits_the_cache_and_a_copy_does(digits, tmp_path):
    """The cache key covers the loaded data's bytes, not where it was read from: a dataset whose
    values differ (another --data-root holding other files) is extracted anew, an equal copy is not."""
    cache = FeatureCache(tmp_path)
    first = build_features(digits, FAST, 0, CPU, cache)
    altered_a = digits.train.a.copy()
    altered_a[0] = 255 - altered_a[0]
    altered = dataclasses.replace(digits, train=dataclasses.replace(digits.train, a=altered_a))
    second = build_features(altered, FAST, 0, CPU, cache)
    assert not second.from_cache and second.cache_key != first.cache_key
    copied = dataclasses.replace(digits, train=dataclasses.replace(digits.train, a=digits.train.a.copy()))
    third = build_features(copied, FAST, 0, CPU, cache)
    assert third.from_cache and third.cache_key == first.cache_key
