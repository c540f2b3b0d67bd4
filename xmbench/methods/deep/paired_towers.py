"""What the deep correlation, contrastive and supervised baselines share (dcca, dccae, corr-ae,
contrastive, dscmr, acmr): one network ("tower") per modality trained on batches of training pairs by
one loss, on standardised features, in the shared loop; the common space is what the towers output.

Each method is one subclass in its own file that says which networks it has (``_networks``), its
loss on a batch (``_losses``) and how a modality is encoded (``_encode``). This class does the rest:
standardisation (one scale per modality by default), seeded initialisation and batches, one
optimiser over every network (``_optimizer``: Adam unless a subclass says otherwise), the budget,
validation and model selection (``xmbench.methods.training``), and ``embed``. Validation runs every
``eval_every`` updates or every ``MAX_EPOCHS_BETWEEN_VALIDATIONS`` epochs, whichever is sooner.

Supervised methods (``uses_labels``) get each pair's two class indices in the batch (``y_a``,
``y_b``, indices into ``classes_``, the sorted training labels of both modalities); labels are read
from the training pairs only: ``embed`` takes features and nothing else, so no test label can reach
a method (tested in tests/test_paired_towers.py by scrambling them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from xmbench.data.base import PairedSplit
from xmbench.methods.base import CrossModalMethod
from xmbench.methods.ensemble import current_member
from xmbench.methods.layers import ACTIVATIONS, MODALITIES
from xmbench.methods.params import OPTIONAL_POSITIVE_INT, POSITIVE, POSITIVE_INT, SCHEDULE, WIDTHS, Number, OneOf
from xmbench.methods.standardise import SCALINGS, StandardisedFeatures
from xmbench.methods.training import BatchStream, Phase, ValidationResult, adam, budget, fit_phases, validation_score
from xmbench.options import Modality, Profile
from xmbench.seeding import derive_seed, seeded_init, torch_generator

# validation comes at least this often (in epochs), whatever ``eval_every`` says: on a small training
# set (Wikipedia: 2 batches of 800 per epoch for dcca) 100 updates are 50 epochs, long enough to
# overfit between two validations and stop at update 0
MAX_EPOCHS_BETWEEN_VALIDATIONS = 5
Batch = dict[str, torch.Tensor]  # "a", "b": standardised rows; "y_a", "y_b": class indices (uses_labels)
class PairedTowers(StandardisedFeatures, CrossModalMethod):
    """Base of the tower methods (not registered itself); the docstring of the module says what it does."""

    paper_claims: ClassVar[tuple[str, ...]] = ("retrieval",)
    uses_labels: ClassVar[bool] = False
    supports_ensemble: ClassVar[bool] = True  # one vmapped step for several runs (``methods.ensemble``)
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"max_updates": 20, "eval_every": 10, "patience": 2, "model_selection": True},
        Profile.QUICK: {"max_updates": 5000, "eval_every": 100, "patience": 4, "model_selection": True},
        Profile.PAPER: {},
    }
    param_ranges: ClassVar[dict[str, Any]] = {
        "hidden": WIDTHS, "out_dim": POSITIVE_INT, "activation": OneOf(tuple(ACTIVATIONS)), "lr": POSITIVE,
        "batch_size": Number(low=2, integer=True), "epochs": POSITIVE_INT, "max_updates": OPTIONAL_POSITIVE_INT,
        **SCHEDULE, "scaling": OneOf(SCALINGS),
    }

    def __init__(
        self, *, hidden: tuple[int, ...] = (512,), out_dim: int = 64, activation: str = "relu", lr: float = 1e-3,
        batch_size: int = 128, epochs: int = 100, max_updates: int | None = None, model_selection: bool = False,
        eval_every: int = 100, patience: int = 4, scaling: str = "modality", seed: int = 0, device: str = "cpu",
    ) -> None:
        self.hidden = hidden
        self.out_dim = out_dim
        self.activation = activation
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_updates = max_updates
        self.model_selection = model_selection
        self.eval_every = eval_every
        self.patience = patience
        self.scaling = scaling
        self.seed = seed
        self.device = device

    # ------------------------------------------------------------------------------- hooks
    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        """Every trained network, by name (built under the method's seeded init); ``n_classes_`` is set
        before for supervised methods."""
        raise NotImplementedError

    def _losses(self, batch: Batch, update: int) -> dict[str, torch.Tensor]:
        """The loss terms of update ``update`` (from 0) on a batch; ``"loss"`` is the one minimised."""
        raise NotImplementedError

    def _encode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """The common-space code of standardised rows: by default the modality's tower ``nets_[m]``."""
        return self.nets_[modality](x)

    def _optimizer(self, parameters) -> torch.optim.Optimizer:
        return adam(parameters, self.lr)

    def _before_validation(self) -> None:
        """Called before each validation and once after training (e.g. refit a linear map on the codes)."""

    def _selection_score(self) -> tuple[Callable[[], ValidationResult] | None, str, bool]:
        """(the validation scorer, its name, whether it is relative): by default the harness's mAP."""
        return validation_score(self), "validation mAP", False

    # --------------------------------------------------------------------------------- fit
    def _fit(self, train: PairedSplit) -> None:
        device = torch.device(self.device)
        rows = self._fit_standardiser(train, None)
        batch_rows = {m: self._to_model(m, train.x(m)) for m in MODALITIES}
        if self.uses_labels:
            self.classes_, index = np.unique(np.concatenate([train.y_a, train.y_b]), return_inverse=True)
            self.n_classes_ = len(self.classes_)
            for key, part in (("y_a", index[: len(train)]), ("y_b", index[len(train):])):
                batch_rows[key] = torch.as_tensor(part, dtype=torch.long, device=device)
        with seeded_init(self.seed):
            self.nets_ = self._networks({m: rows[m].shape[1] for m in MODALITIES}).to(device)
        self.pairs_, self.n_train_ = batch_rows, len(train)
        stream = BatchStream(len(train), min(self.batch_size, len(train)), torch_generator(
            derive_seed(self.seed, self.name, "train"), device))
        self.budget_ = budget(self.epochs, self.max_updates, stream.per_pass)
        # this thread trains one member of an ensemble (``--ensemble``): one shared, vmapped step
        member = current_member() if self.supports_ensemble else None
        if member is not None:
            member.join(self)
        optimizer = None if member is not None else self._optimizer(self.nets_.parameters())

        def step(update: int) -> dict[str, torch.Tensor]:
            idx = stream.next()
            batch = {key: value[idx] for key, value in batch_rows.items()}
            if member is not None:
                return member.step(batch, update)
            losses = self._losses(batch, update)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            return {key: value.detach() for key, value in losses.items()}

        score, score_name, relative = self._selection_score()

        def scored() -> ValidationResult:
            self._before_validation()
            return score()

        self.eval_every_ = min(self.eval_every, MAX_EPOCHS_BETWEEN_VALIDATIONS * stream.per_pass)
        try:
            fit_phases(self, [Phase("train", step, self.nets_, self.budget_, stream.per_pass,
                                    None if score is None else scored, score_name, relative)], self.eval_every_)
        finally:
            if member is not None:
                member.leave()  # its weights become its own; the other members go on
        self.nets_.requires_grad_(False).eval()
        self._before_validation()
        del self.pairs_  # the training rows are not state

    @torch.no_grad()
    def _codes(self, m: str, x: torch.Tensor) -> torch.Tensor:
        """``_encode`` in eval mode (BatchNorm's running statistics), the train/eval mode restored."""
        training = self.nets_.training
        self.nets_.eval()
        codes = self._encode(m, x)
        self.nets_.train(training)
        return codes

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        m = modality.value
        return self._codes(m, self._to_model(m, X)).float().cpu().numpy()
