"""Partial least squares as an xmbench method: the whole plugin is this class and an entry point."""

from __future__ import annotations

import numpy as np
from sklearn.cross_decomposition import PLSCanonical
from sklearn.preprocessing import StandardScaler

from xmbench.data.base import PairedSplit
from xmbench.methods.base import CrossModalMethod
from xmbench.options import Modality, Profile


class PLS(CrossModalMethod):
    """Canonical partial least squares (Wegelin 2000; scikit-learn's ``PLSCanonical``): the common
    space holds the paired directions of largest covariance (CCA maximises correlation instead).

    Choices: each modality is standardised on the training pairs (``scale``; False centres only);
    ``n_components`` is capped by the smaller feature width and the number of pairs minus one; a
    modality is embedded by its own rotation (``x_rotations_`` / ``y_rotations_``), so either can
    be embedded without the other. Closed form up to the NIPALS iterations: no profile changes it.
    """

    name = "pls"
    profiles = {Profile.SMOKE: {}, Profile.QUICK: {}, Profile.PAPER: {}}

    def __init__(self, *, n_components: int = 10, scale: bool = True, max_iter: int = 500, seed: int = 0,
                 device: str = "cpu") -> None:
        self.n_components = n_components
        self.scale = scale
        self.max_iter = max_iter
        self.seed = seed
        self.device = device

    def _fit(self, train: PairedSplit) -> None:
        self.scalers_ = {m: StandardScaler(with_std=self.scale).fit(train.x(m)) for m in Modality}
        k = max(1, min(self.n_components, train.a.shape[1], train.b.shape[1], len(train) - 1))
        a, b = (self.scalers_[m].transform(train.x(m)) for m in Modality)
        self.model_ = PLSCanonical(n_components=k, scale=False, max_iter=self.max_iter).fit(a, b)

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        rotation = self.model_.x_rotations_ if modality is Modality.A else self.model_.y_rotations_
        return (self.scalers_[modality].transform(X) @ rotation).astype(np.float32)
