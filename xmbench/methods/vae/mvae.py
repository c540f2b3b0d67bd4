"""MVAE (Wu and Goodman 2018, "Multimodal generative models for scalable weakly-supervised
learning"), a baseline of the VAE-associator paper's Table 1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.layers import reconstruction
from xmbench.methods.vae.paired_vae import Batch, PairedVAE
from xmbench.methods.vae.vae_assoc_nets import MODALITIES, prior_kl, sample


def product_of_experts(mus: Sequence[torch.Tensor], logvars: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The product of diagonal Gaussian experts, itself Gaussian: precision the sum of the experts'
    precisions, mean their precision-weighted mean; (mu, logvar). In log space (the product's
    log-variance is minus the log-sum-exp of minus the experts'), so a very confident expert
    (log-variance -100: a precision beyond float32) neither overflows nor divides inf by inf."""
    logvar = -torch.logsumexp(-torch.stack(list(logvars)), dim=0)
    weights = (logvar - torch.stack(list(logvars))).exp()  # each expert's share of the precision
    return (weights * torch.stack(list(mus))).sum(dim=0), logvar


@METHODS.register("mvae")
class MVAE(PairedVAE):
    """One Gaussian encoder (expert) and one decoder per modality; the posterior of any subset of
    modalities is the product of its experts and a prior expert N(0, I).

    Loss, the sub-sampled training of Wu and Goodman (as the VAE-associator paper trained it): on a
    batch of pairs, ELBO({a, b}) + ELBO({a}) + ELBO({b}), where ELBO(S) decodes z ~ q(z|S) into
    every modality of S (sum of squared errors) and adds ``kl_weight`` * KL(q(z|S) || N(0, I)).
    Under ``--paired-fraction`` the withheld rows of each modality (unpaired) add their unimodal
    ELBO, one batch of each per update (``uses_unpaired``: MVAE's weak supervision). MultiVae's
    ``mvae`` and the MoPoE repository's MVAE build the same product of experts with a prior expert.
    ``embed(m, X)`` is the mean of q(z|m) = PoE(prior, expert m); ``translate`` decodes it with the
    other modality's decoder.
    """

    name: ClassVar[str] = "mvae"
    uses_unpaired: ClassVar[bool] = True

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        return nn.ModuleDict(self._modality_networks(widths))

    def _posterior(self, rows: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | the modalities in ``rows``): PoE of the prior expert and theirs."""
        experts = [self.nets_[f"encoder_{m}"](x) for m, x in rows.items()]
        prior = torch.zeros_like(experts[0][0])
        return product_of_experts([prior, *(mu for mu, _ in experts)], [prior, *(lv for _, lv in experts)])

    def _elbo(self, rows: Batch, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self._posterior(rows)
        z = sample(mu, logvar, generator)
        recon = torch.stack([reconstruction(x, self.nets_[f"decoder_{m}"](z)) for m, x in rows.items()]).sum()
        return recon, prior_kl(mu, logvar).mean()

    def _losses(self, pairs: Batch, unpaired: Batch | None, generator: torch.Generator, update: int) -> dict[str, torch.Tensor]:
        subsets = [pairs, *({m: pairs[m]} for m in MODALITIES)]
        if unpaired is not None:
            subsets += [{m: unpaired[m]} for m in MODALITIES]
        recon, kl = (torch.stack(t).sum() for t in zip(*(self._elbo(rows, generator) for rows in subsets), strict=True))
        return {"loss": recon + self._kl(update) * kl, "recon": recon, "kl": kl}

    def _encode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        return self._posterior({modality: x})[0]
