"""Networks, batching and loss terms of the cross-modal VAE with associators ("Cross-modal
variational auto-encoder with distributed latent spaces and associators", Sec. 3.3); varalign
builds on the same pieces.

All modules are plain MLPs (Linear + ReLU, no BatchNorm or dropout), so train and eval mode compute
the same function and a frozen module is a fixed map. Modalities are keyed ``"a"`` and ``"b"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from xmbench.methods.layers import MODALITIES, OTHER, mlp  # noqa: F401  (the VAE family imports them from here)
from xmbench.methods.training import BatchStream


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


@dataclass
class NetworkJob:
    """One network trained in a phase, on its own: its loss terms on a batch of rows, their weights
    (the loss is ``terms @ weights``), its optimiser, its seeded batches and, for model selection,
    its loss on the validation rows (deterministic: posterior means, no sampling)."""

    key: str  # names its losses, e.g. "a" or "a_to_b"
    terms: Callable[[torch.Tensor, torch.Generator], torch.Tensor]
    term_names: tuple[str, ...]
    weights: torch.Tensor
    optimizer: torch.optim.Optimizer
    stream: BatchStream
    validation_loss: Callable[[], torch.Tensor] | None = None


def jobs_step(jobs: Sequence[NetworkJob], prefix: str) -> Callable[[int], dict[str, torch.Tensor]]:
    """A ``Phase.step`` making one Adam update of every job; losses ``<prefix>_<term>_<key>`` and
    ``<prefix>_loss_<key>``."""

    def step(update: int) -> dict[str, torch.Tensor]:
        losses = {}
        for job in jobs:
            terms = job.terms(job.stream.next(), job.stream.generator)
            loss = terms @ job.weights
            job.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            job.optimizer.step()
            losses |= {f"{prefix}_{name}_{job.key}": term for name, term in zip(job.term_names, terms.detach(), strict=True)}
            losses[f"{prefix}_loss_{job.key}"] = loss.detach()
        return losses

    return step


def jobs_validation(jobs: Sequence[NetworkJob]) -> Callable[[], tuple[float, dict[str, float]]]:
    """A ``Phase.score``: minus the summed validation losses of the jobs (higher is better), and each."""

    def score() -> tuple[float, dict[str, float]]:
        with torch.no_grad():
            losses = {f"val_loss_{job.key}": float(job.validation_loss()) for job in jobs}
        return -sum(losses.values()), losses

    return score


def loss_terms(x: torch.Tensor, x_hat: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Batch means of [||x - x_hat||^2, KL(N(m, s^2) || N(0, I))]: the two terms of Eq. 6 and 7.

    The papers write the second as -1/2 sum_k (1 + log s^2 - m^2 - s^2) weighted by -lambda against
    the sum of squares: with the KL it is weight 2 lambda, so the loss is ``terms @ (1, 2 lambda)``.
    """
    recon = (x - x_hat).pow(2).sum(dim=1).mean()
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean()
    return torch.stack([recon, kl])


def gaussian_kl(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """Per row KL(N(mu_q, diag e^logvar_q) || N(mu_p, diag e^logvar_p)), shape (n,)."""
    # variance ratio from the log-variances: exp(a) / exp(b) would underflow to 0 / 0 for narrow posteriors
    ratio = (logvar_q - logvar_p).exp() + (mu_q - mu_p).pow(2) * (-logvar_p).exp()
    return 0.5 * (ratio - 1 - (logvar_q - logvar_p)).sum(dim=1)


def prior_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per row KL(N(mu, diag e^logvar) || N(0, I)), shape (n,)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
