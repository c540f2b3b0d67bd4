"""Regularised linear CCA in closed form: the ``cca`` method and the total canonical correlation
metric (``eval.correlation``) share it."""

from __future__ import annotations

import numpy as np

from xmbench.errors import XmbenchError


def _inverse_sqrt(C: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """C^(-1/2) on the span of C; directions the data never varies in get zero weight."""
    values, vectors = np.linalg.eigh(C)
    keep = values > rtol * max(values.max(), 0.0)
    if not keep.any():
        raise XmbenchError("CCA: a view has no variance in the training data")
    vectors = vectors[:, keep]
    return (vectors / np.sqrt(values[keep])) @ vectors.T


def regularised_cca(
    Xa: np.ndarray, Xb: np.ndarray, n_components: int, shrinkage: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directions (d_a, k), (d_b, k) and canonical correlations (k,) of centred views.

    Within-view covariances are shrunk towards the identity, ``(1 - c) S + c I`` (the cca_zoo
    convention: c = 0 is CCA, c = 1 is PLS), so rank-deficient views stay well posed.
    """
    n = len(Xa)
    Caa = (1 - shrinkage) * (Xa.T @ Xa) / (n - 1) + shrinkage * np.eye(Xa.shape[1])
    Cbb = (1 - shrinkage) * (Xb.T @ Xb) / (n - 1) + shrinkage * np.eye(Xb.shape[1])
    Cab = (Xa.T @ Xb) / (n - 1)
    Wa_white, Wb_white = _inverse_sqrt(Caa), _inverse_sqrt(Cbb)
    U, correlations, Vt = np.linalg.svd(Wa_white @ Cab @ Wb_white, full_matrices=False)
    k = min(n_components, len(correlations))
    return Wa_white @ U[:, :k], Wb_white @ Vt[:k].T, correlations[:k]
