"""Correspondence autoencoder (Feng, Wang, Li, ACM MM 2014)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.deep.paired_towers import Batch, PairedTowers
from xmbench.methods.layers import MODALITIES, OTHER, mlp, reconstruction
from xmbench.methods.params import UNIT, OneOf

# which modalities each code reconstructs: its own (Corr-AE), the other (Corr-Cross-AE), or both (Corr-Full-AE)
TARGETS = {"corr": ("self",), "cross": ("other",), "full": ("self", "other")}


@METHODS.register("corr-ae")
class CorrAE(PairedTowers):
    """One autoencoder per modality; the two codes of a pair are tied by their squared distance.

    Loss on a batch: ``alpha`` * (reconstruction terms) + (1 - ``alpha``) * the batch mean of
    ||c_a - c_b||^2, with c_m the code of modality m (the paper's Eq. 5 form, averaged over the
    batch). ``variant`` picks the reconstruction terms: ``"corr"`` (Corr-AE) each code reconstructs
    its own modality; ``"cross"`` (Corr-Cross-AE) each code reconstructs the other modality;
    ``"full"`` (Corr-Full-AE) both. Reconstruction is the sum of squared errors on standardised
    features. The common space is the codes. No public code exists; our choices (the paper builds
    one RBM-initialised hidden layer per modality and tunes alpha on validation): MLP encoders
    ``hidden=(512,)`` to ``out_dim=64`` codes, decoders mirrored, ReLU, Adam 1e-3, batch 128,
    ``alpha = 0.8``, no pre-training. The distance term alone is minimised by codes that collapse
    to a point; the reconstruction terms are what prevents it (planted-signal test).
    """

    name: ClassVar[str] = "corr-ae"
    param_ranges: ClassVar[dict[str, Any]] = PairedTowers.param_ranges | {"alpha": UNIT, "variant": OneOf(tuple(TARGETS))}

    def __init__(
        self, *, alpha: float = 0.8, variant: str = "corr", hidden: tuple[int, ...] = (512,), out_dim: int = 64,
        activation: str = "relu", lr: float = 1e-3, batch_size: int = 128, epochs: int = 100,
        max_updates: int | None = None, model_selection: bool = False, eval_every: int = 100, patience: int = 4,
        scaling: str = "modality", seed: int = 0, device: str = "cpu",
    ) -> None:
        super().__init__(hidden=hidden, out_dim=out_dim, activation=activation, lr=lr, batch_size=batch_size,
                         epochs=epochs, max_updates=max_updates, model_selection=model_selection,
                         eval_every=eval_every, patience=patience, scaling=scaling, seed=seed, device=device)
        self.alpha = alpha
        self.variant = variant

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        nets = {m: mlp(widths[m], self.hidden, self.out_dim, self.activation) for m in MODALITIES}
        for m in MODALITIES:
            for target in TARGETS[self.variant]:
                out = m if target == "self" else OTHER[m]
                nets[f"decoder_{m}_{out}"] = mlp(self.out_dim, tuple(reversed(self.hidden)), widths[out], self.activation)
        return nn.ModuleDict(nets)

    def _losses(self, batch: Batch, update: int) -> dict[str, torch.Tensor]:
        codes = {m: self.nets_[m](batch[m]) for m in MODALITIES}
        terms = {}
        for name, net in self.nets_.items():
            if name.startswith("decoder_"):
                _, source, out = name.split("_")
                terms[f"recon_{source}_{out}"] = reconstruction(batch[out], net(codes[source]))
        recon = sum(terms.values())
        terms["distance"] = (codes["a"] - codes["b"]).pow(2).sum(dim=1).mean()
        terms["loss"] = self.alpha * recon + (1 - self.alpha) * terms["distance"]
        return terms
