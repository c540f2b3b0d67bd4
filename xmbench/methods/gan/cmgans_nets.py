"""Networks, batch and loss-bookkeeping helpers of CM-GANs (Peng et al. 2017, adapted to frozen features in the thesis).

The generative model is one cross-modal autoencoder per modality (encoder: two fully connected
Linear + BatchNorm + ReLU layers, the second one's Linear optionally shared; decoder: Linear +
BatchNorm + ReLU, then Linear). The discriminative model is an intra-modality discriminator per
modality and a two-pathway inter-modality discriminator. Modalities are keyed ``"a"`` and ``"b"``.
Discriminators return logits; the sigmoid lives in the binary cross-entropy (``*_with_logits``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from xmbench.errors import XmbenchError

MODALITIES = ("a", "b")
OTHER = {"a": "b", "b": "a"}


def fc_block(d_in: int, d_out: int) -> nn.Sequential:
    """Linear + BatchNorm + ReLU, the fully connected layer of both papers."""
    return nn.Sequential(nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU())


class Encoded(NamedTuple):
    pre: torch.Tensor  # second layer after BatchNorm, before ReLU
    s: torch.Tensor  # the common representation: ReLU(pre)


class Encoder(nn.Module):
    """h -> s. ``linear`` (and ``norm``) of the second layer may be the same module in both encoders."""

    def __init__(self, first: nn.Module, linear: nn.Linear, norm: nn.BatchNorm1d) -> None:
        super().__init__()
        self.first, self.linear, self.norm = first, linear, norm

    def forward(self, h: torch.Tensor) -> Encoded:
        pre = self.norm(self.linear(self.first(h)))
        return Encoded(pre, torch.relu(pre))


class Generators(nn.Module):
    """Both modalities' autoencoders and the softmax classifier(s) of the semantic constraint.

    ``n_classes`` maps modality -> number of classes, or is None without a semantic constraint.
    With ``shared_classifier`` one Linear serves both modalities (the papers' single softmax layer
    after the weight-sharing layer); otherwise each modality has its own.
    """

    def __init__(
        self,
        dims: dict[str, int],
        hidden: int,
        *,
        weight_sharing: bool,
        share_batchnorm: bool,
        n_classes: dict[str, int] | None,
        shared_classifier: bool,
    ) -> None:
        super().__init__()
        linear = {m: nn.Linear(hidden, hidden) for m in MODALITIES}
        norm = {m: nn.BatchNorm1d(hidden) for m in MODALITIES}
        if weight_sharing:
            linear["b"] = linear["a"]
            if share_batchnorm:
                norm["b"] = norm["a"]
        self.encoders = nn.ModuleDict(
            {m: Encoder(fc_block(dims[m], hidden), linear[m], norm[m]) for m in MODALITIES}
        )
        self.decoders = nn.ModuleDict(
            {m: nn.Sequential(fc_block(hidden, hidden), nn.Linear(hidden, dims[m])) for m in MODALITIES}
        )
        self.classifiers = nn.ModuleDict()
        if n_classes is not None:
            if shared_classifier:
                head = nn.Linear(hidden, max(n_classes.values()))
                self.classifiers.update({m: head for m in MODALITIES})
            else:
                self.classifiers.update({m: nn.Linear(hidden, n_classes[m]) for m in MODALITIES})


class Discriminators(nn.Module):
    """Intra-modality discriminators (one Linear each: h real, r fake) and the two inter-modality
    pathways (concat(s, h) -> inter_hidden -> BatchNorm -> LeakyReLU -> 1). Disabled kinds are
    simply absent, so an ablation has no such parameters at all."""

    def __init__(
        self,
        dims: dict[str, int],
        hidden: int,
        *,
        intra: bool,
        inter: bool,
        inter_hidden: int,
        leaky_slope: float,
    ) -> None:
        super().__init__()
        self.intra = nn.ModuleDict({m: nn.Linear(dims[m], 1) for m in MODALITIES} if intra else {})
        self.inter = nn.ModuleDict(
            {
                m: nn.Sequential(
                    nn.Linear(hidden + dims[m], inter_hidden),
                    nn.BatchNorm1d(inter_hidden),
                    nn.LeakyReLU(leaky_slope),
                    nn.Linear(inter_hidden, 1),
                )
                for m in MODALITIES
            }
            if inter
            else {}
        )


class DiscriminatorTerm(NamedTuple):
    kind: str  # "real", "other-modality" or "mismatched"
    inputs: torch.Tensor  # concat(s, h), one row per anchor
    target: float  # 1 = real, 0 = fake
    weight: float  # the term's coefficient in thesis Eq. 5-6


def inter_discriminator_terms(
    s_own: torch.Tensor,
    h_own: torch.Tensor,
    s_other: torch.Tensor,
    s_mismatched: torch.Tensor,
    h_mismatched: torch.Tensor,
    mismatch_pairing: str = "own",
) -> list[DiscriminatorTerm]:
    """Inputs and targets of one inter-modality pathway (thesis Eq. 5 for the letter pathway,
    Eq. 6 for the colour pathway; original paper Eq. 7-8).

    For the pathway of modality m, anchor pair i and a mismatched m-instance j (class != class of i):
    real (1, weight 1): (s_i^m, h_i^m); fake (0, weight 1/2): (s_i^other, h_i^m);
    fake (0, weight 1/2): (s_j^m, h_j^m) with ``mismatch_pairing="own"`` (the equations as printed)
    or (s_j^m, h_i^m) with ``"anchor"`` (a matching-aware reading: wrong-class s for this h).
    """
    h_fake = h_mismatched if mismatch_pairing == "own" else h_own
    return [
        DiscriminatorTerm("real", torch.cat([s_own, h_own], dim=1), 1.0, 1.0),
        DiscriminatorTerm("other-modality", torch.cat([s_other, h_own], dim=1), 0.0, 0.5),
        DiscriminatorTerm("mismatched", torch.cat([s_mismatched, h_fake], dim=1), 0.0, 0.5),
    ]


def generator_inter_inputs(s: dict[str, torch.Tensor], h: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Pathway -> the input the generators want judged real (thesis Eq. 7-8): the other modality's
    common representation concatenated with this pathway's original representation."""
    return {m: torch.cat([s[OTHER[m]], h[m]], dim=1) for m in MODALITIES}


class MismatchSampler:
    """Draws, for each anchor label, a uniformly random training index of a *different* class.

    Works on device without loops: indices are sorted by class, a draw ``r`` from the
    ``n - count(class)`` other items skips over the anchor class's block.
    """

    def __init__(self, labels: torch.Tensor, modality: str, method: str = "cmgans") -> None:
        order = torch.argsort(labels, stable=True)
        n_labels = int(labels.max()) + 1
        counts = torch.bincount(labels, minlength=n_labels)
        if int((counts > 0).sum()) < 2:
            raise XmbenchError(f"{method}: modality {modality} needs at least 2 classes to draw mismatched instances")
        self.order = order
        self.counts = counts
        self.starts = torch.cumsum(counts, 0) - counts
        self.n = len(labels)

    def __call__(self, anchor_labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n_other = self.n - self.counts[anchor_labels]
        u = torch.rand(anchor_labels.shape, generator=generator, device=anchor_labels.device)
        r = torch.minimum((u * n_other).long(), n_other - 1)
        r = r + (r >= self.starts[anchor_labels]).long() * self.counts[anchor_labels]
        return self.order[r]
