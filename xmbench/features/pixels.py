"""Pixel features: PCA of the raw inputs, fitted on the training split; no network, no labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from xmbench.features.cnn import FEATURE_DIM

PIXEL_COMPONENTS = FEATURE_DIM  # 196, the CNN features' width, so every source gives methods equal widths
# a component explaining less than this fraction of the variance is float32 round-off, not signal:
# digits-colors' digits are 8x8 images upsampled, so beyond about 60 components the ratios sit at
# 1e-7 (float32's epsilon), and its colour images span 3 dimensions (R, G, B). Kept, such components
# are pure noise that methods standardising each feature blow up to unit variance (measured:
# vae-assoc's average mAP on digits-colors pixels was .25 with them)
NEGLIGIBLE_VARIANCE = 1e-6


@dataclass(frozen=True)
class PixelPCA:
    pca: PCA
    width: int  # the components kept: at most ``PIXEL_COMPONENTS``, none of negligible variance


def flat_pixels(images: np.ndarray) -> np.ndarray:
    """(n, C*H*W) float32; uint8 images scaled to [0, 1] as the CNNs see them."""
    flat = images.reshape(len(images), -1)
    return flat.astype(np.float32) / 255.0 if images.dtype == np.uint8 else flat.astype(np.float32)


def fit_pixel_pca(train_images: np.ndarray, components: int = PIXEL_COMPONENTS) -> PixelPCA:
    """PCA with up to ``min(components, n, C*H*W)`` components, dropping those that explain less than
    ``NEGLIGIBLE_VARIANCE`` of the variance (at least one is kept); no whitening (methods standardise
    their inputs). The covariance eigensolver is exact and deterministic, and fast when rows
    outnumber pixels, as in every built-in dataset."""
    flat = flat_pixels(train_images)
    pca = PCA(n_components=min(components, *flat.shape), svd_solver="covariance_eigh").fit(flat)
    width = max(1, int((pca.explained_variance_ratio_ >= NEGLIGIBLE_VARIANCE).sum()))
    return PixelPCA(pca, width)


def pixel_features(model: PixelPCA, images: np.ndarray) -> np.ndarray:
    return model.pca.transform(flat_pixels(images))[:, : model.width].astype(np.float32)
