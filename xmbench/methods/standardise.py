"""What the VAE methods share: per-modality feature standardisation and hyper-parameter checks."""

from __future__ import annotations


import numpy as np
import torch

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.methods.layers import MODALITIES

MIN_STD = 1e-6  # a feature whose training std is below this is constant: centred, not scaled
SCALINGS = ("feature", "modality")


class StandardisedFeatures:
    """Mixin: networks work on standardised features, outputs return to the original scale.

    ``_fit_standardiser`` learns ``mean_`` and ``std_`` per modality from all training rows
    (paired and unpaired) and returns those rows. ``scaling`` (the host's hyper-parameter) says how:
    ``"feature"`` divides every feature by its own std (a constant feature keeps std 1);
    ``"modality"`` divides all features of a modality by one number, the root mean of their
    variances, so the mean feature variance is 1 and the features keep their relative variances.
    On PCA scores (``--features pixels``) per-feature scaling is whitening: the noise tail weighs as
    much as the leading components, the covariance is the identity, and a Gaussian VAE has no
    direction worth encoding (measured in ``vae_assoc``'s docstring).
    """

    device: str
    scaling: str

    def _fit_standardiser(self, train: PairedSplit, unpaired: UnpairedFeatures | None) -> dict[str, np.ndarray]:
        extra = {m: np.empty((0, train.x(m).shape[1])) if unpaired is None else unpaired.x(m) for m in MODALITIES}
        rows = {m: np.concatenate([train.x(m), extra[m]]).astype(np.float64) for m in MODALITIES}
        self.mean_ = {m: rows[m].mean(axis=0) for m in MODALITIES}
        std = {m: rows[m].std(axis=0) for m in MODALITIES}
        if self.scaling == "modality":
            std = {m: np.full_like(std[m], np.sqrt(np.mean(std[m] ** 2))) for m in MODALITIES}
        self.std_ = {m: np.where(std[m] > MIN_STD, std[m], 1.0) for m in MODALITIES}
        return rows

    def _to_model(self, m: str, X: np.ndarray) -> torch.Tensor:
        Z = (np.asarray(X, dtype=np.float64) - self.mean_[m]) / self.std_[m]
        return torch.as_tensor(Z, dtype=torch.get_default_dtype(), device=torch.device(self.device))

    def _from_model(self, m: str, Z: torch.Tensor) -> np.ndarray:
        return (Z.cpu().numpy().astype(np.float64) * self.std_[m] + self.mean_[m]).astype(np.float32)
