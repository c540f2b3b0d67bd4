"""JMVAE (Suzuki, Nakayama and Matsuo 2016, "Joint multimodal learning with deep generative models"),
a baseline of the VAE-associator paper's Table 1."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.layers import reconstruction
from xmbench.methods.params import NON_NEGATIVE
from xmbench.methods.vae.paired_vae import Batch, PairedVAE
from xmbench.methods.vae.vae_assoc_nets import MODALITIES, GaussianMLP, gaussian_kl, prior_kl, sample


@METHODS.register("jmvae")
class JMVAE(PairedVAE):
    """A joint encoder q(z|a, b), one encoder per modality q(z|a), q(z|b), and one decoder per
    modality, all in one 64-d latent space (the JMVAE-kl form).

    Loss per pair (the negative of JMVAE-kl's objective): ||a - a_hat||^2 + ||b - b_hat||^2 with
    a_hat, b_hat decoded from z ~ q(z|a, b), + ``kl_weight`` * KL(q(z|a, b) || N(0, I)) + ``alpha`` *
    [KL(q(z|a, b) || q(z|a)) + KL(q(z|a, b) || q(z|b))]. The last two terms train the unimodal
    encoders towards the joint one (and pull the joint one towards them). ``alpha = 0.01``, as the
    VAE-associator paper set it for every scenario. The joint encoder sees [a, b] concatenated.
    Pairs only (JMVAE's objective needs both modalities). ``embed(m, X)`` is q(z|m)'s mean, in the
    shared space; ``translate`` decodes it with the other modality's decoder, as JMVAE's paper
    generates one modality from the other. MultiVae's ``jmvae`` model has the same structure (joint
    and unimodal Gaussian encoders, the two KL terms weighted by alpha); it also anneals the KL
    weight over a warm-up, which the VAE-associator paper does not mention: no warm-up here.
    """

    name: ClassVar[str] = "jmvae"
    param_ranges: ClassVar[dict[str, Any]] = PairedVAE.param_ranges | {"alpha": NON_NEGATIVE}

    def __init__(
        self, *, hidden: tuple[int, ...] = (512, 256), latent_dim: int = 64, kl_weight: float = 1.0,
        kl_warmup: int = 0, alpha: float = 0.01, lr: float = 1e-3, batch_size: int = 128, epochs: int = 100,
        max_updates: int | None = None, model_selection: bool = False, eval_every: int = 50, patience: int = 10,
        scaling: str = "modality", seed: int = 0, device: str = "cpu",
    ) -> None:
        super().__init__(hidden=hidden, latent_dim=latent_dim, kl_weight=kl_weight, kl_warmup=kl_warmup, lr=lr,
                         batch_size=batch_size, epochs=epochs, max_updates=max_updates,
                         model_selection=model_selection, eval_every=eval_every, patience=patience,
                         scaling=scaling, seed=seed, device=device)
        self.alpha = alpha

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        joint = GaussianMLP(widths["a"] + widths["b"], self.hidden, self.latent_dim)
        return nn.ModuleDict({"joint": joint, **self._modality_networks(widths)})

    def _losses(self, pairs: Batch, unpaired: Batch | None, generator: torch.Generator, update: int) -> dict[str, torch.Tensor]:
        mu, logvar = self.nets_["joint"](torch.cat([pairs["a"], pairs["b"]], dim=1))
        z = sample(mu, logvar, generator)
        terms = {f"recon_{m}": reconstruction(pairs[m], self.nets_[f"decoder_{m}"](z)) for m in MODALITIES}
        terms["kl"] = prior_kl(mu, logvar).mean()
        for m in MODALITIES:
            terms[f"kl_joint_{m}"] = gaussian_kl(mu, logvar, *self.nets_[f"encoder_{m}"](pairs[m])).mean()
        terms["loss"] = (terms["recon_a"] + terms["recon_b"] + self._kl(update) * terms["kl"]
                         + self.alpha * (terms["kl_joint_a"] + terms["kl_joint_b"]))
        return terms
