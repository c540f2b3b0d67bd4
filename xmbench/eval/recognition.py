"""Recognition accuracy: would a classifier trained on real features recognise generated ones?

The VAE-associator paper (Table 1) scores cross-modal generation by classifying the generated
target-modality samples with a recognition model trained on that modality's real data; Table 2
does the same for intra-modal reconstructions and gives the recognition model's own test accuracy,
the ceiling. xmbench works on frozen features, so the recognition model is a classifier on the
target modality's real training features: standardisation + multinomial logistic regression
(scikit-learn, deterministic lbfgs) -- a linear read-out, like the extractor's own head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.pipeline import Pipeline

from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.features.cnn import FeatureCNN, extract
from xmbench.features.probe import fit_linear_probe
from xmbench.options import Modality

RECOGNITION = "recognition_accuracy"
CEILING = "classifier_accuracy"
IMAGE_CEILING = "image_classifier_accuracy"  # the extractor CNN judging images, for image methods
COLUMNS = ["task", "class", "metric", "value", "n_queries"]


@dataclass(frozen=True)
class Recognizer:
    """A classifier of one modality's real data and its accuracy on that modality's real test data."""

    modality: Modality
    model: Pipeline | ImageClassifier
    ceiling: pd.DataFrame  # rows of COLUMNS: task = the modality letter, metric = CEILING

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        return self.model.predict(X if X.dtype == np.uint8 else X.astype(np.float32))


@dataclass(frozen=True)
class ImageClassifier:
    """A modality's frozen extractor CNN used as the recognition model of raw (or generated) images:
    the paper's setting, a network trained on the modality's real training images."""

    network: FeatureCNN
    device: torch.device

    def predict(self, images: np.ndarray) -> np.ndarray:
        return extract(self.network, np.ascontiguousarray(images), self.device)[1]


def image_recognizers(
    extractors: dict[Modality, FeatureCNN], test: PairedSplit, class_names: Sequence[str], device: torch.device
) -> dict[Modality, Recognizer]:
    """Recognizers of raw images for methods that generate images; their ceiling is the extractor's
    own test accuracy."""
    missing = [m.value for m in Modality if m not in extractors]
    if missing:
        raise XmbenchError(f"modality {', '.join(missing)} has no image extractor: image methods need raw images")
    recognizers = {}
    for modality in Modality:
        model = ImageClassifier(extractors[modality], device)
        predicted = model.predict(test.x(modality))
        ceiling = accuracy_rows(modality.value.upper(), predicted, test.y(modality), class_names, IMAGE_CEILING)
        recognizers[modality] = Recognizer(modality, model, ceiling)
    return recognizers


def fit_recognizer(X: np.ndarray, y: np.ndarray, seed: int, max_iter: int = 1000) -> Pipeline:
    """Standardise, then multinomial logistic regression (``features.probe.fit_linear_probe``)."""
    return fit_linear_probe(X, y, seed, max_iter)


def fit_recognizers(
    train: PairedSplit, test: PairedSplit, class_names: Sequence[str], seed: int
) -> dict[Modality, Recognizer]:
    """One recognizer per modality, trained on that modality's real training features only."""
    recognizers = {}
    for modality in Modality:
        model = fit_recognizer(train.x(modality), train.y(modality), seed)
        predicted = model.predict(np.asarray(test.x(modality), dtype=np.float32))
        ceiling = accuracy_rows(modality.value.upper(), predicted, test.y(modality), class_names, CEILING)
        recognizers[modality] = Recognizer(modality, model, ceiling)
    return recognizers


def accuracy_rows(
    task: str, predicted: np.ndarray, expected: np.ndarray, class_names: Sequence[str], metric: str = RECOGNITION
) -> pd.DataFrame:
    """Accuracy overall (class "all") and per expected class present, long format (COLUMNS)."""
    predicted, expected = np.asarray(predicted), np.asarray(expected)
    if predicted.shape != expected.shape:
        raise XmbenchError(f"{len(predicted)} predictions for {len(expected)} expected labels")
    correct = predicted == expected
    rows = [{"task": task, "class": "all", "metric": metric, "value": float(correct.mean()), "n_queries": correct.size}]
    for label in np.unique(expected):
        mask = expected == label
        rows.append({
            "task": task, "class": class_names[label], "metric": metric,
            "value": float(correct[mask].mean()), "n_queries": int(mask.sum()),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def recognition_accuracy(
    method, test: PairedSplit, recognizers: dict[Modality, Recognizer], class_names: Sequence[str]
) -> pd.DataFrame:
    """Cross-modal (A->B, B->A) and, where the method can, intra-modal (A->A, B->B) recognition accuracy.

    A test sample of modality m is generated into modality n and classified by n's recognizer; it
    counts as correct when the predicted class is the source sample's own class (pairs share
    classes by construction). Methods that can do neither give an empty table.
    """
    frames = []
    for source in Modality:
        X, y = test.x(source), test.y(source)
        targets = []
        if method.can_translate:
            targets.append((source.other, method.translate))
        if method.can_reconstruct:
            targets.append((source, method.reconstruct))
        for target, generate in targets:
            predicted = recognizers[target].predict(generate(source, X))
            frames.append(accuracy_rows(f"{source.value.upper()}->{target.value.upper()}", predicted, y, class_names))
    if frames:
        frames += [recognizers[m].ceiling for m in Modality]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
