"""SyncGAN (Chen, Chen, Hu, "SyncGAN: Synchronize the latent space of cross-modal generative
adversarial networks", ICME 2018): two GANs whose latent spaces a synchronizer ties together, on
frozen features (``syncgan``) and on raw 28x28 images as in the paper (``syncgan-image``).

One training loop (``SyncGAN._fit``); the image variant only overrides the hooks that check and
convert inputs and build the networks.
"""

from __future__ import annotations

import hashlib

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import XmbenchError
from xmbench.methods.adversarial import discriminator_accuracy, fake_loss as _fake, real_loss as _real
from xmbench.methods.base import METHODS, CrossModalMethod, NotFittedError
from xmbench.methods.syncgan_nets import (
    MODALITIES,
    OTHER,
    SyncNetworks,
    feature_networks,
    generated_sync_batch,
    real_sync_batch,
)
from xmbench.methods.standardise import MIN_STD, positive_int
from xmbench.methods.training import BatchStream, Phase, adam, budget, fit_phases, schedule_problems, validation_score
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
         sum_m -log D_m(G_m(z_m)) (non-saturating form of L_G^Dis) + ``sync_weight`` x the binary
         cross-entropy of S on ``batch_size`` generated pairs (``generated_sync_batch``): a
         fraction ``sync_ratio`` (G_a(z), G_b(z)) labelled synchronous, the rest (G_a(z1), G_b(z2))
         with independent z labelled asynchronous (Eq. 2, with the printed "1 - log S" read as
         log(1 - S) as in Algorithm 1). One Adam step over both generators.
    Each part has its own Adam(``lr``, ``betas``); defaults are DCGAN's 2e-4, (0.5, 0.999). All
    parameters of S are trained: the published TF1 code's synchronizer leaves its fully connected
    layers untrained (a variable-list bug), which is not reproduced.

    Latent recovery (Eq. 3, after Lipton & Tripathi): for real x of modality m, z minimises
    ||G_m(z) - x||^2 in the model space, by ``recovery_steps`` Adam(``recovery_lr``) steps (Adam
    instead of plain gradient descent, no clipping), in chunks of ``recovery_batch`` rows. The
    objective is the sum over samples of each sample's squared error, so each z's update only
    depends on its own sample, and all starting points are drawn at once (generator seeded from
    (seed, "recovery", modality)) before chunking: the result does not depend on ``recovery_batch``
    beyond float rounding (a different matmul blocking rounds differently, and 500 Adam steps can
    grow that to visible differences in z with the same reconstruction error).
    ``embed(m, X)`` is the recovered z (the shared latent space); ``translate(m, X)`` is
    G_other(z) de-standardised; ``generate_pairs(n, seed)`` is (G_a(z), G_b(z)) for the same z.

    The budget is ``max_updates`` updates, or ``epochs`` epochs when it is None. ``history_`` holds
    every ``eval_every`` updates the interval means of d_loss_a, d_loss_b, s_loss, s_accuracy (on
    its real training pairs), g_adv_a, g_adv_b, g_sync and g_loss (weighted), and with a validation
    split its mAP on the recovered codes (``model_selection``: keep the best state, stop after
    ``patience`` evaluations without improvement); a non-finite loss raises ``NonFiniteError``
    naming the update and the loss. Each validation recovers every validation item, so it is
    costly: ``quick`` validates every 200 updates.

    Profiles (our choice; the paper gives no epochs): ``smoke`` 20 updates, 20 recovery steps;
    ``quick`` model selection, validation every 200 updates, patience 2, at most 3,000 updates,
    200 recovery steps (about 0.9 s per 1,000 samples; embed and translate each recover);
    ``paper`` the defaults, 150 epochs and 500 recovery steps, no model selection.
    """

    name: ClassVar[str] = "syncgan"
    can_translate: ClassVar[bool] = True
    shared_space: ClassVar[bool] = True
    uses_unpaired: ClassVar[bool] = True
    can_generate_pairs: ClassVar[bool] = True
    input_kind: ClassVar[str] = "features"
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"max_updates": 20, "eval_every": 10, "patience": 2, "model_selection": True,
                        "recovery_steps": 20},
        Profile.QUICK: {"max_updates": 3000, "eval_every": 200, "patience": 2, "model_selection": True,
                        "recovery_steps": 200},
        Profile.PAPER: {},
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
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        adversarial_weight: float = 1.0,
        sync_weight: float = 1.0,
        sync_ratio: float = 0.5,
        recovery_steps: int = 500,
        recovery_lr: float = 0.05,
        recovery_batch: int = 1024,
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
        self.betas = betas
        self.adversarial_weight = adversarial_weight
        self.sync_weight = sync_weight
        self.sync_ratio = sync_ratio
        self.recovery_steps = recovery_steps
        self.recovery_lr = recovery_lr
        self.recovery_batch = recovery_batch
        self.seed = seed
        self.device = device

    # --------------------------------------------------------------- hooks (the image variant overrides)
    def _architecture_problems(self) -> list[str]:
        return [
            f"{name} must be a non-empty tuple of positive integers (layer widths), got {getattr(self, name)!r}"
            for name in ("hidden", "disc_hidden")
            if not isinstance(getattr(self, name), tuple | list)
            or not getattr(self, name)
            or not all(positive_int(w) for w in getattr(self, name))
        ]

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
    def _check_params(self) -> None:
        problems = [
            f"{name} must be a positive integer, got {getattr(self, name)!r}"
            for name in ("latent_dim", "batch_size", "recovery_steps", "recovery_batch")
            if not positive_int(getattr(self, name))
        ]
        problems += schedule_problems(self, ("epochs", "max_updates"))
        problems += self._architecture_problems()
        for name in ("lr", "recovery_lr"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("adversarial_weight", "sync_weight"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 < self.sync_ratio < 1:
            problems.append(f"sync_ratio must be in (0, 1), got {self.sync_ratio!r}")
        if problems:
            raise XmbenchError(f"{self.name}: " + "; ".join(problems))

    def _init_networks(self, shapes: dict[str, tuple[int, ...]]) -> SyncNetworks:
        """The networks as initialised before training (seeded; the global RNG is untouched)."""
        with seeded_init(self.seed):
            return self._build_networks(shapes).to(torch.device(self.device))

    def _fit(self, train: PairedSplit, unpaired: UnpairedFeatures | None = None) -> None:
        self.recovered_: dict = {}  # latents of a previous fit are stale
        self._check_params()
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

    def _train(self, X: dict[str, torch.Tensor], n_pairs: int) -> None:
        nets = self.networks_
        generator = torch_generator(derive_seed(self.seed, self.name, "train"), torch.device(self.device))
        optimizers = {
            part: adam(getattr(nets, part).parameters(), self.lr, self.betas)
            for part in ("discriminators", "synchronizer", "generators")
        }
        rows = {m: BatchStream(len(X[m]), self.batch_size, generator) for m in MODALITIES}
        pairs = BatchStream(n_pairs, self.batch_size, generator)

        def step(update: int) -> dict[str, torch.Tensor]:
            """One iteration of Algorithm 1: D_a and D_b, then S on real pairs, then both generators."""
            real = {m: X[m][rows[m].next()] for m in MODALITIES}
            losses = self._discriminator_step(real, generator, optimizers["discriminators"])
            losses |= self._synchronizer_step(X, pairs.next(), n_pairs, generator, optimizers["synchronizer"])
            return losses | self._generator_step(generator, optimizers["generators"])

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
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        optimizer.step()
        return {k: v.detach() for k, v in losses.items()} | accuracies

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

    def _generator_step(self, generator: torch.Generator, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
        nets = self.networks_
        judges = (nets.discriminators, nets.synchronizer)
        for module in judges:  # D and S are fixed here: no gradients for them from the generator loss
            module.requires_grad_(False)
        losses = {
            f"g_adv_{m}": _real(nets.discriminate(m, nets.generators[m](self._noise(self.batch_size, generator))))
            for m in MODALITIES
        }
        z_a, z_b, labels = generated_sync_batch(
            self._noise(self.batch_size, generator), self._noise(self.batch_size, generator), self.sync_ratio
        )
        logits = nets.synchronizer(nets.generators["a"](z_a), nets.generators["b"](z_b))
        losses["g_sync"] = F.binary_cross_entropy_with_logits(logits, labels)
        total = self.adversarial_weight * (losses["g_adv_a"] + losses["g_adv_b"]) + self.sync_weight * losses["g_sync"]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        for module in judges:
            module.requires_grad_(True)
        return {**{k: v.detach() for k, v in losses.items()}, "g_loss": total.detach()}

    # ------------------------------------------------------------- recovery / embed / translate
    def _initial_latents(self, m: str, n: int) -> torch.Tensor:
        """Starting points of the latent recovery of n rows, drawn at once (independent of chunking)."""
        generator = torch_generator(derive_seed(self.seed, self.name, "recovery", m), torch.device(self.device))
        return self._noise(n, generator)

    def _recover(self, m: str, X: torch.Tensor) -> torch.Tensor:
        """Eq. 3: z minimising ||G_m(z) - x||^2 per row, Adam on the sum of per-row errors, in chunks."""
        G = self.networks_.generators[m]
        z0 = self._initial_latents(m, len(X))
        recovered = []
        with torch.enable_grad():
            for start in range(0, len(X), self.recovery_batch):
                x = X[start : start + self.recovery_batch]
                z = z0[start : start + self.recovery_batch].clone().requires_grad_(True)
                optimizer = torch.optim.Adam([z], lr=self.recovery_lr)
                for _ in range(self.recovery_steps):
                    loss = (G(z) - x).pow(2).sum()  # a sum, not a mean: each z's update is its own
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                recovered.append(z.detach())
        return torch.cat(recovered)

    def _decode_latents(self, m: str, z: torch.Tensor) -> np.ndarray:
        """G_m(z) in chunks of ``recovery_batch``, converted back to the input space."""
        with torch.no_grad():
            out = torch.cat([self.networks_.generators[m](chunk) for chunk in z.split(self.recovery_batch)])
        return self._from_model(m, out)

    def _latents(self, m: str, X: np.ndarray) -> torch.Tensor:
        """Recovered z of X, remembered for the last X of each modality: recovery is deterministic
        and the harness embeds and then translates the same test split (minutes on 10k images)."""
        digest = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest() + str(X.shape)
        memo = self.recovered_
        if memo.get(m, (None,))[0] != digest:
            memo[m] = (digest, self._recover(m, self._to_model(m, X)))
        return memo[m][1]

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
