"""A linear probe: how much class information a feature set holds, read out linearly."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from xmbench.errors import XmbenchError

PROBE_METRIC = "linear_probe_test_accuracy"  # how features without a classifier of their own are scored


def fit_linear_probe(X: np.ndarray, y: np.ndarray, seed: int, max_iter: int = 1000) -> Pipeline:
    """Standardise, then multinomial logistic regression (scikit-learn, deterministic lbfgs); ``seed``
    fixes any randomness sklearn uses. Also the recognition classifiers' model (``eval.recognition``)."""
    if len(np.unique(y)) < 2:
        raise XmbenchError("a linear classifier needs at least two classes in the training labels")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed % 2**32))
    return model.fit(np.asarray(X, dtype=np.float32), np.asarray(y))


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, seed: int) -> float:
    """Test accuracy of a linear probe trained on the training features (labels used here only, after
    the features are fixed)."""
    model = fit_linear_probe(train_x, train_y, seed)
    return float((model.predict(np.asarray(test_x, dtype=np.float32)) == np.asarray(test_y)).mean())
