"""Feature extraction, cold versus cached: ``build_features`` on the default dataset (digits-colors,
unique pairing, split seed 0, default ExtractorConfig, CPU) with an empty feature cache, then again
with the cache the first call filled, as ``xmbench.api`` calls it (the "features" stage of a run).

Run: pytest benchmarks/test_features_speed.py --benchmark-only -s
Reference: the cold call (train both modalities' CNNs, extract, save the cache entry), timed once
because it fills the cache. Measured: the cached call (read the entry, verify its SHA-256, rebuild
the frozen extractors), median of 5. Target: cached >= 5x faster than cold, and the cached
features bit-identical to the cold ones.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchtools import seconds_text, speed_ratio, target_text
from xmbench.data import DATASETS, LoadOptions
from xmbench.features.cache import FeatureCache
from xmbench.features.cnn import ExtractorConfig
from xmbench.features.extract import FeatureSet, build_features

DATASET, PAIRING, SPLIT_SEED = "digits-colors", "unique", 0
MIN_SPEEDUP = 5.0


def feature_arrays(features: FeatureSet) -> dict[str, np.ndarray]:
    data = features.data
    return {"train_a": data.train.a, "train_b": data.train.b, "test_a": data.test.a, "test_b": data.test.b}


def test_feature_extraction_cold_vs_cached(benchmark, record, tmp_path) -> None:
    started = time.perf_counter()
    data = DATASETS.get(DATASET).load(PAIRING, LoadOptions(None, False, SPLIT_SEED))
    load_seconds = time.perf_counter() - started
    cache, device = FeatureCache(tmp_path / "cache"), torch.device("cpu")

    def extract():
        return build_features(data, ExtractorConfig(), SPLIT_SEED, device, cache)

    started = time.perf_counter()
    cold = extract()
    cold_seconds = time.perf_counter() - started
    cached = benchmark.pedantic(extract, rounds=5, iterations=1, warmup_rounds=0)
    cached_seconds = benchmark.stats.stats.median
    speedup = cold_seconds / cached_seconds
    print(
        f"\nfeatures of {DATASET}/{PAIRING} ({len(data.train)} train + {len(data.test)} test pairs, "
        f"{cold.data.train.a.shape[1]}-d and {cold.data.train.b.shape[1]}-d; dataset load {load_seconds:.2f} s, not timed):"
        f"\n  cold (empty cache: train 2 CNNs, extract, save; once): {cold_seconds:.2f} s"
        f"\n  cached (median of 5): {cached_seconds * 1e3:.1f} ms"
        f"\n  speed-up: {speedup:.1f}x (target >= {MIN_SPEEDUP:.0f}x)"
    )
    again = feature_arrays(cached)
    differing = [
        name for name, array in feature_arrays(cold).items()
        if not (array.dtype == again[name].dtype and np.array_equal(array, again[name]))
    ]
    record(
        benchmark="feature extraction", measured=f"build_features on {DATASET}, warm cache (median of 5)",
        value=seconds_text(cached_seconds), reference="the same call with an empty cache (once)",
        reference_value=seconds_text(cold_seconds), ratio=speed_ratio(cached_seconds, cold_seconds),
        target=target_text(f">= {MIN_SPEEDUP:.0f}x, bit-identical", speedup >= MIN_SPEEDUP and not differing),
    )
    assert not cold.from_cache and cached.from_cache
    assert not differing, f"cached features differ from the cold ones: {differing}"
    assert cached.extractor_accuracy == cold.extractor_accuracy
    assert speedup >= MIN_SPEEDUP, f"the cache makes extraction only {speedup:.1f}x faster"
