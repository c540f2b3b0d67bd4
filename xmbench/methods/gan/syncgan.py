"""SyncGAN (Chen, Chen, Hu, "SyncGAN: Synchronize the latent space of cross-modal generative
adversarial networks", ICME 2018): two GANs whose latent spaces a synchronizer ties together, on
frozen features (``syncgan``) and on raw 28x28 images as in the paper (``syncgan-image``).

One training loop (``SyncGAN._fit``); the image variant only overrides the hooks that check and
convert inputs and build the networks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import XmbenchError
from xmbench.methods.base import METHODS, CrossModalMethod, NotFittedError
from xmbench.methods.gan import latent_recovery
from xmbench.methods.gan.adversarial import discriminator_accuracy, fake_loss as _fake, real_loss as _real
from xmbench.methods.gan.syncgan_nets import (
    MODALITIES,
    OTHER,
    SyncNetworks,
    feature_networks,
    generated_sync_batch,
    real_sync_batch,
)
from xmbench.methods.params import ADAM_BETAS, NON_NEGATIVE, OPTIONAL_POSITIVE_INT, POSITIVE, POSITIVE_INT, SCHEDULE, SLOPE, WIDTHS, Number, OneOf
from xmbench.methods.standardise import MIN_STD
from xmbench.methods.training import BatchStream, Phase, adam, budget, fit_phases, positive_int, validation_score
from xmbench.options import Modality, Profile
from xmbench.seeding import derive_seed, seeded_init, torch_generator





@METHODS.register("syncgan")
class SyncGAN(CrossModalMethod):
    """SyncGAN on frozen features: G_a, G_b map one noise z ~ N(0, I) (``latent_dim``, 64) to the
    two modalities; a synchronizer S judges whether (x_a, x_b) is synchronous (paper Sec. 2.2).

    Features are standardised per modality with the mean and std of all its training rows (paired
    and unpaired; a constant feature keeps std 1); the networks work in that space and
    ``translate`` / ``generate_pairs`` return de-standardised features, comparable with real ones.

    Networks (``syncgan_nets.feature_networks``; no public code for features, our choice): G_m an
    MLP z -> ``hidden`` (ReLU) -> d_m with a linear output; D_m d_m -> ``disc_hidden`` (LeakyReLU
    ``leaky_slope``) -> logit; S one tower d_m -> ``disc_hidden`` per modality, concatenated, FC head
    -> logit (Fig. 2a). No BatchNorm, so each z is generated (and recovered) on its own.

    Training (Algorithm 1), in ``xmbench.methods.training``'s loop. One update is one iteration of
    three steps; an epoch is as many updates as full batches of ``batch_size`` in the larger
    modality's rows (paired plus unpaired), so an epoch does not shrink with the paired fraction;
    every iteration draws from reshuffled passes over the rows (seeded generator):
      1. data distribution: D_a and D_b, one Adam step on -log D_m(x_m) - log(1 - D_m(G_m(z))) for
         a batch of real rows of modality m -- paired and unpaired rows alike, the adversarial
         losses need no pairs (Sec. 2.3, semi-supervised) -- against as many fresh z;
      2. synchronizer: S only on real pairs (never generated data), one Adam step on the binary
         cross-entropy of a batch of pairs (``real_sync_batch``): a fraction ``sync_ratio`` (the
         paper's 0.5) keeps its own partner (row i of a, row i of b: synchronous, 1), the rest get
         the b row of another pair j != i (asynchronous, 0). Unpaired rows never reach S;
      3. generators (D and S fixed, not updated by this loss): ``adversarial_weight`` x
         sum_m -log D_m(G_m(z_m)) (non-saturating form of L_G^Dis) and ``sync_weight`` x the binary
         cross-entropy of S on ``batch_size`` generated pairs (``generated_sync_batch``): a
         fraction ``sync_ratio`` (G_a(z), G_b(z)) labelled synchronous, the rest (G_a(z1), G_b(z2))
         with independent z labelled asynchronous (Eq. 2, with the printed "1 - log S" read as
         log(1 - S) as in Algorithm 1). ``sync_step="joint"`` (default): one Adam step on their
         sum; ``"separate"``: the reference code's order, one step on the adversarial losses, then
         one on the synchronous loss with its own Adam(``generator_lr``, ``sync_betas``).
    Optimisers: D Adam(``lr``, ``betas``), S Adam(``synchronizer_lr``, ``sync_betas``), generators
    Adam(``generator_lr``, ``betas``). All parameters of S are trained: the published TF1 code's
    synchronizer leaves its fully connected layers untrained (a variable-list bug), not reproduced.
    Rates (measured on mnist-fashion features, 3,000 updates, two seeds, scored on 6,000 held-out
    training rows): with the generators at D's 2e-4 (the earlier default) D won at once (accuracy
    on fakes .99-1.0), both generators collapsed onto 2-3 classes and the synchronous rate was .04;
    the reference's generator rate 1e-3 fixed that (.53/.62). D at 1e-3 too (the default, ``lr``)
    kept the synchronous rate (.52/.44) and raised the recovery explained variance from .10-.23 to
    .29-.51 and translation mAP (A=>B) from .20/.26 to .38/.40. The reference's separate sync
    step gave .09 on one seed, the joint step above .4, so ``quick`` keeps the joint step;
    ``paper`` follows the reference (D 2e-4, separate step).

    Latent recovery (Eq. 3, after Lipton & Tripathi): for real x of modality m, z minimises
    ||G_m(z) - x||^2 in the model space. Every row starts from the nearest (in G_m's output space)
    of ``recovery_starts`` candidate codes, seeded prior draws shared by all rows (seeded restarts,
    keeping the best, evaluated before descending), then takes ``recovery_steps``
    Adam(``recovery_lr``) steps in chunks of ``recovery_batch`` rows. The objective is the sum of
    per-row errors, so each z's update depends only on its own row: identical rows get identical
    codes, wherever they sit, and chunking only changes float rounding. The reference descends by
    plain gradient descent, 1,500 steps of 0.1 on a batch mean; on standardised features steps of
    0.1 on a row's own error diverge (NaN, measured), hence Adam. The explained variance of the
    last recovery per modality (1 - error / total variance, in the model space) is kept in
    ``recovery_ev_`` and reported by ``extra_results`` (``recovery_ev_a|b``); a run warns below 0.5
    (``xmbench.methods.gan.health``).
    ``embed(m, X)`` is the recovered z (the shared latent space); ``translate(m, X)`` is
    G_other(z) de-standardised; ``generate_pairs(n, seed)`` is (G_a(z), G_b(z)) for the same z.

    The budget is ``max_updates`` updates, or ``epochs`` epochs when it is None. ``history_`` holds
    every ``eval_every`` updates the interval means of d_loss (and d_loss_a, d_loss_b), each D's
    accuracy on real and fake rows (``d_acc_real_a`` ...), s_loss, s_accuracy (on its real training
    pairs), g_adv_a, g_adv_b, g_sync and g_loss (weighted), and with a validation split its mAP on
    the recovered codes and of translation, S's accuracy on the held-out validation pairs (``val_s_accuracy``) and the
    validation recovery's explained variance (``val_recovery_ev_a|b``); ``model_selection`` keeps
    the state with the best validation *translation* mAP (mean of A=>B and B=>A,
    ``selection_tasks``; our choice) and stops after ``patience`` evaluations without improvement.
    Not the recovered codes' retrieval mAP, the harness's default: it stays near chance for this
    method (codes of one class are not close in cosine even within a modality: A->A .33 on
    mnist-fashion), so selecting on it picked noise (the untrained update-0 state was kept at
    paired fractions .4 and .1, synchronous rate 0.0), while translation mAP rises with training
    (.26-.40 at 3,000 updates). ``syncgan-image`` translates into images; the harness maps them
    (and the real target images) through the frozen extractors and scores the same translation
    tasks in feature space (``eval.protocol.translation_scores``), so it selects on them too. A non-finite loss
    raises ``NonFiniteError`` naming the update and the loss. Each validation recovers every
    validation item, so it is costly: ``quick`` validates every 1,500 updates.

    Profiles: ``smoke`` 20 updates, 20 recovery steps; ``quick`` (our choice, measured) model
    selection, validation every 1,500 updates, patience 4, at most 40,000 updates, 200 recovery
    steps. Measured on mnist-fashion features (replicate 0, 36,000 updates without selection,
    scored on the validation pairs): validation translation mAP .36 at 3,000 updates (the earlier
    cap), .46 at 12,000, then flat at .49-.51 from 22,500 on (noise +-.01 between evaluations); the
    synchronous rate rose with it (.46, .74, .78-.84) and the recovery explained variance flattened
    by 16,500 (a .49-.50, b .63). At the earlier evaluation every 200 updates with patience 2 that
    noise stopped runs after 1,000 updates; at 1,500 / 4 the curve above stops after about
    34,500 updates and keeps the state of 31,500;
    ``paper`` the reference code's schedule: 20,001 iterations, synchronizer batches of 64
    synchronous + 64 asynchronous pairs (``batch_size`` 128, also the batch of D's and G's steps),
    D 2e-4 / G and S 1e-3, the separate sync step, 1,500 recovery steps (Adam, see above), no
    model selection, and the paper's 30,000 training pairs (Sec. 3.1: "We used 30000 pairs"):
    ``max_pairs`` keeps a class-stratified subset of that many pairs, drawn with the method's seed
    (``training_pairs`` in the results); the other pairs are not used, not even unpaired. ``smoke``
    and ``quick`` train on every pair (``max_pairs=None``).
    """

    name: ClassVar[str] = "syncgan"
    # the synchronous rate and modality transfer (Sec. 3.4, Fig. 11); the paper reports no retrieval
    paper_claims: ClassVar[tuple[str, ...]] = ("synchrony", "translation")
    can_translate: ClassVar[bool] = True
    shared_space: ClassVar[bool] = True
    uses_unpaired: ClassVar[bool] = True
    can_generate_pairs: ClassVar[bool] = True
    input_kind: ClassVar[str] = "features"
    selection_tasks: ClassVar[tuple[str, ...]] = ("A=>B", "B=>A")
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"max_updates": 20, "eval_every": 10, "patience": 2, "model_selection": True,
                        "recovery_steps": 20},
        Profile.QUICK: {"max_updates": 40000, "eval_every": 1500, "patience": 4, "model_selection": True,
                        "recovery_steps": 200},
        Profile.PAPER: {"max_updates": 20001, "batch_size": 128, "lr": 2e-4, "generator_lr": 1e-3,
                        "synchronizer_lr": 1e-3, "sync_step": "separate", "recovery_steps": 1500,
                        "max_pairs": 30000},
    }
    param_ranges: ClassVar[dict[str, Any]] = {
        **dict.fromkeys(("latent_dim", "batch_size", "epochs", "recovery_steps", "recovery_starts", "recovery_batch"),
                        POSITIVE_INT),
        "hidden": WIDTHS, "disc_hidden": WIDTHS, "leaky_slope": SLOPE, "max_updates": OPTIONAL_POSITIVE_INT,
        "max_pairs": OPTIONAL_POSITIVE_INT, **SCHEDULE,
        **dict.fromkeys(("lr", "generator_lr", "synchronizer_lr", "recovery_lr"), POSITIVE),
        "betas": ADAM_BETAS, "sync_betas": ADAM_BETAS, "sync_step": OneOf(("separate", "joint")),
        "adversarial_weight": NON_NEGATIVE, "sync_weight": NON_NEGATIVE,
        "sync_ratio": Number(low=0, high=1, low_open=True, high_open=True),
    }

    def __init__(
        self,
        *,
        latent_dim: int = 64,
        hidden: tuple[int, ...] = (256, 256),
        disc_hidden: tuple[int, ...] = (256,),
        leaky_slope: float = 0.2,
        batch_size: int = 128,
        epochs: int = 150,
        max_updates: int | None = None,
        model_selection: bool = False,
        eval_every: int = 50,
        patience: int = 10,
        lr: float = 1e-3,
        generator_lr: float = 1e-3,
        synchronizer_lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        sync_betas: tuple[float, float] = (0.9, 0.999),
        sync_step: str = "joint",
        adversarial_weight: float = 1.0,
        sync_weight: float = 1.0,
        sync_ratio: float = 0.5,
        recovery_steps: int = 500,
        recovery_lr: float = 0.05,
        recovery_starts: int = 1024,
        recovery_batch: int = 1024,
        max_pairs: int | None = None,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.disc_hidden = disc_hidden
        self.leaky_slope = leaky_slope
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_updates = max_updates
        self.model_selection = model_selection
        self.eval_every = eval_every
        self.patience = patience
        self.lr = lr
        self.generator_lr = generator_lr
        self.synchronizer_lr = synchronizer_lr
        self.betas = betas
        self.sync_betas = sync_betas
        self.sync_step = sync_step
        self.adversarial_weight = adversarial_weight
        self.sync_weight = sync_weight
        self.sync_ratio = sync_ratio
        self.recovery_steps = recovery_steps
        self.recovery_lr = recovery_lr
        self.recovery_starts = recovery_starts
        self.recovery_batch = recovery_batch
        self.max_pairs = max_pairs
        self.seed = seed
        self.device = device

    # --------------------------------------------------------------- hooks (the image variant overrides)
    def _check_inputs(self, rows: dict[str, np.ndarray]) -> None:
        for m in MODALITIES:
            if rows[m].ndim != 2:
                raise XmbenchError(
                    f"{self.name}: modality {m} must be 2-D features (n, d), got shape {rows[m].shape}; "
                    "raw images need syncgan-image"
                )

    def _fit_scaling(self, rows: dict[str, np.ndarray]) -> None:
        self.mean_ = {m: rows[m].astype(np.float64).mean(axis=0) for m in MODALITIES}
        std = {m: rows[m].astype(np.float64).std(axis=0) for m in MODALITIES}
        self.std_ = {m: np.where(std[m] > MIN_STD, std[m], 1.0) for m in MODALITIES}

    def _to_model(self, m: str, X: np.ndarray) -> torch.Tensor:
        Z = (np.asarray(X, dtype=np.float64) - self.mean_[m]) / self.std_[m]
        return torch.as_tensor(Z, dtype=torch.float32, device=torch.device(self.device))

    def _from_model(self, m: str, T: torch.Tensor) -> np.ndarray:
        return (T.cpu().numpy().astype(np.float64) * self.std_[m] + self.mean_[m]).astype(np.float32)

    def _build_networks(self, shapes: dict[str, tuple[int, ...]]) -> SyncNetworks:
        dims = {m: shapes[m][0] for m in MODALITIES}
        return feature_networks(dims, self.latent_dim, tuple(self.hidden), tuple(self.disc_hidden), self.leaky_slope)

    # ----------------------------------------------------------------------------------- fit
    def _init_networks(self, shapes: dict[str, tuple[int, ...]]) -> SyncNetworks:
        """The networks as initialised before training (seeded; the global RNG is untouched)."""
        with seeded_init(self.seed):
            return self._build_networks(shapes).to(torch.device(self.device))

    def _fit(self, train: PairedSplit, unpaired: UnpairedFeatures | None = None) -> None:
        self.recovered_: dict = {}  # latents of a previous fit are stale
        self.recovery_ev_: dict[str, float] = {}
        train = self._limit_pairs(train)
        self.training_pairs_ = len(train)
        rows = {}
        for m in MODALITIES:
            paired = np.asarray(train.x(m))
            extra = None if unpaired is None else np.asarray(unpaired.x(m))
            rows[m] = paired if extra is None or len(extra) == 0 else np.concatenate([paired, extra.astype(paired.dtype)])
        self._check_inputs(rows)
        self._fit_scaling(rows)
        X = {m: self._to_model(m, rows[m]) for m in MODALITIES}  # the first len(train) rows are the pairs
        self.networks_ = self._init_networks({m: tuple(X[m].shape[1:]) for m in MODALITIES})
        self._train(X, len(train))
        self.networks_.requires_grad_(False).eval()
        self.final_sync_accuracy_ = self._heldout_sync_accuracy(self.validation_split)

    def _train(self, X: dict[str, torch.Tensor], n_pairs: int) -> None:
        nets = self.networks_
        generator = torch_generator(derive_seed(self.seed, self.name, "train"), torch.device(self.device))
        optimizers = {
            "discriminators": adam(nets.discriminators.parameters(), self.lr, self.betas),
            "synchronizer": adam(nets.synchronizer.parameters(), self.synchronizer_lr, self.sync_betas),
            "generators": adam(nets.generators.parameters(), self.generator_lr, self.betas),
            "generator_sync": adam(nets.generators.parameters(), self.generator_lr, self.sync_betas),
        }
        rows = {m: BatchStream(len(X[m]), self.batch_size, generator) for m in MODALITIES}
        pairs = BatchStream(n_pairs, self.batch_size, generator)

        def step(update: int) -> dict[str, torch.Tensor]:
            """One iteration of Algorithm 1: D_a and D_b, then S on real pairs, then both generators."""
            real = {m: X[m][rows[m].next()] for m in MODALITIES}
            losses = self._discriminator_step(real, generator, optimizers["discriminators"])
            losses |= self._synchronizer_step(X, pairs.next(), n_pairs, generator, optimizers["synchronizer"])
            return losses | self._generator_step(generator, optimizers)

        per_epoch = max(stream.per_pass for stream in rows.values())
        fit_phases(self, [Phase("train", step, nets, budget(self.epochs, self.max_updates, per_epoch), per_epoch,
                                validation_score(self))])

    def _forget_outputs(self) -> None:
        self.recovered_ = {}

    def _noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, generator=generator, device=generator.device)

    def _discriminator_step(
        self, real: dict[str, torch.Tensor], generator: torch.Generator, optimizer: torch.optim.Optimizer
    ) -> dict[str, torch.Tensor]:
        nets = self.networks_
        losses, accuracies = {}, {}
        for m in MODALITIES:
            with torch.no_grad():
                fake = nets.generators[m](self._noise(len(real[m]), generator))
            real_logits, fake_logits = nets.discriminate(m, real[m]), nets.discriminate(m, fake)
            losses[f"d_loss_{m}"] = _real(real_logits) + _fake(fake_logits)
            accuracies |= discriminator_accuracy(m, real_logits, fake_logits)
        total = sum(losses.values())
        self._step(optimizer, total)
        return {k: v.detach() for k, v in losses.items()} | {"d_loss": total.detach()} | accuracies

    def _synchronizer_step(
        self,
        X: dict[str, torch.Tensor],
        idx: torch.Tensor,
        n_pairs: int,
        generator: torch.Generator,
        optimizer: torch.optim.Optimizer,
    ) -> dict[str, torch.Tensor]:
        rows_a, rows_b, labels = real_sync_batch(idx, n_pairs, self.sync_ratio, generator)
        logits = self.networks_.synchronizer(X["a"][rows_a], X["b"][rows_b])
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        accuracy = ((logits.detach() > 0).float() == labels).float().mean()
        return {"s_loss": loss.detach(), "s_accuracy": accuracy}

    def _generator_step(self, generator: torch.Generator, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.Tensor]:
        """Both generators against D and S (fixed here: no gradients for them). ``sync_step``
        "separate": one Adam step on the adversarial losses, then one on the synchronous loss with
        its own optimizer (the reference code's G1, G2, G_sync); "joint": one step on the weighted sum."""
        nets = self.networks_
        judges = (nets.discriminators, nets.synchronizer)
        for module in judges:
            module.requires_grad_(False)
        losses = {
            f"g_adv_{m}": _real(nets.discriminate(m, nets.generators[m](self._noise(self.batch_size, generator))))
            for m in MODALITIES
        }
        adversarial = self.adversarial_weight * (losses["g_adv_a"] + losses["g_adv_b"])
        if self.sync_step == "separate":
            self._step(optimizers["generators"], adversarial)
        z_a, z_b, labels = generated_sync_batch(
            self._noise(self.batch_size, generator), self._noise(self.batch_size, generator), self.sync_ratio
        )
        logits = nets.synchronizer(nets.generators["a"](z_a), nets.generators["b"](z_b))
        losses["g_sync"] = F.binary_cross_entropy_with_logits(logits, labels)
        if self.sync_step == "separate":
            self._step(optimizers["generator_sync"], self.sync_weight * losses["g_sync"])
        else:
            self._step(optimizers["generators"], adversarial + self.sync_weight * losses["g_sync"])
        for module in judges:
            module.requires_grad_(True)
        total = adversarial + self.sync_weight * losses["g_sync"]
        return {**{k: v.detach() for k, v in losses.items()}, "g_loss": total.detach()}

    @staticmethod
    def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # ------------------------------------------------------------- recovery / embed / translate
    def _starts(self, m: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``recovery_starts`` candidate starting codes of modality m (seeded draws from the prior,
        the same for every row; never z = 0, where a dead first layer would pin the code at an
        all-zero embedding) and their images G_m(z), flattened."""
        z = self._start_codes(m)
        return z, latent_recovery.decode(self.networks_.generators[m], z, self.recovery_batch).flatten(1)

    def _start_codes(self, m: str) -> torch.Tensor:
        generator = torch_generator(derive_seed(self.seed, self.name, "recovery", m), torch.device(self.device))
        return self._noise(self.recovery_starts, generator)

    def _recover(self, m: str, X: torch.Tensor) -> torch.Tensor:
        """Eq. 3 for the rows of X (model space), by ``latent_recovery.recover`` (which images the starts)."""
        starts = self._start_codes(m)
        return latent_recovery.recover(self.networks_.generators[m], X, starts, self.recovery_steps,
                                       self.recovery_lr, self.recovery_batch)

    def _explained_variance(self, m: str, X: torch.Tensor, z: torch.Tensor) -> float:
        return latent_recovery.explained_variance(self.networks_.generators[m], X, z, self.recovery_batch)

    def _decode_latents(self, m: str, z: torch.Tensor) -> np.ndarray:
        """G_m(z) in chunks of ``recovery_batch``, converted back to the input space."""
        return self._from_model(m, latent_recovery.decode(self.networks_.generators[m], z, self.recovery_batch))

    def _latents(self, m: str, X: np.ndarray) -> torch.Tensor:
        """Recovered z of X, remembered for the last X of each modality: recovery is deterministic
        and the harness embeds and then translates the same test split (minutes on 10k images).
        The explained variance of each recovery is kept in ``recovery_ev_`` (the last rows recovered
        per modality: the test split once a run has scored it)."""
        digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest() + str(X.shape)
        memo = self.recovered_
        if memo.get(m, (None,))[0] != digest:
            rows = self._to_model(m, X)
            z = self._recover(m, rows)
            memo[m] = (digest, z)
            self.recovery_ev_[m] = self._explained_variance(m, rows, z)
        return memo[m][1]

    def _validate(self) -> tuple[float, dict[str, float]]:
        """The validation mAP and its details, plus the held-out diagnostics of the current state: the
        synchronizer's accuracy on the validation pairs and the recovery explained variance of the
        validation rows per modality."""
        score, details = super()._validate()
        diagnostics = {f"val_recovery_ev_{m}": self.recovery_ev_[m] for m in MODALITIES if m in self.recovery_ev_}
        return score, details | diagnostics | {"val_s_accuracy": self._heldout_sync_accuracy(self.validation_split)}

    def _heldout_sync_accuracy(self, split: PairedSplit) -> float:
        """S's accuracy on real pairs it never trained on: every pair of ``split`` once, a fraction
        ``sync_ratio`` with its own partner (synchronous) and the rest with another pair's b row
        (seeded, the same draw at every evaluation)."""
        if split is None or len(split) < 2:
            return float("nan")
        generator = torch_generator(derive_seed(self.seed, self.name, "held-out-sync"), torch.device(self.device))
        idx = torch.randperm(len(split), generator=generator, device=generator.device)
        rows_a, rows_b, labels = real_sync_batch(idx, len(split), self.sync_ratio, generator)
        with torch.no_grad():
            logits = self.networks_.synchronizer(self._to_model("a", np.asarray(split.x("a")))[rows_a],
                                                 self._to_model("b", np.asarray(split.x("b")))[rows_b])
        return float(((logits > 0).float() == labels).float().mean())

    def _limit_pairs(self, train: PairedSplit) -> PairedSplit:
        """At most ``max_pairs`` pairs: a class-stratified subset drawn with the method's seed."""
        if self.max_pairs is None or len(train) <= self.max_pairs:
            return train
        keep, _ = train_test_split(np.arange(len(train)), train_size=self.max_pairs, stratify=train.y_a,
                                   random_state=derive_seed(self.seed, self.name, "pairs") % 2**32)
        keep = np.sort(keep)
        return replace(train, a=train.a[keep], b=train.b[keep], y_a=train.y_a[keep], y_b=train.y_b[keep])

    def extra_results(self) -> dict[str, float]:
        """The recovery explained variance of the last rows recovered per modality (the test split
        in a run) and the synchronizer's held-out accuracy at the end of training (validation pairs)."""
        facts = {f"recovery_ev_{m}": value for m, value in self.recovery_ev_.items()}
        facts["training_pairs"] = float(self.training_pairs_)
        if not math.isnan(self.final_sync_accuracy_):  # NaN: no validation pairs to measure it on
            facts["s_heldout_accuracy"] = self.final_sync_accuracy_
        return facts

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return self._latents(modality.value, X).cpu().numpy()

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        return self._decode_latents(OTHER[source.value], self._latents(source.value, X))

    def generate_pairs(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """n synchronous pairs (G_a(z), G_b(z)) from the same z ~ N(0, I), drawn with a generator
        seeded by ``seed`` on the method's device; outputs are in the space ``translate`` returns."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"method {self.name!r} is not fitted yet; call fit first")
        if not positive_int(n):
            raise XmbenchError(f"{self.name}: generate_pairs needs a positive integer n, got {n!r}")
        z = self._noise(n, torch_generator(seed, torch.device(self.device)))
        return self._decode_latents("a", z), self._decode_latents("b", z)
