"""A CLIP-style contrastive projection head per modality (symmetric InfoNCE, Radford et al. 2021), and
its supervised twin (same-class pairs as positives, as SupCon, Khosla et al. 2020)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from xmbench.methods.base import METHODS
from xmbench.methods.deep.paired_towers import Batch, PairedTowers
from xmbench.methods.layers import MODALITIES, mlp
from xmbench.methods.params import POSITIVE


class LogitScale(nn.Module):
    """The learnable log inverse temperature t; the logits are scaled by exp(t), at most ``ceiling``."""

    def __init__(self, temperature: float, ceiling: float) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / temperature)))
        self.log_ceiling = math.log(ceiling)

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=self.log_ceiling).exp()


def info_nce(za: torch.Tensor, zb: torch.Tensor, scale: torch.Tensor, positives: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE of L2-normalised codes: the mean of the a->b and b->a cross-entropies of
    ``scale * za zbᵀ`` where each row's target is its own pair. With ``positives`` (n, n) boolean
    (row i of a, row j of b are positives), each row's loss is instead the mean over its positives
    of minus their log-softmax (SupCon's "outside" form); the diagonal should be positive."""
    logits = scale * za @ zb.T
    if positives is None:
        target = torch.arange(len(za), device=za.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    weights = positives.float()
    a_to_b = -(weights * F.log_softmax(logits, dim=1)).sum(dim=1) / weights.sum(dim=1)
    b_to_a = -(weights.T * F.log_softmax(logits.T, dim=1)).sum(dim=1) / weights.T.sum(dim=1)
    return (a_to_b.mean() + b_to_a.mean()) / 2


@METHODS.register("contrastive")
class Contrastive(PairedTowers):
    """One projection head per modality trained with CLIP's symmetric InfoNCE loss on batches of pairs.

    Each head is an MLP (``hidden=(512,)``, ReLU) to ``out_dim=64`` outputs, L2-normalised; the common
    space is the normalised outputs. The logits are exp(t) times the cosine similarities, with t
    learnable, initialised at ln(1 / ``temperature``) = ln(1 / 0.07) and exp(t) clamped at
    ``max_logit_scale`` = 100, as CLIP and open_clip do (open_clip clamps t after each step, here the
    clamp is in the forward pass: the same scale, no gradient past the ceiling). The negatives of a
    query are the other ``batch_size`` - 1 items of its batch: the batch size sets the task's
    difficulty, so every run records it (``negatives_per_query`` in the results). Our choices: batch
    256, Adam 1e-3, the harness's standardised features. Pairs only, no labels: the loss tells pairs
    apart, not classes, so where the modalities share more than the class (planted data whose
    within-class noise both modalities carry), class-level mAP can fall as instance retrieval improves
    (tests/test_deep_baselines.py: class mAP .64 while 57% of test queries rank their own partner first
    among 300).
    """

    name: ClassVar[str] = "contrastive"
    positives: ClassVar[str] = "pairs"  # or "classes": every same-class item of the batch is a positive
    param_ranges: ClassVar[dict[str, Any]] = PairedTowers.param_ranges | {"temperature": POSITIVE, "max_logit_scale": POSITIVE}

    def __init__(
        self, *, temperature: float = 0.07, max_logit_scale: float = 100.0, hidden: tuple[int, ...] = (512,),
        out_dim: int = 64, activation: str = "relu", lr: float = 1e-3, batch_size: int = 256, epochs: int = 100,
        max_updates: int | None = None, model_selection: bool = False, eval_every: int = 100, patience: int = 4,
        scaling: str = "modality", seed: int = 0, device: str = "cpu",
    ) -> None:
        super().__init__(hidden=hidden, out_dim=out_dim, activation=activation, lr=lr, batch_size=batch_size,
                         epochs=epochs, max_updates=max_updates, model_selection=model_selection,
                         eval_every=eval_every, patience=patience, scaling=scaling, seed=seed, device=device)
        self.temperature = temperature
        self.max_logit_scale = max_logit_scale

    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        heads = {m: mlp(widths[m], self.hidden, self.out_dim, self.activation) for m in MODALITIES}
        return nn.ModuleDict({**heads, "logit_scale": LogitScale(self.temperature, self.max_logit_scale)})

    def _encode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.nets_[modality](x), dim=1)

    def _losses(self, batch: Batch, update: int) -> dict[str, torch.Tensor]:
        positives = None
        if self.positives == "classes":
            positives = batch["y_a"][:, None] == batch["y_b"][None, :]
            positives |= torch.eye(len(positives), dtype=torch.bool, device=positives.device)
        scale = self.nets_["logit_scale"]()
        loss = info_nce(self._encode("a", batch["a"]), self._encode("b", batch["b"]), scale, positives)
        return {"loss": loss, "logit_scale": scale.detach()}

    def extra_results(self) -> dict[str, float]:
        """The batch's negatives per query (batch size - 1) and the learned logit scale."""
        negatives = min(self.batch_size, self.n_train_) - 1
        return {"negatives_per_query": float(negatives), "logit_scale": float(self.nets_["logit_scale"]())}


@METHODS.register("contrastive-sup")
class SupervisedContrastive(Contrastive):
    """The supervised twin of ``contrastive``: same-class items of the batch are positives too.

    In each direction, every item of the other modality in the batch with the query's class is a positive (SupCon's loss with the mean over positives outside the
    log, across modalities), the query's own pair always among them. Everything else as
    ``contrastive``; reads the training pairs' labels only."""

    name: ClassVar[str] = "contrastive-sup"
    positives: ClassVar[str] = "classes"
    uses_labels: ClassVar[bool] = True
