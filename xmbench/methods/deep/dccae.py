"""Deep canonically correlated autoencoders (Wang, Arora, Livescu, Bilmes, ICML 2015)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.deep.dcca import DeepCCA, total_correlation
from xmbench.methods.deep.paired_towers import Batch
from xmbench.methods.layers import MODALITIES, mlp, reconstruction
from xmbench.methods.params import NON_NEGATIVE


@METHODS.register("dccae")
class DCCAE(DeepCCA):
    """DCCA plus one decoder per modality that reconstructs the modality's input from its codes.

    Loss on a batch: minus DCCA's ``total_correlation`` of the two codes + ``lam`` * (the batch mean of
    each modality's sum of squared reconstruction errors, on standardised inputs), the paper's
    objective (its Eq. 4 with the reconstruction averaged over the batch). Everything else is
    ``dcca``'s: encoders, ridge, batches of 800, RMSprop, the linear CCA of the trained codes as the
    common space, profiles. Decoders mirror the encoders' hidden widths with the same activation.
    Choices: ``lam = 1e-3``, the authors' MATLAB default (cca_zoo uses .5 with its own loss scale);
    the authors train with SGD and momentum .99, here RMSprop as ``dcca`` so the two differ only by
    the reconstruction term.
    """

    name: ClassVar[str] = "dccae"
    paper_claims: ClassVar[tuple[str, ...]] = ("correlation",)  # total correlation, as DCCA
    param_ranges: ClassVar[dict[str, Any]] = DeepCCA.param_ranges | {"lam": NON_NEGATIVE}

    def __init__(
        self, *, lam: float = 1e-3, hidden: tuple[int, ...] = (1024, 1024), out_dim: int = 50, top_k: int | None = None,
        ridge: float = 1e-3, activation: str = "sigmoid", lr: float = 1e-3, weight_decay: float = 1e-5,
        batch_size: int = 800, cca_shrinkage: float = 1e-4, selection: str = "map", epochs: int = 100,
        max_updates: int | None = None, model_selection: bool = False, eval_every: int = 100, patience: int = 4,
        scaling: str = "modality", seed: int = 0, device: str = "cpu",
    ) -> None:
        super().__init__(hidden=hidden, out_dim=out_dim, top_k=top_k, ridge=ridge, activation=activation, lr=lr,
                         weight_decay=weight_decay, batch_size=batch_size, cca_shrinkage=cca_shrinkage,
                         selection=selection, epochs=epochs, max_updates=max_updates, model_selection=model_selection,
                         eval_every=eval_every, patience=patience, scaling=scaling, seed=seed, device=device)
        self.lam = lam

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        nets = super()._networks(widths)
        for m in MODALITIES:
            nets[f"decoder_{m}"] = mlp(self.out_dim_, tuple(reversed(self.hidden)), widths[m], self.activation)
        return nets

    def _losses(self, batch: Batch, update: int) -> dict[str, torch.Tensor]:
        codes = {m: self.nets_[m](batch[m]) for m in MODALITIES}
        terms = {f"recon_{m}": reconstruction(batch[m], self.nets_[f"decoder_{m}"](codes[m])) for m in MODALITIES}
        terms["correlation"] = total_correlation(codes["a"], codes["b"], self.ridge, self.top_k)
        terms["loss"] = -terms["correlation"] + self.lam * (terms["recon_a"] + terms["recon_b"])
        return terms
