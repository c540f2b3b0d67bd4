"""CM-GANs (Peng, Qi & Yuan 2017) on frozen features, as adapted in the letter-colour thesis, and its ablations.

One implementation with switches (``weight_sharing``, ``semantic``, ``intra``, ``inter``); each
ablation is a registered subclass that only changes defaults and its name.
"""

from __future__ import annotations

from functools import partialmethod
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from xmbench.data.base import PairedSplit
from xmbench.errors import XmbenchError
from xmbench.methods.base import METHODS, CrossModalMethod
from xmbench.methods.gan.adversarial import discriminator_accuracy, fake_loss as _fake, real_loss as _real
from xmbench.methods.gan.cmgans_nets import (
    MODALITIES,
    OTHER,
    Discriminators,
    Generators,
    MismatchSampler,
    generator_inter_inputs,
    inter_discriminator_terms,
)
from xmbench.methods.training import (
    BatchStream,
    Phase,
    adam,
    budget,
    fit_phases,
    mean_losses,
    validation_score,
)
from xmbench.methods.params import ADAM_BETAS, NON_NEGATIVE, OPTIONAL_POSITIVE_INT, POSITIVE, POSITIVE_INT, SCHEDULE, SLOPE, OneOf
from xmbench.options import Modality, Profile
from xmbench.seeding import seeded_init, torch_generator

CLASSIFIER_CHOICES = ("auto", "shared", "separate")
MISMATCH_CHOICES = ("own", "anchor")




