"""The one training loop of every trained method: budgets in updates, periodic validation, keeping
the best state, early stopping, and the non-finite-loss stop.

A method describes its training as ``Phase``s (vae-assoc and varalign have two: the VAEs, then the
networks that link their latent spaces; the GANs have one). A phase brings its networks, a
``step`` that makes one update (one optimiser step of every network the phase trains; CM-GANs:
one iteration of its Algorithm 1) and returns that update's losses, and optionally a validation
``score`` (higher is better). ``train`` runs the phases in order:

- every ``eval_every`` updates (and at update 0 and at the end of the budget) it records the mean
  of each loss over the interval and, with a score, evaluates it in eval mode;
- with ``model_selection`` it keeps a copy of the state with the best score, stops early after
  ``patience`` evaluations without an improvement of more than ``min_delta`` (0.002 mAP; 0.5% of
  the loss for a phase scored on its validation loss) and restores the best state before the
  next phase; without it the phase runs its whole budget and ends in its last state (the
  published schedules), while the curve is still recorded;
- a loss that is NaN or infinite anywhere in an interval stops training with ``NonFiniteError``
  naming the method, the phase, the first bad update (counted within the phase) and the loss.

A phase *converged* when its last ``patience`` evaluations brought no improvement of more than
``min_delta`` over the score of the last such improvement (the curve had flattened; early
stopping ends every converged phase), and did not when the budget ran out while it was still
improving. Small gains add up: a curve that creeps up by less than ``min_delta`` per evaluation
resets the count once it stands ``min_delta`` above that score.

A phase whose kept state is its initial one (model selection found no score above update 0's) is
*not trained*: it never counts as converged, whatever its curve did, and the run says so
(``training_facts``' ``trained`` = 0, a WARNING line and the manifest's ``health``).

Batches come from ``BatchStream``: endless reshuffled passes over a row set with a seeded
generator, so training is reproducible and an epoch is ``rows // batch_size`` updates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from xmbench.errors import NonFiniteError, XmbenchError

Losses = dict[str, torch.Tensor]
RELATIVE_MIN_DELTA = 0.005  # a loss-scored phase improves only when its loss falls by more than 0.5%
ValidationResult = tuple[float, dict[str, float]]  # (selection score, details recorded beside it)


class BatchStream:
    """Endless batches of row indices: each pass over ``n`` rows is a fresh permutation drawn from
    ``generator`` (on its device); batches of ``min(batch_size, n)`` rows, the last partial batch of
    a pass is dropped, so every batch has the same size."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator) -> None:
        if n < 1:
            raise XmbenchError("a batch stream needs at least one row")
        self.n, self.batch_size, self.generator = n, min(batch_size, n), generator
        self.per_pass = self.n // self.batch_size
        self._batches: list[torch.Tensor] = []

    def next(self) -> torch.Tensor:
        if not self._batches:
            perm = torch.randperm(self.n, generator=self.generator, device=self.generator.device)
            self._batches = list(perm[: self.per_pass * self.batch_size].split(self.batch_size))[::-1]
        return self._batches.pop()


@dataclass
class Phase:
    """One stage of training. ``step(update)`` makes update number ``update`` (counted from 0 within
    the phase) and returns its losses as detached scalar tensors (on any device); ``modules`` are the
    networks it trains (switched to eval mode for validation, snapshotted and restored by model
    selection). ``score`` validates the current state (higher is better) and returns
    (score, details); ``relative`` scores (minus a loss, whose scale depends on the data) improve
    only by more than ``RELATIVE_MIN_DELTA`` times the magnitude of the score they must beat."""

    name: str
    step: Callable[[int], Losses]
    modules: nn.Module
    budget: int
    updates_per_epoch: int
    score: Callable[[], ValidationResult] | None = None
    score_name: str = "validation mAP"
    relative: bool = False


@dataclass
class Schedule:
    """How every phase is validated: every ``eval_every`` updates; with ``model_selection``, stop
    after ``patience`` evaluations without an improvement of more than ``min_delta``."""

    eval_every: int
    patience: int
    model_selection: bool
    min_delta: float = 2e-3


@dataclass
class PhaseSummary:
    """What happened in one phase; ``selected_update`` and ``updates`` count from the run's start."""

    phase: str
    budget: int
    updates: int
    updates_per_epoch: int
    first_update: int
    score_name: str | None
    evaluations: int = 0
    best_score: float | None = None
    last_score: float | None = None
    selected_update: int | None = None
    converged: bool | None = None
    stopped_early: bool = False
    restored: bool = False
    validation_s: float = 0.0

    @property
    def epochs(self) -> float:
        return (self.updates - self.first_update) / self.updates_per_epoch

    @property
    def not_trained(self) -> bool:
        """The state kept is the phase's initial one although it trained (model selection kept update 0)."""
        return self.selected_update == self.first_update and self.updates > self.first_update

    def as_dict(self) -> dict:
        return asdict(self) | {"epochs": self.epochs}


