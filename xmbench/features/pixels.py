"""Pixel features: PCA of the raw inputs, fitted on the training split; no network, no labels."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA

from xmbench.features.cnn import FEATURE_DIM

PIXEL_COMPONENTS = FEATURE_DIM  # 196, the CNN features' width, so every source gives methods equal widths


def flat_pixels(images: np.ndarray) -> np.ndarray:
    """(n, C*H*W) float32; uint8 images scaled to [0, 1] as the CNNs see them."""
    flat = images.reshape(len(images), -1)
    return flat.astype(np.float32) / 255.0 if images.dtype == np.uint8 else flat.astype(np.float32)


def fit_pixel_pca(train_images: np.ndarray, components: int = PIXEL_COMPONENTS) -> PCA:
    """PCA with ``min(components, n, C*H*W)`` components, no whitening (methods standardise their
    inputs). The covariance eigensolver is exact and deterministic, and fast when rows outnumber
    pixels, as in every built-in dataset."""
    flat = flat_pixels(train_images)
    n_components = min(components, *flat.shape)
    return PCA(n_components=n_components, svd_solver="covariance_eigh").fit(flat)


def pixel_features(pca: PCA, images: np.ndarray) -> np.ndarray:
    return pca.transform(flat_pixels(images)).astype(np.float32)
