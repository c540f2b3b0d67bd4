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
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.options import Modality

RECOGNITION = "recognition_accuracy"
CEILING = "classifier_accuracy"
COLUMNS = ["task", "class", "metric", "value", "n_queries"]


@dataclass(frozen=True)
class Recognizer:
    """A classifier of one modality's real features and its accuracy on that modality's real test features."""

    modality: Modality
    model: Pipeline
    ceiling: pd.DataFrame  # rows of COLUMNS: task = the modality letter, metric = CEILING

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(np.asarray(X, dtype=np.float32))


def fit_recognizer(X: np.ndarray, y: np.ndarray, seed: int, max_iter: int = 1000) -> Pipeline:
    """Standardise, then multinomial logistic regression; ``seed`` fixes any randomness sklearn uses."""
    if len(np.unique(y)) < 2:
        raise XmbenchError("a recognition classifier needs at least two classes in the training labels")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed % 2**32))
    return model.fit(np.asarray(X, dtype=np.float32), np.asarray(y))


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
