"""The thesis's per-modality CNN (Fig. 5 and 7) and its training/extraction loops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from xmbench.errors import NonFiniteError
from xmbench.progress import progress
from xmbench.seeding import seeded_init, torch_generator

FEATURE_DIM = 196  # 4 channels x 7 x 7 after the second max-pool (thesis: "MaxPool2d-8")
FEATURE_GRID = (7, 7)  # spatial size of the features for any input size


@dataclass(frozen=True)
class ExtractorConfig:
    """Training settings of a frozen feature extractor; every field is part of the cache key."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    channels: int = 4


def trunk(in_channels: int, channels: int = 4) -> nn.Sequential:
    """The thesis CNN without its classifier: image -> ``channels`` x 7 x 7 features (flattened).
    Shared by the supervised extractor and the unsupervised autoencoder's encoder."""
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, padding=1),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveMaxPool2d(FEATURE_GRID),  # parameter-free: seeded initialisation is unchanged
        nn.Flatten(),
    )


class FeatureCNN(nn.Module):
    """Two conv(3x3)-BN-ReLU-maxpool(2) blocks with 4 channels, then a linear classifier.

    On 28x28 inputs the second pool gives 4x7x7 = 196 features; parameter counts match the
    thesis (2,174 for 1-channel letters, 2,246 for 3-channel colours). Other input sizes (e.g.
    40x101 MFCC "images") are max-pooled to the same 7x7 grid afterwards; on 28x28 inputs that
    pool has 1x1 windows, an exact identity, so the thesis network and its features are unchanged.
    """

    def __init__(self, in_channels: int, n_classes: int, channels: int = 4) -> None:
        super().__init__()
        self.features = trunk(in_channels, channels)
        self.classifier = nn.Linear(channels * FEATURE_GRID[0] * FEATURE_GRID[1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images are scaled to [0, 1]; float inputs (e.g. standardised MFCCs) pass unchanged."""
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def train_extractor(
    images: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    config: ExtractorConfig,
    seed: int,
    device: torch.device,
    name: str = "extractor",
) -> FeatureCNN:
    """Train on the training split only; returns the frozen network in eval mode."""
    with seeded_init(seed):
        model = FeatureCNN(images.shape[1], n_classes, config.channels).to(device)
    x = torch.from_numpy(images).to(device)
    y = torch.from_numpy(labels).to(device)
    loss_fn = nn.CrossEntropyLoss()
    fit_network(model, lambda batch: loss_fn(model(as_float(x[batch])), y[batch]), len(x), config, seed, device,
                f"training {name} CNN", "feature extractor")
    return model


def fit_network(
    model: nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n: int, config: ExtractorConfig,
    seed: int, device: torch.device, label: str, what: str,
) -> None:
    """The extractors' training loop: Adam for ``config.epochs`` epochs over ``n`` rows in seeded
    random batches, ``batch_loss(row indices)`` per batch; leaves ``model`` frozen in eval mode."""
    generator = torch_generator(seed, device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    model.train()
    for epoch in progress(range(config.epochs), label):
        order = torch.randperm(n, generator=generator, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, n, config.batch_size):
            batch = order[start : start + config.batch_size]
            if len(batch) < 2:  # BatchNorm needs two samples
                continue
            loss = batch_loss(batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.detach()
        if not torch.isfinite(total):
            raise NonFiniteError(f"{what} loss became non-finite in epoch {epoch + 1}")
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)


@torch.no_grad()
def extract(model: FeatureCNN, images: np.ndarray, device: torch.device, batch_size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, d) float32, predicted class (n,)) of the frozen network.

    ``batch_size`` counts 28x28 images; larger inputs go in proportionally smaller batches so
    activation memory stays the same (40x101 MFCCs through 16 channels peaked at 2.1 GB).
    Batching does not change the numbers: the network is in eval mode, so rows are independent.
    """
    features, predictions = [], []
    for x in _batches(images, model.features[0].out_channels, device, batch_size):
        h = model.features(x)
        features.append(h)
        predictions.append(model.classifier(h).argmax(dim=1))
    return torch.cat(features).cpu().numpy(), torch.cat(predictions).cpu().numpy()


@torch.no_grad()
def encode(encoder: nn.Sequential, images: np.ndarray, device: torch.device, batch_size: int = 2048) -> np.ndarray:
    """(n, d) float32 features of a frozen ``trunk`` (batching as ``extract``)."""
    return torch.cat([encoder(x) for x in _batches(images, encoder[0].out_channels, device, batch_size)]).cpu().numpy()


def _batches(images: np.ndarray, channels: int, device: torch.device, batch_size: int) -> Iterator[torch.Tensor]:
    relative_size = np.prod(images.shape[2:]) / (28 * 28) * channels / 4
    batch_size = max(1, int(batch_size / max(1.0, relative_size)))
    for start in range(0, len(images), batch_size):
        yield as_float(torch.from_numpy(images[start : start + batch_size]).to(device))