class LossSums:
    """Loss sums of one interval kept on the device (no host synchronisation per update) and, per
    loss, the first update (counted from 1 in the run) at which it was non-finite."""

    def __init__(self) -> None:
        self.sums: Losses = {}
        self.counts: dict[str, int] = {}
        self.first_bad: Losses = {}

    def add(self, losses: Losses, update: int) -> None:
        for key, value in losses.items():
            value = value.detach().float()
            bad = torch.where(torch.isfinite(value), float("inf"), float(update))
            if key in self.sums:
                self.sums[key] = self.sums[key] + value
                self.first_bad[key] = torch.minimum(self.first_bad[key], bad)
                self.counts[key] += 1
            else:
                self.sums[key], self.first_bad[key], self.counts[key] = value, bad, 1

    def read(self) -> tuple[dict[str, float], dict[str, float]]:
        """(mean per loss, first non-finite update per loss or inf), in one device-to-host copy."""
        keys = list(self.sums)
        if not keys:
            return {}, {}
        packed = torch.stack([self.sums[k] / self.counts[k] for k in keys] + [self.first_bad[k] for k in keys])
        values = packed.cpu().tolist()
        return dict(zip(keys, values[: len(keys)], strict=True)), dict(zip(keys, values[len(keys) :], strict=True))


def budget(epochs: int, max_updates: int | None, updates_per_epoch: int) -> int:
    """A phase's budget in updates: ``max_updates`` when given, else ``epochs`` passes of
    ``updates_per_epoch`` (the published schedules count epochs)."""
    return int(max_updates) if max_updates is not None else int(epochs) * updates_per_epoch


def train(method: str, phases: list[Phase | Callable[[], Phase]], schedule: Schedule,
          history: list[dict]) -> list[PhaseSummary]:
    """Run ``phases`` in order under ``schedule``; append the curve records to ``history`` (one dict
    per interval: phase, update, epoch, mean losses, validation score and details) and return one
    summary per phase. A phase given as a callable is built when its turn comes (after the earlier
    phases, e.g. from networks they trained). Leaves every phase's modules in eval mode."""
    summaries: list[PhaseSummary] = []
    offset = 0
    for phase in phases:
        summary = _run_phase(method, phase if isinstance(phase, Phase) else phase(), schedule, history, offset)
        summaries.append(summary)
        offset = summary.updates
    return summaries


def _run_phase(method: str, phase: Phase, schedule: Schedule, history: list[dict], offset: int) -> PhaseSummary:
    summary = PhaseSummary(phase.name, phase.budget, offset, max(phase.updates_per_epoch, 1), offset,
                           phase.score_name if phase.score else None)
    best_state: dict[str, torch.Tensor] | None = None
    since_best = 0
    reference: float | None = None  # the score at the last improvement of more than min_delta
    phase.modules.train()

    def record(update: int, losses: dict[str, float]) -> bool:
        """Log one interval; True when early stopping ends the phase."""
        nonlocal best_state, since_best, reference
        entry = {"phase": phase.name, "update": offset + update,
                 "epoch": (offset + update - summary.first_update) / summary.updates_per_epoch, **losses}
        if phase.score is not None:
            started = time.perf_counter()
            phase.modules.eval()
            score, details = phase.score()
            phase.modules.train()
            summary.validation_s += time.perf_counter() - started
            summary.evaluations += 1
            entry |= {"val_score": score, **details}
            summary.last_score = score
            # patience counts from the last improvement of more than min_delta over the score then,
            # so a curve creeping up by less than min_delta per evaluation still counts as improving
            # once its gains add up; the state kept is simply the best one scored
            margin = 0.0 if reference is None else (
                RELATIVE_MIN_DELTA * abs(reference) if phase.relative else schedule.min_delta)
            if reference is None or score > reference + margin:
                reference, since_best = score, 0
            else:
                since_best += 1
            best = summary.best_score
            if best is None or score > best:
                summary.best_score, summary.selected_update = score, offset + update
                if schedule.model_selection:
                    best_state = {k: v.detach().clone() for k, v in phase.modules.state_dict().items()}
        history.append(entry)
        return schedule.model_selection and since_best >= schedule.patience

    stop = record(0, {}) if phase.score is not None else False
    sums = LossSums()
    update = 0
    while not stop and update < phase.budget:
        sums.add(phase.step(update), offset + update + 1)
        update += 1
        if update % schedule.eval_every == 0 or update == phase.budget:
            means, first_bad = sums.read()
            _raise_if_non_finite(method, phase.name, means, first_bad, summary.updates_per_epoch, offset)
            stop = record(update, means)
            sums = LossSums()
    summary.updates = offset + update
    summary.stopped_early = update < phase.budget
    if phase.score is not None:
        kept_initial = schedule.model_selection and summary.selected_update == offset and update > 0
        summary.converged = since_best >= schedule.patience and not kept_initial
        if best_state is not None and summary.selected_update != summary.updates:
            phase.modules.load_state_dict(best_state)
            summary.restored = True
        if not schedule.model_selection:
            summary.selected_update = summary.updates  # the last state is the one kept
    phase.modules.eval()
    return summary


