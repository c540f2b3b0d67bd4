"""SyncGAN on raw 28x28 images, the paper's own protocol: convolutional generators,
discriminators and synchronizer, trained by ``SyncGAN``'s loop (see ``syncgan.py``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xmbench.errors import XmbenchError
from xmbench.methods.base import METHODS
from xmbench.methods.gan.syncgan import SyncGAN
from xmbench.methods.gan.syncgan_nets import IMAGE_SIDE, MODALITIES, SyncNetworks, image_networks
from xmbench.methods.params import POSITIVE_INT
from xmbench.options import Profile


@METHODS.register("syncgan-image")
class SyncGANImage(SyncGAN):
    """SyncGAN on raw 28x28 images, the paper's own protocol (MNIST x Fashion-MNIST, Sec. 3.1):
    the training loop, latent recovery and outputs of ``syncgan``; only inputs and networks differ.

    Inputs are (n, C, 28, 28) images. uint8 inputs, or any input whose training maximum exceeds 1,
    are divided by 255 (decided per modality at fit, applied to every later call); float inputs in
    [0, 1] are used as they are. No standardisation. ``translate`` and ``generate_pairs`` return
    float32 images in [0, 1] of shape (n, C, 28, 28); ``embed`` returns the recovered z.

    Networks (``syncgan_nets.image_networks``; our choice, DCGAN-like, the paper's layer sizes are
    not given): G_m z -> Linear -> (2 ``width``, 7, 7) -> ConvTranspose -> (``width``, 14, 14) ->
    ConvTranspose -> (C, 28, 28), ReLU between, sigmoid output; D_m two stride-2 4x4 convolutions
    (``width``, 2 ``width`` channels, LeakyReLU) -> Linear -> logit; S one such convolutional tower
    per modality (Fig. 2a, cross-modal: the two images have different structure), concatenated, FC
    head -> ``fc_hidden`` (LeakyReLU) -> logit. No BatchNorm (per-sample recovery). Batch 64. Rates
    are the reference code's for its convolutional networks: D 2e-4, generators and S 1e-3 (the
    feature variant's D rate of 1e-3 was chosen on features and is not carried over untested).

    Selection: on validation translation mAP (A=>B, B=>A), as ``syncgan``; the harness ranks the
    translated images among the real target images in the frozen extractors' features.

    Profiles (our choice): ``smoke`` 4 updates, 20 recovery steps; ``quick`` model selection,
    validation every 1,000 updates, patience 3, at most 20,000 updates, 50 recovery steps (one
    evaluation of the 2,000 validation pairs, recovery plus translation, costs about as much as 400
    updates: validating every 500 updates spent four tenths of a capped run on validation; every
    1,000 with patience 3 halves that and still waits 3,000 updates, not 2,000, for an improvement). Measured
    on mnist-fashion (replicate 0, 6,000 updates without selection, validation pairs): validation
    translation mAP .27 at 500 updates, .36 at 1,500, .39 at 3,000, .44 at 6,000 and still rising
    by about .005 per 500 updates, so the earlier cap of 300 updates stopped far from convergence;
    the synchronous rate (judged by the extractor CNNs) .12, .17, .45, .54 and the recovery
    explained variance .78 / .80 (images) at 6,000. Recovering the validation images dominates
    each evaluation (about 8 s per 1,000 images at 50 steps); ``paper`` the reference
    code's schedule, as ``syncgan`` (20,001 iterations, batches of 128, its rates and separate sync
    step, 1,500 recovery steps). On one thread of a shared
    2-core CPU an update of batch 64 takes about 0.25 s; recovery, run by every embed, translate
    and validation, dominates evaluation.
    """

    name: ClassVar[str] = "syncgan-image"
    input_kind: ClassVar[str] = "images"
    selection_tasks: ClassVar[tuple[str, ...]] = ("A=>B", "B=>A")  # scored through the frozen extractors
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"max_updates": 4, "eval_every": 2, "patience": 2, "model_selection": True,
                        "recovery_steps": 20},
        Profile.QUICK: {"max_updates": 20000, "eval_every": 1000, "patience": 3, "model_selection": True,
                        "recovery_steps": 50},
        Profile.PAPER: SyncGAN.profiles[Profile.PAPER],
    }
    param_ranges: ClassVar[dict[str, Any]] = {
        **{k: v for k, v in SyncGAN.param_ranges.items() if k not in ("hidden", "disc_hidden")},
        "width": POSITIVE_INT, "fc_hidden": POSITIVE_INT,
    }

    def __init__(
        self,
        *,
        latent_dim: int = 64,
        width: int = 32,
        fc_hidden: int = 256,
        leaky_slope: float = 0.2,
        batch_size: int = 64,
        epochs: int = 25,
        max_updates: int | None = None,
        model_selection: bool = False,
        eval_every: int = 50,
        patience: int = 10,
        lr: float = 2e-4,
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
        self.width = width
        self.fc_hidden = fc_hidden
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

    def _check_inputs(self, rows: dict[str, np.ndarray]) -> None:
        for m in MODALITIES:
            if rows[m].ndim != 4 or rows[m].shape[2:] != (IMAGE_SIDE, IMAGE_SIDE):
                raise XmbenchError(
                    f"{self.name}: modality {m} must be images (n, C, {IMAGE_SIDE}, {IMAGE_SIDE}), got shape {rows[m].shape}"
                )

    def _fit_scaling(self, rows: dict[str, np.ndarray]) -> None:
        self.scale_ = {m: 255.0 if rows[m].dtype == np.uint8 or rows[m].max() > 1 else 1.0 for m in MODALITIES}

    def _to_model(self, m: str, X: np.ndarray) -> torch.Tensor:
        images = np.asarray(X, dtype=np.float32) / np.float32(self.scale_[m])
        return torch.as_tensor(images, device=torch.device(self.device))

    def _from_model(self, m: str, T: torch.Tensor) -> np.ndarray:
        return T.cpu().numpy().astype(np.float32)

    def _build_networks(self, shapes: dict[str, tuple[int, ...]]) -> SyncNetworks:
        channels = {m: shapes[m][0] for m in MODALITIES}
        return image_networks(channels, self.latent_dim, self.width, self.fc_hidden, self.leaky_slope)