@METHODS.register("cmgans")
class CMGANs(CrossModalMethod):
    """Cross-modal GANs: two autoencoders with a shared layer, trained against intra- and
    inter-modality discriminators (thesis Sec. 3.2, Algorithm 1; original paper Sec. III).

    Generative model. Per modality an encoder of 2 x (Linear + BatchNorm + ReLU), width ``hidden``
    (512 as in the thesis; ``hidden=1024`` as in the original paper). With ``weight_sharing`` the
    second layer's Linear is one module, one parameter set, in both encoders; its BatchNorm stays
    per modality unless ``share_batchnorm`` (shared running statistics would mix two input
    distributions at embedding time). The common representation s is the second layer's output
    after ReLU, as in both papers: non-negative, and an all-zero row needs all ``hidden`` units off
    at once. Decoder: Linear + BatchNorm + ReLU (width ``hidden``), then Linear to the feature size.
    ``embed`` returns s (eval mode, BatchNorm running statistics); ``translate`` encodes with the
    source encoder and decodes with the target decoder.

    Semantic constraint (``semantic``): a softmax classifier on s (``classifier_on_preactivation``:
    on the pre-ReLU BatchNorm output instead), cross-entropy against each modality's own labels,
    weight ``semantic_weight``. ``classifier="auto"`` uses one classifier for both modalities (the
    papers' single softmax layer) when y_a == y_b for every training pair, else one per modality
    (the label sets then mean different things, e.g. 10 letters and 9 colours); or force
    ``"shared"`` / ``"separate"``.

    Discriminative model (logits; the sigmoid is inside the binary cross-entropy).
    Intra-modality, per modality m: Linear(d_m, 1); h_i^m real (1), r_i^m fake (0) (Eq. 3-4).
    Inter-modality pathway m: concat(s, h) -> ``inter_hidden`` -> BatchNorm -> LeakyReLU
    (``leaky_slope``) -> 1, with the targets of thesis Eq. 5-6 for anchor pair i:
      pathway a: real (s_i^a, h_i^a), weight 1; fake (s_i^b, h_i^a), 1/2; fake (s_j^a, h_j^a), 1/2;
      pathway b: real (s_i^b, h_i^b), weight 1; fake (s_i^a, h_i^b), 1/2; fake (s_k^b, h_k^b), 1/2.
    j (k) is a mismatched instance: a training instance of the same modality, drawn uniformly with
    the seeded generator among those whose own label (y_a for a, y_b for b) differs from the
    anchor's. As printed, (s_j, h_j) is distributed like a real pair (the term only caps D at 2/3
    there); ``mismatch_pairing="anchor"`` uses (s_j^a, h_i^a) instead: a wrong-class s for this h.
    Each real/fake group is its own discriminator batch (BatchNorm statistics per group, as in the
    DCGAN reference code and in the generator step).

    Generator objective (thesis Eq. 7-8 in the non-saturating -log D form of GAN code): for a,
    -log D_b^inter(s_i^a, h_i^b) - log D_a^intra(r_i^a); b symmetric; weight ``adversarial_weight``.
    Plus ``semantic_weight`` x cross-entropy and ``reconstruction_weight`` x mean squared error of r
    against h, summed over modalities. The explicit reconstruction loss is our addition (the
    published code trains r only through D^intra; the original CAE ablation needs one); default
    weight 1, 0 disables it. Eq. 7 and 8 are summed and minimised in one Adam step over both
    generators (they share only the weight-sharing layer, which gets both gradients).

    Training (Algorithm 1), in ``xmbench.methods.training``'s loop. One update is one iteration:
    one discriminator update on a batch of ``batch_size`` pairs (all enabled discriminators, one
    Adam step on their summed losses, generators fixed), then ``k_generator`` generator updates on
    fresh batches from a separately reshuffled stream; an epoch is ``n // batch_size`` updates (the
    last partial batch of a pass is dropped). Without discriminators (``cmgans-cae``) the same
    generator updates run. Adam(``lr``, ``betas``) for both (torch's fused kernel). The curve
    (``history_``) holds, every ``eval_every`` updates, the interval means of d_loss (sum of
    discriminator BCE losses), g_loss (weighted generator objective) and the unweighted components
    that exist; a non-finite one raises ``NonFiniteError`` naming the loss that went non-finite first.
    Schedule (``xmbench.methods.training``): the budget is ``max_updates`` updates, or ``epochs``
    passes when it is None; every ``eval_every`` updates the losses are logged and, when ``fit`` got
    a validation split, its mAP is recorded; with ``model_selection`` training keeps the best state,
    stops after ``patience`` evaluations without improvement and restores that state.

    Profiles: ``paper``: batch 128, 500 epochs, K=5, Adam lr 2e-4 (thesis) with the official code's
    beta1 = 0.5 (``betas`` (0.5, 0.999); the default (0.9, 0.999) is torch's, kept by ``quick`` and
    ``smoke``), no model selection.
    ``quick``: model selection, validation every 20 updates, patience 5 (a GAN's validation curve
    dips and recovers: 3 stopped runs early at dips), at most 1,500 updates. ``smoke``: 20 updates. The cost of
    one update is measured in ``benchmarks/test_method_iteration_speed.py`` (``benchmarks/README.md``).
    """

    name: ClassVar[str] = "cmgans"
    paper_claims: ClassVar[tuple[str, ...]] = ("retrieval",)  # bi- and all-modal retrieval mAP (Eq. 11)
    can_translate: ClassVar[bool] = True
    can_reconstruct: ClassVar[bool] = True
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"max_updates": 20, "eval_every": 10, "patience": 2, "model_selection": True},
        Profile.QUICK: {"max_updates": 1500, "eval_every": 20, "patience": 5, "model_selection": True},
        Profile.PAPER: {"betas": (0.5, 0.999)},
    }
    param_ranges: ClassVar[dict[str, Any]] = {
        **dict.fromkeys(("hidden", "inter_hidden", "batch_size", "epochs", "k_generator"), POSITIVE_INT),
        "max_updates": OPTIONAL_POSITIVE_INT, **SCHEDULE, "lr": POSITIVE, "betas": ADAM_BETAS,
        "classifier": OneOf(CLASSIFIER_CHOICES), "mismatch_pairing": OneOf(MISMATCH_CHOICES), "leaky_slope": SLOPE,
        **dict.fromkeys(("adversarial_weight", "semantic_weight", "reconstruction_weight"), NON_NEGATIVE),
    }

    def __init__(
        self,
        *,
        hidden: int = 512,
        inter_hidden: int = 512,
        batch_size: int = 128,
        epochs: int = 500,
        max_updates: int | None = None,
        model_selection: bool = False,
        eval_every: int = 50,
        patience: int = 10,
        k_generator: int = 5,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_sharing: bool = True,
        share_batchnorm: bool = False,
        semantic: bool = True,
        classifier: str = "auto",
        classifier_on_preactivation: bool = False,
        intra: bool = True,
        inter: bool = True,
        mismatch_pairing: str = "own",
        leaky_slope: float = 0.2,
        adversarial_weight: float = 1.0,
        semantic_weight: float = 1.0,
        reconstruction_weight: float = 1.0,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.hidden = hidden
        self.inter_hidden = inter_hidden
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_updates = max_updates
        self.model_selection = model_selection
        self.eval_every = eval_every
        self.patience = patience
        self.k_generator = k_generator
        self.lr = lr
        self.betas = betas
        self.weight_sharing = weight_sharing
        self.share_batchnorm = share_batchnorm
        self.semantic = semantic
        self.classifier = classifier
        self.classifier_on_preactivation = classifier_on_preactivation
        self.intra = intra
        self.inter = inter
        self.mismatch_pairing = mismatch_pairing
        self.leaky_slope = leaky_slope
        self.adversarial_weight = adversarial_weight
        self.semantic_weight = semantic_weight
        self.reconstruction_weight = reconstruction_weight
        self.seed = seed
        self.device = device

    # ----------------------------------------------------------------------------------- fit
    def _check_params(self) -> None:
        """What the declared ranges cannot say: at least one loss must train the networks."""
        if not (self.intra or self.inter or self.semantic or self.reconstruction_weight > 0):
            raise XmbenchError(f"{self.name}: no loss is enabled (intra, inter, semantic and reconstruction are all off)")

    def _fit(self, train: PairedSplit) -> None:
        self._check_params()
        device = torch.device(self.device)
        X = {m: torch.as_tensor(train.x(m), dtype=torch.float32).to(device) for m in MODALITIES}
        Y = {m: torch.as_tensor(np.asarray(train.y(m)), dtype=torch.long).to(device) for m in MODALITIES}
        n = len(train)
        dims = {m: X[m].shape[1] for m in MODALITIES}
        self.classifier_shared_ = self.classifier == "shared" or (
            self.classifier == "auto" and np.array_equal(train.y_a, train.y_b)
        )
        n_classes = {m: int(Y[m].max()) + 1 for m in MODALITIES} if self.semantic else None
        with seeded_init(self.seed):
            self.generators_ = Generators(
                dims,
                self.hidden,
                weight_sharing=self.weight_sharing,
                share_batchnorm=self.share_batchnorm,
                n_classes=n_classes,
                shared_classifier=self.classifier_shared_,
            ).to(device)
            self.discriminators_ = Discriminators(
                dims,
                self.hidden,
                intra=self.intra,
                inter=self.inter,
                inter_hidden=self.inter_hidden,
                leaky_slope=self.leaky_slope,
            ).to(device)
        generator = torch_generator(self.seed, device)
        samplers = {m: MismatchSampler(Y[m], m, self.name) for m in MODALITIES} if self.inter else {}
        g_opt = adam(self.generators_.parameters(), self.lr, self.betas)
        d_params = list(self.discriminators_.parameters())
        d_opt = adam(d_params, self.lr, self.betas) if d_params else None
        d_stream, g_stream = BatchStream(n, self.batch_size, generator), BatchStream(n, self.batch_size, generator)

        def step(update: int) -> dict[str, torch.Tensor]:
            """One iteration of Algorithm 1: a discriminator update, then K generator updates."""
            losses = {}
            if d_opt is not None:
                losses = self._discriminator_step(X, Y, d_stream.next(), samplers, generator, d_opt)
            for p in d_params:
                p.requires_grad_(False)
            losses |= mean_losses([self._generator_step(X, Y, g_stream.next(), g_opt) for _ in range(self.k_generator)])
            for p in d_params:
                p.requires_grad_(True)
            return losses

        networks = torch.nn.ModuleDict({"generators": self.generators_, "discriminators": self.discriminators_})
        per_epoch = d_stream.per_pass
        fit_phases(self, [Phase("train", step, networks, budget(self.epochs, self.max_updates, per_epoch), per_epoch,
                                validation_score(self))])

    def _discriminator_step(
        self,
        X: dict[str, torch.Tensor],
        Y: dict[str, torch.Tensor],
        idx: torch.Tensor,
        samplers: dict[str, MismatchSampler],
        generator: torch.Generator,
        d_opt: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        gen, disc = self.generators_, self.discriminators_
        h = {m: X[m][idx] for m in MODALITIES}
        with torch.no_grad():
            s = {m: gen.encoders[m](h[m]).s for m in MODALITIES}
            if self.intra:
                r = {m: gen.decoders[m](s[m]) for m in MODALITIES}
            if self.inter:
                h_mis = {m: X[m][samplers[m](Y[m][idx], generator)] for m in MODALITIES}
                s_mis = {m: gen.encoders[m](h_mis[m]).s for m in MODALITIES}
        losses: dict[str, torch.Tensor] = {}
        accuracies: dict[str, torch.Tensor] = {}
        for m in disc.intra:
            real, fake = disc.intra[m](h[m]), disc.intra[m](r[m])
            losses[f"d_intra_{m}"] = _real(real) + _fake(fake)
            accuracies |= discriminator_accuracy(f"intra_{m}", real, fake)
        for m in disc.inter:
            terms = inter_discriminator_terms(s[m], h[m], s[OTHER[m]], s_mis[m], h_mis[m], self.mismatch_pairing)
            logits = [disc.inter[m](t.inputs) for t in terms]
            losses[f"d_inter_{m}"] = sum(
                t.weight * (_real if t.target == 1.0 else _fake)(out) for t, out in zip(terms, logits, strict=True)
            )
            real = torch.cat([out for t, out in zip(terms, logits, strict=True) if t.target == 1.0])
            fake = torch.cat([out for t, out in zip(terms, logits, strict=True) if t.target != 1.0])
            accuracies |= discriminator_accuracy(f"inter_{m}", real, fake)
        total = sum(losses.values())
        d_opt.zero_grad(set_to_none=True)
        total.backward()
        d_opt.step()
        return {**{k: v.detach() for k, v in losses.items()}, "d_loss": total.detach(), **accuracies}

    def _generator_step(
        self,
        X: dict[str, torch.Tensor],
        Y: dict[str, torch.Tensor],
        idx: torch.Tensor,
        g_opt: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        gen, disc = self.generators_, self.discriminators_
        h = {m: X[m][idx] for m in MODALITIES}
        encoded = {m: gen.encoders[m](h[m]) for m in MODALITIES}
        s = {m: encoded[m].s for m in MODALITIES}
        losses: dict[str, torch.Tensor] = {}
        if self.inter:
            inputs = generator_inter_inputs(s, h)
            losses["g_inter"] = sum(_real(disc.inter[m](inputs[m])) for m in MODALITIES)
        if self.intra or self.reconstruction_weight > 0:
            r = {m: gen.decoders[m](s[m]) for m in MODALITIES}
        if self.intra:
            losses["g_intra"] = sum(_real(disc.intra[m](r[m])) for m in MODALITIES)
        if self.semantic:
            z = {m: encoded[m].pre if self.classifier_on_preactivation else s[m] for m in MODALITIES}
            y = {m: Y[m][idx] for m in MODALITIES}
            losses["g_semantic"] = sum(F.cross_entropy(gen.classifiers[m](z[m]), y[m]) for m in MODALITIES)
        if self.reconstruction_weight > 0:
            losses["g_reconstruction"] = sum(F.mse_loss(r[m], h[m]) for m in MODALITIES)
        weights = {
            "g_inter": self.adversarial_weight,
            "g_intra": self.adversarial_weight,
            "g_semantic": self.semantic_weight,
            "g_reconstruction": self.reconstruction_weight,
        }
        total = sum(weights[k] * v for k, v in losses.items())
        g_opt.zero_grad(set_to_none=True)
        total.backward()
        g_opt.step()
        return {**{k: v.detach() for k, v in losses.items()}, "g_loss": total.detach()}

    # ------------------------------------------------------------------------- embed / translate
    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            h = torch.as_tensor(X).to(torch.device(self.device))
            return self.generators_.encoders[modality.value](h).s.cpu().numpy()

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        return self._decode(source, source.other, X)

    def _reconstruct(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return self._decode(modality, modality, X)

    def _decode(self, source: Modality, target: Modality, X: np.ndarray) -> np.ndarray:
        """Encode with ``source``'s encoder, decode with ``target``'s decoder."""
        with torch.no_grad():
            h = torch.as_tensor(X).to(torch.device(self.device))
            s = self.generators_.encoders[source.value](h).s
            return self.generators_.decoders[target.value](s).cpu().numpy()


# ------------------------------------------------------------------------------------ ablations
# Each is CMGANs with other defaults (partialmethod keeps the full signature for get_params).


@METHODS.register("cmgans-inter-only")
class CMGANsInterOnly(CMGANs):
    """CM-GANs without intra-modality discriminators ("CM-GANs only inter", original Table V)."""

    name = "cmgans-inter-only"
    __init__ = partialmethod(CMGANs.__init__, intra=False)


@METHODS.register("cmgans-cae")
class CMGANsCAE(CMGANs):
    """No adversarial training: the autoencoders with weight sharing, semantic and reconstruction
    losses only ("CM-GANs-CAE", original Table VI)."""

    name = "cmgans-cae"
    __init__ = partialmethod(CMGANs.__init__, intra=False, inter=False)


@METHODS.register("cmgans-no-ws-sc")
class CMGANsNoWSSC(CMGANs):
    """Without weight sharing and without semantic constraint ("CM-GANs without ws&sc", Table IV)."""

    name = "cmgans-no-ws-sc"
    __init__ = partialmethod(CMGANs.__init__, weight_sharing=False, semantic=False)


@METHODS.register("cmgans-ws-only")
class CMGANsWSOnly(CMGANs):
    """Weight sharing, no semantic constraint ("CM-GANs with ws", original Table IV)."""

    name = "cmgans-ws-only"
    __init__ = partialmethod(CMGANs.__init__, semantic=False)


@METHODS.register("cmgans-sc-only")
class CMGANsSCOnly(CMGANs):
    """Semantic constraint, no weight sharing ("CM-GANs with sc", original Table IV).

    Each encoder has its own second layer. This is the one name of this model: ``cmgans-no-ws``
    (the same model) is an alias of it. The TOMM paper names only "CM-GANs with sc"; the thesis
    defines no ablation at all (its Sec. 5.1 leaves them out of scope)."""

    name = "cmgans-sc-only"
    __init__ = partialmethod(CMGANs.__init__, weight_sharing=False)


METHODS.add_alias("cmgans-no-ws", "cmgans-sc-only",
                  "the same model (weight sharing off, semantic constraint on), TOMM's 'CM-GANs with sc'; "
                  "runs stored under the old name are tabled under cmgans-sc-only")
