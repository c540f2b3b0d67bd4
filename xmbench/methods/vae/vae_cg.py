"""The VAE-associator paper's "VAE-CG" baseline: a VAE trained to generate one modality from the other."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.layers import reconstruction
from xmbench.methods.vae.paired_vae import Batch, PairedVAE
from xmbench.methods.vae.vae_assoc_nets import MODALITIES, OTHER, prior_kl, sample
from xmbench.options import Modality


@METHODS.register("vae-cg")
class VAECrossGeneration(PairedVAE):
    """Per direction s -> t a VAE from one modality to the other: encoder MLP d_s -> ``hidden`` ->
    (mu, logvar) of ``latent_dim``, decoder the mirror into d_t; loss per pair ||x_t - x_t_hat||^2 +
    ``kl_weight`` * KL(q(z|x_s) || N(0, I)), both directions summed in one update. "VAE-CG is trained
    to generate the target modality sample via associator for given input sample from other
    modality. This model has to be trained only by supervised data with input and output pairs"
    (Sec. 4.3): its associator, an MLP between an MLP encoder and an MLP decoder trained end to end,
    is one more hidden block, so it is folded into the encoder here. Pairs only.

    It has no latent space that holds both modalities (a direction's codes come from its source
    alone), so retrieval compares in each modality's standardised feature space, as
    translation-based retrieval does: ``embed_in(space, m, X)`` is m's standardised features when
    ``space`` is m, else their translation into ``space``; retrieval scores every task in both
    spaces and the harness picks the headline space on validation, as for vae-assoc. ``translate``
    decodes the source's posterior mean; no reconstruction (nothing maps a modality to itself).
    """

    name: ClassVar[str] = "vae-cg"
    shared_space: ClassVar[bool] = False
    can_reconstruct: ClassVar[bool] = False

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        return nn.ModuleDict(self._modality_networks(widths, decodes=OTHER))  # encoder_a pairs with decoder_b

    def _losses(self, pairs: Batch, unpaired: Batch | None, generator: torch.Generator, update: int) -> dict[str, torch.Tensor]:
        terms = {}
        for s in MODALITIES:
            t = OTHER[s]
            mu, logvar = self.nets_[f"encoder_{s}"](pairs[s])
            terms[f"recon_{s}_to_{t}"] = reconstruction(pairs[t], self.nets_[f"decoder_{t}"](sample(mu, logvar, generator)))
            terms[f"kl_{s}"] = prior_kl(mu, logvar).mean()
        terms["loss"] = (terms["recon_a_to_b"] + terms["recon_b_to_a"]
                         + self._kl(update) * (terms["kl_a"] + terms["kl_b"]))
        return terms

    @torch.no_grad()
    def _embed_in(self, space: Modality, modality: Modality, X: np.ndarray) -> np.ndarray:
        x = self._to_model(modality.value, X)
        if space is not modality:
            x = self._decode(space.value, self._encode(modality.value, x))
        return x.cpu().numpy()

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return np.concatenate([self._embed_in(space, modality, X) for space in Modality], axis=1)
