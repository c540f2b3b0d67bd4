"""The VAE-associator paper's "VAE" baseline: one VAE over both modalities' features, concatenated."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.layers import reconstruction
from xmbench.methods.params import Number
from xmbench.methods.vae.paired_vae import Batch, PairedVAE
from xmbench.methods.vae.vae_assoc_nets import MODALITIES, GaussianMLP, mlp, prior_kl, sample


@METHODS.register("vae-joint")
class JointVAE(PairedVAE):
    """One VAE on [a, b] ("the direct concatenation of paired data is given to VAE as an input",
    Sec. 4.3 of the VAE-associator paper; its Table 1 row "VAE", Kingma and Welling's VAE).

    Encoder MLP (d_a + d_b) -> ``hidden`` -> (mu, logvar) of ``latent_dim`` (64, as the paper gives
    every compared model), decoder the mirror; loss per pair ||[a, b] - x_hat||^2 + ``kl_weight`` *
    KL(q(z|a, b) || N(0, I)), on the pairs only (an unpaired row has no second half).

    The paper does not say how this model translates, which needs the missing half. Our rule
    (switchable): the missing half is filled with the training mean (zero in the standardised space
    the networks see), the pair is encoded to its posterior mean, and with ``impute_steps`` > 0 the
    missing half is replaced by its decoded value and the pair re-encoded that many times (iterative
    imputation). ``embed(m, X)`` is that posterior mean, so both modalities share one space;
    ``translate`` decodes it and keeps the other half. Defaults: ``impute_steps=0`` (mean imputation,
    the plain reading).
    """

    name: ClassVar[str] = "vae-joint"
    param_ranges: ClassVar[dict[str, Any]] = PairedVAE.param_ranges | {"impute_steps": Number(low=0, integer=True)}

    def __init__(
        self, *, hidden: tuple[int, ...] = (512, 256), latent_dim: int = 64, kl_weight: float = 1.0,
        kl_warmup: int = 0, lr: float = 1e-3, batch_size: int = 128, epochs: int = 100,
        max_updates: int | None = None, model_selection: bool = False, eval_every: int = 50, patience: int = 10,
        scaling: str = "modality", impute_steps: int = 0, seed: int = 0, device: str = "cpu",
    ) -> None:
        super().__init__(hidden=hidden, latent_dim=latent_dim, kl_weight=kl_weight, kl_warmup=kl_warmup, lr=lr,
                         batch_size=batch_size, epochs=epochs, max_updates=max_updates,
                         model_selection=model_selection, eval_every=eval_every, patience=patience,
                         scaling=scaling, seed=seed, device=device)
        self.impute_steps = impute_steps

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        self.widths_ = widths
        d = widths["a"] + widths["b"]
        return nn.ModuleDict({"encoder": GaussianMLP(d, self.hidden, self.latent_dim),
                              "decoder": mlp(self.latent_dim, tuple(reversed(self.hidden)), d)})

    def _losses(self, pairs: Batch, unpaired: Batch | None, generator: torch.Generator, update: int) -> dict[str, torch.Tensor]:
        x = torch.cat([pairs["a"], pairs["b"]], dim=1)
        mu, logvar = self.nets_["encoder"](x)
        recon = reconstruction(x, self.nets_["decoder"](sample(mu, logvar, generator)))
        kl = prior_kl(mu, logvar).mean()
        return {"loss": recon + self._kl(update) * kl, "recon": recon, "kl": kl}

    def _halves(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(MODALITIES, x.split([self.widths_["a"], self.widths_["b"]], dim=1), strict=True))

    def _encode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        other = "b" if modality == "a" else "a"
        halves = {modality: x, other: x.new_zeros((len(x), self.widths_[other]))}  # the training mean
        for _ in range(self.impute_steps + 1):
            mu = self.nets_["encoder"](torch.cat([halves["a"], halves["b"]], dim=1))[0]
            halves[other] = self._halves(self.nets_["decoder"](mu))[other]
        return mu

    def _decode(self, modality: str, z: torch.Tensor) -> torch.Tensor:
        return self._halves(self.nets_["decoder"](z))[modality]