def _raise_if_non_finite(method: str, phase: str, means: dict[str, float], first_bad: dict[str, float],
                         per_epoch: int, offset: int) -> None:
    bad = sorted((first_bad[k], i, k) for i, k in enumerate(means) if first_bad[k] != float("inf"))
    if not bad:
        return
    update, _, key = bad[0]
    also = [k for *_, k in bad[1:]]
    local = int(update) - offset  # counted from 1 within the phase
    raise NonFiniteError(
        f"{method}: non-finite loss in phase {phase} at update {local} (epoch {(local - 1) // per_epoch + 1}): "
        f"{key} became {means[key]}" + (f"; by the end of the interval also {', '.join(also)}" if also else "")
        + " (training diverged; try a lower lr)"
    )


def fit_phases(method, phases: list[Phase | Callable[[], Phase]], eval_every: int | None = None) -> None:
    """Train ``phases`` with the method's schedule hyper-parameters (``eval_every``, unless given
    here, ``patience``, ``model_selection``); sets the method's ``history_`` (the curve) and
    ``phases_`` (summaries)."""
    schedule = Schedule(eval_every or method.eval_every, method.patience, method.model_selection)
    method.history_ = []
    method.phases_ = train(method.name, phases, schedule, method.history_)


def validation_score(method) -> Callable[[], ValidationResult] | None:
    """The method's validation scorer for a ``Phase`` scored on retrieval mAP, or None without one."""
    return method._validate if method.validating else None


def adam(params, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with torch's fused kernel: one pass over all parameters instead of a dozen small ops per
    tensor (CM-GANs' update 1.5x faster on a 2-core CPU); the same algorithm, rounded differently."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)


def mean_losses(records: list[Losses]) -> Losses:
    """Per key, the mean of several optimiser steps' losses made in one update (e.g. CM-GANs' K
    generator steps), keys ordered by the step at which each first went non-finite (finite ones
    keep their order after those), so a divergence is blamed on the loss that started it."""
    keys = list(records[0])
    stacked = torch.stack([torch.stack([r[key] for r in records]) for key in keys])  # (keys, steps)
    steps = torch.arange(len(records), dtype=stacked.dtype, device=stacked.device)
    first_bad = torch.where(torch.isfinite(stacked), float("inf"), steps).amin(dim=1).tolist()
    order = sorted(range(len(keys)), key=lambda i: (first_bad[i], i))
    return {keys[i]: stacked[i].mean() for i in order}


def positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def training_facts(phases: list[PhaseSummary]) -> dict[str, float]:
    """A run's training as result rows: updates and epochs done, the update whose state was kept,
    the best validation mAP, ``converged`` (1 when every validated phase converged, 0 when one
    ran out of budget while improving or kept its initial state; absent without validation) and
    ``trained`` (0 when a phase kept its initial state)."""
    if not phases:
        return {}
    last = phases[-1]
    facts = {"updates": float(last.updates), "epochs": float(sum(p.epochs for p in phases))}
    if last.selected_update is not None:
        facts["selected_update"] = float(last.selected_update)
    if last.best_score is not None and last.score_name == "validation mAP":
        facts["best_validation_map"] = float(last.best_score)
        facts["last_validation_map"] = float(last.last_score)  # the kept state's, without model selection
    verdicts = [p.converged for p in phases if p.converged is not None]
    if verdicts:
        facts["converged"] = float(all(verdicts))
        facts["trained"] = float(not any(p.not_trained for p in phases))
    return facts


def not_trained_warnings(method: str, phases: list[PhaseSummary]) -> list[str]:
    """One line per phase that kept its initial state."""
    return [f"{method}: phase {p.phase} kept its initial state (update {p.first_update}): no validation score "
            f"beat the untrained network's in {p.updates - p.first_update} updates; the run is not trained, "
            "never converged" for p in phases if p.not_trained]
