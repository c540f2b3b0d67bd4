"""CVA, the cross-modal VAE of Spurr, Song, Park and Hilliges (2018, "Cross-modal deep variational
hand pose estimation"), a baseline of the VAE-associator paper's Table 1."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.layers import reconstruction
from xmbench.methods.vae.paired_vae import Batch, PairedVAE
from xmbench.methods.vae.vae_assoc_nets import prior_kl, sample

ROUTES = (("a", "a"), ("a", "b"), ("b", "b"), ("b", "a"))  # (source, target), the order updates cycle through


@METHODS.register("cva")
class CVA(PairedVAE):
    """One latent space shared by both modalities: an encoder and a decoder per modality; every
    (source, target) route, self-reconstruction included, is trained as a VAE from the source's
    code to the target.

    Loss of a route on a batch of pairs: ||x_target - D_target(z)||^2 + ``kl_weight`` *
    KL(q(z|x_source) || N(0, I)), z ~ q(z|x_source). "The selected sample pair are trained
    alternately throughout iteration" (the VAE-associator paper on CVA): with ``alternate`` (the
    default) update u trains route ``ROUTES[u % 4]`` (a->a, a->b, b->b, b->a), one optimiser over
    every network as in Spurr et al.'s alternating scheme; ``alternate=False`` sums the four routes'
    losses in every update instead. The losses recorded are the route's of that update. Pairs only.
    ``embed(m, X)`` is q(z|m)'s mean; ``translate`` decodes it with the other modality's decoder.
    """

    name: ClassVar[str] = "cva"
    param_ranges: ClassVar[dict[str, Any]] = dict(PairedVAE.param_ranges)

    def __init__(
        self, *, hidden: tuple[int, ...] = (512, 256), latent_dim: int = 64, kl_weight: float = 1.0,
        kl_warmup: int = 0, lr: float = 1e-3, batch_size: int = 128, epochs: int = 100,
        max_updates: int | None = None, model_selection: bool = False, eval_every: int = 50, patience: int = 10,
        scaling: str = "modality", alternate: bool = True, seed: int = 0, device: str = "cpu",
    ) -> None:
        super().__init__(hidden=hidden, latent_dim=latent_dim, kl_weight=kl_weight, kl_warmup=kl_warmup, lr=lr,
                         batch_size=batch_size, epochs=epochs, max_updates=max_updates,
                         model_selection=model_selection, eval_every=eval_every, patience=patience,
                         scaling=scaling, seed=seed, device=device)
        self.alternate = alternate

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        return nn.ModuleDict(self._modality_networks(widths))

    def _route(self, pairs: Batch, source: str, target: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.nets_[f"encoder_{source}"](pairs[source])
        recon = reconstruction(pairs[target], self.nets_[f"decoder_{target}"](sample(mu, logvar, generator)))
        return recon, prior_kl(mu, logvar).mean()

    def _losses(self, pairs: Batch, unpaired: Batch | None, generator: torch.Generator, update: int) -> dict[str, torch.Tensor]:
        routes = [ROUTES[update % len(ROUTES)]] if self.alternate else list(ROUTES)
        recon, kl = (torch.stack(t).sum() for t in zip(*(self._route(pairs, s, t, generator) for s, t in routes), strict=True))
        return {"loss": recon + self._kl(update) * kl, "recon": recon, "kl": kl}
