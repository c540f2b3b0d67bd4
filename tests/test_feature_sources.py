"""Feature sources (``--features``): unsupervised and pixel features never read labels, and the source
is part of the cache key, the run key and the results."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from xmbench.data import DATASETS, LoadOptions
from xmbench.errors import XmbenchError
from xmbench.features.cache import FeatureCache, cache_key
from xmbench.features.cnn import FEATURE_DIM, ExtractorConfig
from xmbench.features.extract import EXTRACTOR_METRIC, build_features, feature_inputs
from xmbench.features.pixels import fit_pixel_pca, flat_pixels, pixel_features
from xmbench.features.probe import PROBE_METRIC
from xmbench.options import FeatureSource
from xmbench.results.schema import RunKey, with_legacy_columns

CPU = torch.device("cpu")
FAST = ExtractorConfig(epochs=1)


@pytest.fixture(scope="module")
def digits():
    return DATASETS.get("digits-colors").load("unique", LoadOptions())


def with_shuffled_labels(data, seed: int = 1):
    """The same images with every label permuted: anything computed without labels cannot change."""
    rng = np.random.default_rng(seed)

    def shuffle(split):
        order = rng.permutation(len(split))
        return dataclasses.replace(split, y_a=split.y_a[order], y_b=split.y_b[order])

    return dataclasses.replace(data, train=shuffle(data.train), test=shuffle(data.test))


@pytest.mark.parametrize("source", ["unsupervised", "pixels", "raw"])
def test_label_free_sources_never_read_labels(digits, source):
    shuffled = with_shuffled_labels(digits)
    assert not np.array_equal(shuffled.train.y_a, digits.train.y_a)
    real = build_features(digits, FAST, 0, CPU, None, source)
    fake = build_features(shuffled, FAST, 0, CPU, None, source)
    for split in ("train", "test"):
        for side in ("a", "b"):
            np.testing.assert_array_equal(getattr(getattr(fake.data, split), side),
                                          getattr(getattr(real.data, split), side))
    # the trunk's width; PCA keeps the components above round-off (8x8 digits upsampled: 57 of 196)
    width = {"unsupervised": FEATURE_DIM, "pixels": 57, "raw": 28 * 28}[source]
    assert real.data.train.a.shape == (len(digits.train), width)
    # the probe reads labels by design, after the features are fixed: shuffled labels score near chance
    assert real.extractor_accuracy["digit"] > 0.5 > fake.extractor_accuracy["digit"]
    assert real.accuracy_metric == PROBE_METRIC and not real.extractors


def test_the_label_check_has_teeth_supervised_features_do_read_labels(digits):
    real = build_features(digits, FAST, 0, CPU, None, "supervised")
    fake = build_features(with_shuffled_labels(digits), FAST, 0, CPU, None, "supervised")
    assert not np.array_equal(fake.data.train.a, real.data.train.a)
    assert real.accuracy_metric == EXTRACTOR_METRIC and set(real.extractors) == {"a", "b"}


def test_the_feature_source_changes_the_cache_key_and_entry(digits, tmp_path):
    keys = {cache_key(feature_inputs(digits, FAST, 0, CPU, FeatureSource(s)))
            for s in ("supervised", "unsupervised", "pixels", "raw")}
    assert len(keys) == 4
    cache = FeatureCache(tmp_path)
    first = build_features(digits, FAST, 0, CPU, cache, "pixels")
    assert not first.from_cache
    assert not build_features(digits, FAST, 0, CPU, cache, "unsupervised").from_cache
    again = build_features(digits, FAST, 0, CPU, cache, "pixels")
    assert again.from_cache and again.cache_key == first.cache_key
    np.testing.assert_array_equal(again.data.test.a, first.data.test.a)
    assert again.extractor_accuracy == first.extractor_accuracy


def test_pixel_pca_is_fitted_on_train_and_matches_a_direct_projection():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(300, 1, 8, 8), dtype=np.uint8)
    test = rng.integers(0, 256, size=(20, 1, 8, 8), dtype=np.uint8)
    pca = fit_pixel_pca(train, components=10)
    flat = train.reshape(300, -1) / 255.0
    # independent computation: the top right singular vectors of the centred training pixels
    _, _, vt = np.linalg.svd(flat - flat.mean(axis=0), full_matrices=False)
    projected = pixel_features(pca, test)
    expected = (flat_pixels(test) - flat.mean(axis=0)) @ vt[:10].T
    np.testing.assert_allclose(np.abs(projected), np.abs(expected), atol=1e-4)  # components' signs are arbitrary
    assert fit_pixel_pca(train[:5]).pca.n_components_ == 5  # never more components than rows
    # planted: images spanning 3 directions keep exactly 3 components, not round-off ones
    basis = rng.normal(size=(3, 64))
    low_rank = (rng.normal(size=(300, 3)) @ basis).reshape(300, 1, 8, 8).astype(np.float32)
    assert fit_pixel_pca(low_rank).width == 3 and pixel_features(fit_pixel_pca(low_rank), low_rank).shape == (300, 3)


def test_raw_features_are_the_flattened_inputs_scaled_to_one(digits):
    raw = build_features(digits, FAST, 0, CPU, None, "raw")
    np.testing.assert_array_equal(raw.data.test.b, digits.test.b.reshape(len(digits.test), -1) / np.float32(255))
    assert raw.data.train.b.dtype == np.float32 and raw.data.train.b.shape[1] == 3 * 28 * 28


def test_feature_source_is_in_the_run_key_and_keeps_existing_ids():
    base = dict(dataset="digits-colors", pairing="unique", method="cca", seed=0, profile="smoke")
    assert RunKey(**base).run_id == RunKey(**base, features="supervised").run_id
    pixels = RunKey(**base, features="pixels")
    assert pixels.run_id != RunKey(**base).run_id and "_pixels_" in pixels.run_id
    assert pixels.data_seed == RunKey(**base).data_seed and pixels.method_seed == RunKey(**base).method_seed


@pytest.mark.parametrize(("dataset", "source", "message"), [
    ("wikipedia", "pixels", "ships its features"),
    ("digits-colors", "given", "has image modalities"),
    ("digits-colors", "colour", "invalid feature source"),
])
def test_inapplicable_feature_sources_are_clear_errors(dataset, source, message):
    with pytest.raises(XmbenchError, match=message):
        DATASETS.get(dataset).check_features(source)


def test_default_feature_sources():
    assert DATASETS.get("digits-colors").check_features(None) is FeatureSource.SUPERVISED
    assert DATASETS.get("wikipedia").check_features(None) is FeatureSource.GIVEN
    assert DATASETS.get("mnist-halves").check_features(None) is FeatureSource.PIXELS


def test_a_run_records_its_feature_source_and_image_methods_need_supervised(tmp_path):
    from xmbench import api

    config = api.RunConfig(methods=("cca", "syncgan-image"), features="pixels", out=tmp_path / "out",
                           cache_dir=tmp_path / "cache")
    report = api.run_benchmark(config, log=lambda line: None)
    [(failed_id, reason)] = report.failed.items()
    assert "syncgan-image" in failed_id and "needs --features supervised, not pixels" in reason
    assert set(report.scores["features"]) == {"pixels"}
    probe = report.scores[report.scores["metric"] == PROBE_METRIC]
    assert set(probe["class"]) == {"digit", "colour"}
    assert (report.scores["metric"] == "total_canonical_correlation").any()


def test_rows_stored_before_the_option_get_the_source_their_dataset_had():
    stored = pd.DataFrame({"dataset": ["wikipedia", "digits-colors", "wikipedia", "mine.npz", "mnist-halves"],
                           "features": ["", None, "given", "pixels", "pixels"]})
    assert with_legacy_columns(stored)["features"].tolist() == ["given", "supervised", "given", "pixels", "pixels"]
    older = stored.drop(columns="features")  # before the column existed
    assert with_legacy_columns(older)["features"].tolist() == ["given", "supervised", "given", "supervised",
                                                               "supervised"]
