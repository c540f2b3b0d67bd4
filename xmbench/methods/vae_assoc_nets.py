"""Networks, batching and loss terms of the cross-modal VAE with associators ("Cross-modal
variational auto-encoder with distributed latent spaces and associators", Sec. 3.3); varalign
builds on the same pieces.

All modules are plain MLPs (Linear + ReLU, no BatchNorm or dropout), so train and eval mode compute
the same function and a frozen module is a fixed map. Modalities are keyed ``"a"`` and ``"b"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

MODALITIES = ("a", "b")
OTHER = {"a": "b", "b": "a"}


def mlp(d_in: int, hidden: Sequence[int], d_out: int) -> nn.Sequential:
    """Linear + ReLU per hidden width, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(d_in, width), nn.ReLU()]
        d_in = width
    return nn.Sequential(*layers, nn.Linear(d_in, d_out))


class GaussianMLP(nn.Module):
    """x -> (mu, logvar) of a diagonal Gaussian: a VAE encoder, or an associator between latent spaces."""

    def __init__(self, d_in: int, hidden: Sequence[int], d_out: int) -> None:
        super().__init__()
        self.net = mlp(d_in, hidden, 2 * d_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


class VAE(nn.Module):
    """One modality's auto-encoder; the decoder mirrors the encoder's hidden widths.

    With ``d_out`` the decoder outputs ``d_out`` features instead of ``d``: a VAE from one
    modality's features to another's (varalign's multi-modal VAE).
    """

    def __init__(self, d: int, hidden: Sequence[int], latent: int, d_out: int | None = None) -> None:
        super().__init__()
        self.encoder = GaussianMLP(d, hidden, latent)
        self.decoder = mlp(latent, tuple(reversed(hidden)), d if d_out is None else d_out)


def sample(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The reparameterised draw mu + sigma * eps, eps ~ N(0, I) from ``generator``."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def shuffled_batches(n_rows: int, n_updates: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``n_updates`` index batches from reshuffled passes over ``n_rows`` rows (permutations drawn
    from ``generator`` on its device); a pass's last batch may be smaller."""
    batches: list[torch.Tensor] = []
    while len(batches) < n_updates:
        perm = torch.randperm(n_rows, generator=generator, device=generator.device)
        batches += list(perm.split(batch_size))
    return batches[:n_updates]


def loss_terms(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Batch means of [||x - x_hat||^2, sum_k (1 + log s^2 - m^2 - s^2)]: the two terms of Eq. 6 and 7.

    The second term is -2 KL(N(m, s^2) || N(0, I)), so the loss is ``terms[0] - lambda * terms[1]``.
    """
    recon = (x - x_hat).pow(2).sum(dim=1).mean()
    prior = (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean()
    return torch.stack([recon, prior])
