"""Unsupervised features: the thesis CNN's trunk trained as a convolutional autoencoder, no labels."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from xmbench.features.cnn import FEATURE_GRID, ExtractorConfig, as_float, fit_network, trunk
from xmbench.seeding import seeded_init


class TrunkAutoencoder(nn.Module):
    """Encoder: ``cnn.trunk`` (the supervised extractor's layers, same feature width). Decoder (our
    choice, the smallest mirror of the trunk): the 7 x 7 grid, nearest-upsampled to half the input
    size, conv 3x3 + ReLU, upsampled to the input size, conv 3x3 to the input's channels; a sigmoid
    for inputs in [0, 1] (uint8 images), none for float inputs (e.g. standardised MFCCs)."""

    def __init__(self, input_shape: tuple[int, int, int], channels: int = 4, bounded: bool = True) -> None:
        super().__init__()
        in_channels, height, width = input_shape
        self.encoder = trunk(in_channels, channels)
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (channels, *FEATURE_GRID)),
            nn.Upsample(size=(math.ceil(height / 2), math.ceil(width / 2))),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Upsample(size=(height, width)),
            nn.Conv2d(channels, in_channels, 3, padding=1),
            *([nn.Sigmoid()] if bounded else []),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def train_autoencoder(
    images: np.ndarray, config: ExtractorConfig, seed: int, device: torch.device, name: str = "extractor"
) -> nn.Sequential:
    """Train on the training images alone (mean squared reconstruction error; the signature takes no
    labels, so none can leak) with the supervised extractor's loop and settings; returns the frozen
    encoder."""
    with seeded_init(seed):
        model = TrunkAutoencoder(tuple(images.shape[1:]), config.channels, bounded=images.dtype == np.uint8).to(device)
    x = torch.from_numpy(images).to(device)
    loss_fn = nn.MSELoss()

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        inputs = as_float(x[batch])
        return loss_fn(model(inputs), inputs)

    fit_network(model, batch_loss, len(x), config, seed, device, f"training {name} autoencoder", "autoencoder")
    return model.encoder
