"""What the VAE methods share: per-modality feature standardisation and hyper-parameter checks."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.methods.training import positive_int
from xmbench.methods.vae_assoc_nets import MODALITIES

MIN_STD = 1e-6  # a feature whose training std is below this is constant: centred, not scaled


class StandardisedFeatures:
    """Mixin: networks work on standardised features, outputs return to the original scale.

    ``_fit_standardiser`` learns ``mean_`` and ``std_`` per modality from all training rows
    (paired and unpaired; a constant feature keeps std 1) and returns those rows.
    """

    device: str

    def _fit_standardiser(self, train: PairedSplit, unpaired: UnpairedFeatures | None) -> dict[str, np.ndarray]:
        extra = {m: np.empty((0, train.x(m).shape[1])) if unpaired is None else unpaired.x(m) for m in MODALITIES}
        rows = {m: np.concatenate([train.x(m), extra[m]]).astype(np.float64) for m in MODALITIES}
        self.mean_ = {m: rows[m].mean(axis=0) for m in MODALITIES}
        std = {m: rows[m].std(axis=0) for m in MODALITIES}
        self.std_ = {m: np.where(std[m] > MIN_STD, std[m], 1.0) for m in MODALITIES}
        return rows

    def _to_model(self, m: str, X: np.ndarray) -> torch.Tensor:
        Z = (np.asarray(X, dtype=np.float64) - self.mean_[m]) / self.std_[m]
        return torch.as_tensor(Z, dtype=torch.float32, device=torch.device(self.device))

    def _from_model(self, m: str, Z: torch.Tensor) -> np.ndarray:
        return (Z.cpu().numpy().astype(np.float64) * self.std_[m] + self.mean_[m]).astype(np.float32)


def shape_problems(method: object, integers: Iterable[str], widths: Iterable[str]) -> list[str]:
    """Messages for hyper-parameters that must be positive integers or tuples of layer widths."""
    problems = [
        f"{name} must be a positive integer, got {getattr(method, name)!r}"
        for name in integers
        if not positive_int(getattr(method, name))
    ]
    for name in widths:
        value = getattr(method, name)
        if not isinstance(value, tuple | list) or not all(positive_int(w) for w in value):
            problems.append(f"{name} must be a tuple of positive integers (layer widths), got {value!r}")
    return problems
