"""Networks and batch builders of SyncGAN (Chen et al., "SyncGAN: Synchronize the latent space of
cross-modal generative adversarial networks", ICME 2018).

Two GANs (G_m: z -> modality m, D_m: modality m -> real/fake logit) and a synchronizer S(x_a, x_b)
-> logit of "synchronous" with one feature tower N_m per modality and a fully connected head N_F on
the concatenated tower outputs (the paper's Fig. 2a, for cross-modal tasks). Two builders: MLPs for
frozen feature vectors and small convolutional networks for raw 28x28 images. No BatchNorm and no
dropout anywhere: train and eval mode compute the same function, and G_m maps each z on its own, so
latent recovery (Eq. 3) of one sample does not depend on the other samples of its batch.
Discriminator and synchronizer outputs are logits; the sigmoid lives in the binary cross-entropy.
Modalities are keyed ``"a"`` and ``"b"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

MODALITIES = ("a", "b")
OTHER = {"a": "b", "b": "a"}
IMAGE_SIDE = 28  # z -> 7x7 -> 14x14 -> 28x28


class Synchronizer(nn.Module):
    """S(x_a, x_b): tower N_a(x_a) and tower N_b(x_b), concatenated, through the FC head N_F -> one logit."""

    def __init__(self, towers: dict[str, nn.Module], head: nn.Module) -> None:
        super().__init__()
        self.towers = nn.ModuleDict(towers)
        self.head = head

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.towers["a"](x_a), self.towers["b"](x_b)], dim=1)).squeeze(1)


class SyncNetworks(nn.Module):
    """Everything SyncGAN trains: ``generators[m]``, ``discriminators[m]`` (logit per row) and ``synchronizer``."""

    def __init__(self, generators: dict[str, nn.Module], discriminators: dict[str, nn.Module], synchronizer: Synchronizer):
        super().__init__()
        self.generators = nn.ModuleDict(generators)
        self.discriminators = nn.ModuleDict(discriminators)
        self.synchronizer = synchronizer

    def discriminate(self, m: str, x: torch.Tensor) -> torch.Tensor:
        return self.discriminators[m](x).squeeze(1)


def mlp(d_in: int, hidden: Sequence[int], d_out: int | None, activation: nn.Module) -> nn.Sequential:
    """Linear + ``activation`` per hidden width, then a linear output layer (none if ``d_out`` is None)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(d_in, width), activation]
        d_in = width
    if d_out is not None:
        layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


def feature_networks(
    dims: dict[str, int], latent_dim: int, hidden: Sequence[int], disc_hidden: Sequence[int], leaky_slope: float
) -> SyncNetworks:
    """MLPs for feature vectors. G_m: z -> ``hidden`` (ReLU) -> d_m, linear output (standardised
    features). D_m: d_m -> ``disc_hidden`` (LeakyReLU) -> 1. S: tower N_m = d_m -> ``disc_hidden``
    (LeakyReLU) per modality; head N_F = 2 x last width -> last width (LeakyReLU) -> 1."""
    leaky = nn.LeakyReLU(leaky_slope)
    width = disc_hidden[-1]
    return SyncNetworks(
        {m: mlp(latent_dim, hidden, dims[m], nn.ReLU()) for m in MODALITIES},
        {m: mlp(dims[m], disc_hidden, 1, leaky) for m in MODALITIES},
        Synchronizer({m: mlp(dims[m], disc_hidden, None, leaky) for m in MODALITIES}, mlp(2 * width, (width,), 1, leaky)),
    )


def conv_tower(channels: int, width: int, leaky_slope: float) -> nn.Sequential:
    """(C, 28, 28) -> Conv 4x4 stride 2 -> (width, 14, 14) -> Conv 4x4 stride 2 -> (2 width, 7, 7), LeakyReLU, flattened."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 4, stride=2, padding=1),
        nn.LeakyReLU(leaky_slope),
        nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
        nn.LeakyReLU(leaky_slope),
        nn.Flatten(),
    )


def conv_generator(latent_dim: int, channels: int, width: int) -> nn.Sequential:
    """z -> Linear -> (2 width, 7, 7) -> ConvTranspose 4x4 stride 2 -> (width, 14, 14) -> ConvTranspose
    -> (C, 28, 28), ReLU between, sigmoid output in [0, 1]."""
    return nn.Sequential(
        nn.Linear(latent_dim, 2 * width * 7 * 7),
        nn.ReLU(),
        nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),
        nn.Sigmoid(),
    )


def image_networks(
    channels: dict[str, int], latent_dim: int, width: int, fc_hidden: int, leaky_slope: float
) -> SyncNetworks:
    """Small DCGAN-like networks for (C, 28, 28) images in [0, 1]. G_m: ``conv_generator``. D_m:
    ``conv_tower`` -> Linear -> 1. S: one ``conv_tower`` per modality (Fig. 2a: the two modalities
    have different structure, so no shared or channel-concatenated input), head N_F = concat ->
    ``fc_hidden`` (LeakyReLU) -> 1."""
    flat = 2 * width * 7 * 7
    return SyncNetworks(
        {m: conv_generator(latent_dim, channels[m], width) for m in MODALITIES},
        {m: nn.Sequential(conv_tower(channels[m], width, leaky_slope), nn.Linear(flat, 1)) for m in MODALITIES},
        Synchronizer(
            {m: conv_tower(channels[m], width, leaky_slope) for m in MODALITIES},
            mlp(2 * flat, (fc_hidden,), 1, nn.LeakyReLU(leaky_slope)),
        ),
    )


def real_sync_batch(
    idx: torch.Tensor, n_pairs: int, sync_ratio: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows of the real paired split for one synchronizer update: (rows of a, rows of b, labels).

    The first round(len(idx) x ``sync_ratio``) anchors i keep their own partner (i, i), label 1;
    the rest get the b row of another pair j != i (uniform over the other ``n_pairs - 1`` pairs),
    label 0. Needs ``n_pairs >= 2``.
    """
    n_sync = round(len(idx) * sync_ratio)
    offset = torch.randint(1, n_pairs, (len(idx) - n_sync,), generator=generator, device=idx.device)
    partner = torch.cat([idx[:n_sync], (idx[n_sync:] + offset) % n_pairs])
    labels = torch.cat([torch.ones(n_sync, device=idx.device), torch.zeros(len(idx) - n_sync, device=idx.device)])
    return idx, partner, labels


def generated_sync_batch(
    z1: torch.Tensor, z2: torch.Tensor, sync_ratio: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Latent codes of the generators' synchronous loss (Eq. 2): (z for G_a, z for G_b, labels).

    The first round(n x ``sync_ratio``) rows use the same noise for both generators (z1, z1),
    label 1 (synchronous); the rest use different noise (z1, z2), label 0 (asynchronous).
    """
    n_sync = round(len(z1) * sync_ratio)
    z_b = torch.cat([z1[:n_sync], z2[n_sync:]])
    labels = torch.cat([torch.ones(n_sync, device=z1.device), torch.zeros(len(z1) - n_sync, device=z1.device)])
    return z1, z_b, labels
