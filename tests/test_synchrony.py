"""Synchronous rate and image recognizers, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.eval.recognition import ImageClassifier, Recognizer, image_recognizers
from xmbench.eval.synchrony import SYNCHRONOUS_RATE, TASK, synchronous_rate
from xmbench.features.cnn import FeatureCNN, extract
from xmbench.options import Modality
from xmbench.seeding import seeded_init

CLASSES = ["zero", "one", "two"]


class LookUp:
    """A 'classifier' that reads the label from the first feature."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, 0].astype(int)


class PairMaker:
    can_generate_pairs = True

    def __init__(self, a_labels, b_labels):
        self.a, self.b = np.asarray(a_labels), np.asarray(b_labels)
        self.calls = []

    def generate_pairs(self, n, seed):
        self.calls.append((n, seed))
        return self.a[:n, None].astype(np.float32), self.b[:n, None].astype(np.float32)


def test_synchronous_rate_by_hand():
    recognizers = {m: Recognizer(m, LookUp(), pd.DataFrame()) for m in Modality}
    maker = PairMaker([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 2])
    table = synchronous_rate(maker, recognizers, CLASSES, n=6, seed=5).set_index("class")
    assert maker.calls == [(6, 5)]
    assert set(table["task"]) == {TASK} and set(table["metric"]) == {SYNCHRONOUS_RATE}
    assert table.loc["all", "value"] == pytest.approx(4 / 6)  # pairs 0, 2, 3, 5 agree
    # per class of the A side's label: zero 1/2, one 2/2, two 1/2
    assert table.loc[["zero", "one", "two"], "value"].tolist() == [0.5, 1.0, 0.5]


def test_image_recognizers_are_the_extractors_with_their_test_accuracy():
    with seeded_init(0):
        networks = {Modality.A: FeatureCNN(1, 3).eval(), Modality.B: FeatureCNN(3, 3).eval()}
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (30, 1, 28, 28)).astype(np.uint8)
    b = rng.integers(0, 255, (30, 3, 28, 28)).astype(np.uint8)
    y = rng.integers(0, 3, 30)
    test = PairedSplit(a, b, y, y)
    recognizers = image_recognizers(networks, test, CLASSES, torch.device("cpu"))
    for modality, images in ((Modality.A, a), (Modality.B, b)):
        expected = extract(networks[modality], images, torch.device("cpu"))[1]
        np.testing.assert_array_equal(recognizers[modality].predict(images), expected)
        ceiling = recognizers[modality].ceiling.set_index("class")
        assert ceiling.loc["all", "value"] == pytest.approx((expected == y).mean())
        # generated images arrive as floats in [0, 1]: the same scale as uint8 / 255
        np.testing.assert_array_equal(recognizers[modality].predict(images / 255.0), expected)
    assert isinstance(recognizers[Modality.A].model, ImageClassifier)


def test_image_recognizers_need_an_extractor_per_modality():
    with pytest.raises(XmbenchError, match="modality b has no image extractor"):
        image_recognizers({Modality.A: FeatureCNN(1, 3)}, PairedSplit(*[np.zeros((2, 1))] * 2, np.zeros(2), np.zeros(2)),
                          CLASSES, torch.device("cpu"))
