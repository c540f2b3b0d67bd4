"""The one training loop (``xmbench.methods.training``): batches, budgets, validation, keeping and
restoring the best state, early stopping, convergence, and the non-finite stop. Toy phases make
the expected updates exact; the methods' own use of the loop is checked at the end."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import planted_pairs
from xmbench.errors import NonFiniteError
from xmbench.methods import METHODS
from xmbench.methods.base import Validation
from xmbench.methods.training import BatchStream, Phase, Schedule, not_trained_warnings, train, training_facts
from xmbench.options import Profile
from xmbench.seeding import torch_generator


class Counter(nn.Module):
    """A 'network' whose one weight counts the updates made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))


def counting_phase(budget: int, score=None, name: str = "train", loss=lambda u: 1.0, relative=False):
    net = Counter()

    def step(update: int) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            net.w += 1
        return {"loss": torch.tensor(loss(update))}

    return net, Phase(name, step, net, budget, 10, None if score is None else (lambda: (score(float(net.w.detach())), {})),
                      relative=relative)


def peaked(at: float):
    """A validation score rising to its peak at ``at`` updates, then falling."""
    return lambda w: -abs(w - at)


# ------------------------------------------------------------------------------------- batches
def test_batch_stream_passes_are_permutations_of_equal_batches_and_seeded():
    stream = BatchStream(10, 3, torch_generator(4))
    batches = [stream.next() for _ in range(6)]  # two passes of 3 batches (one row left out per pass)
    assert all(len(b) == 3 for b in batches)
    for first in (0, 3):
        rows = torch.cat(batches[first : first + 3])
        assert len(set(rows.tolist())) == 9
    again = BatchStream(10, 3, torch_generator(4))
    assert all(torch.equal(b, again.next()) for b in batches)
    assert BatchStream(5, 128, torch_generator(0)).next().numel() == 5  # a batch never exceeds the rows


# ---------------------------------------------------------------------------------- selection
def test_best_state_is_kept_and_restored_after_early_stopping():
    net, phase = counting_phase(1000, score=peaked(30))
    history: list[dict] = []
    (summary,) = train("toy", [phase], Schedule(eval_every=5, patience=3, model_selection=True), history)
    assert float(net.w.detach()) == 30  # the weights of the peak, not of the last update
    assert summary.selected_update == 30 and summary.best_score == 0
    assert summary.updates == 45 and summary.stopped_early  # 35, 40, 45 brought no improvement
    assert summary.converged and summary.restored
    assert [r["update"] for r in history] == list(range(0, 50, 5))  # update 0 is evaluated too
    assert history[0]["val_score"] == -30 and "loss" not in history[0]
    assert history[1]["loss"] == 1.0 and history[1]["epoch"] == 0.5  # 10 updates per epoch


def test_without_model_selection_the_whole_budget_runs_and_the_last_state_stays():
    net, phase = counting_phase(100, score=peaked(30))
    (summary,) = train("toy", [phase], Schedule(eval_every=5, patience=3, model_selection=False), [])
    assert float(net.w.detach()) == 100 and summary.updates == 100 and not summary.stopped_early
    assert summary.best_score == 0 and summary.selected_update == 100 and not summary.restored
    assert summary.converged  # the curve had flattened: its best came long before the end


def test_budget_running_out_while_improving_is_not_converged():
    net, phase = counting_phase(40, score=peaked(1000))
    (summary,) = train("toy", [phase], Schedule(eval_every=5, patience=3, model_selection=True), [])
    assert summary.updates == 40 and summary.selected_update == 40 and not summary.converged
    assert float(net.w.detach()) == 40
    assert training_facts([summary]) == {"updates": 40.0, "epochs": 4.0, "selected_update": 40.0,
                                         "best_validation_map": -960.0, "last_validation_map": -960.0,
                                         "converged": 0.0, "trained": 1.0}


def test_a_run_that_keeps_its_initial_state_is_not_trained_and_never_converged():
    # every update makes the validation score worse: early stopping ends the phase with the flat
    # curve a converged run has, but the state kept is update 0's
    net, phase = counting_phase(1000, score=lambda w: -w)
    (summary,) = train("toy", [phase], Schedule(eval_every=5, patience=3, model_selection=True), [])
    assert summary.selected_update == 0 and float(net.w.detach()) == 0 and summary.stopped_early
    assert summary.not_trained and not summary.converged
    facts = training_facts([summary])
    assert facts["trained"] == 0.0 and facts["converged"] == 0.0
    (line,) = not_trained_warnings("toy", [summary])
    assert "kept its initial state (update 0)" in line and "not trained" in line
    # the second phase of a two-phase method counts from where the first stopped
    _, first = counting_phase(20, score=lambda w: w, name="vae")
    _, second = counting_phase(1000, score=lambda w: -w, name="link")
    summaries = train("toy", [first, second], Schedule(eval_every=5, patience=3, model_selection=True), [])
    assert [s.not_trained for s in summaries] == [False, True] and summaries[1].selected_update == 20
    assert training_facts(summaries)["trained"] == 0.0
    # without model selection the last state is kept: the run trained
    _, flat = counting_phase(30, score=lambda w: -w)
    (kept_last,) = train("toy", [flat], Schedule(eval_every=5, patience=3, model_selection=False), [])
    assert not kept_last.not_trained and training_facts([kept_last])["trained"] == 1.0


def test_improvements_below_min_delta_do_not_extend_training():
    # creeps up by 1e-4 per evaluation: never more than min_delta (2e-3) over the best
    net, phase = counting_phase(1000, score=lambda w: 1e-5 * w)
    (summary,) = train("toy", [phase], Schedule(eval_every=10, patience=4, model_selection=True), [])
    assert summary.updates == 40 and summary.converged
    assert summary.selected_update == 40  # the highest score is still the one kept


def test_relative_min_delta_scales_with_a_loss_score():
    # a loss falling by 0.1% per evaluation around 1000: below 0.2% relative, above 2e-3 absolute
    scores = lambda w: -(1000 - 0.1 * w)  # noqa: E731
    _, absolute = counting_phase(200, score=scores)
    _, relative = counting_phase(200, score=scores, relative=True)
    schedule = Schedule(eval_every=10, patience=3, model_selection=True)
    assert train("toy", [absolute], schedule, [])[0].updates == 200
    assert train("toy", [relative], schedule, [])[0].updates == 30


def test_phases_run_in_order_count_updates_across_them_and_are_built_lazily():
    first_net, first = counting_phase(20, name="first")
    built_after = []

    def second() -> Phase:
        built_after.append(float(first_net.w.detach()))
        return counting_phase(30, score=peaked(10), name="second")[1]

    history: list[dict] = []
    one, two = train("toy", [first, second], Schedule(eval_every=10, patience=2, model_selection=True), history)
    assert built_after == [20.0]
    assert (one.updates, one.converged, one.score_name) == (20, None, None)
    assert (two.first_update, two.updates, two.selected_update) == (20, 50, 30)
    assert [(r["phase"], r["update"]) for r in history] == [
        ("first", 10), ("first", 20), ("second", 20), ("second", 30), ("second", 40), ("second", 50)]
    assert training_facts([one, two])["converged"] == 1.0  # the unvalidated phase has no verdict


# --------------------------------------------------------------------------------- divergence
def test_non_finite_loss_stops_naming_phase_update_and_loss():
    _, phase = counting_phase(100, name="vaes", loss=lambda u: float("nan") if u >= 6 else 1.0)
    with pytest.raises(NonFiniteError) as error:
        train("toy", [phase], Schedule(eval_every=50, patience=3, model_selection=True), [])
    message = str(error.value)
    assert message.startswith("toy: non-finite loss in phase vaes at update 7 (epoch 1): loss became nan")
    assert "\n" not in message


# ----------------------------------------------------------------------- the methods' use of it
TRAIN, VAL = planted_pairs(300, 60, 20, 12, 5, 0.5, seed=7)
# one method per implementation (the CM-GANs ablations share cmgans' code): every trained one on features
TRAINED = [name for name in METHODS.names() if METHODS.get(name).input_kind == "features"
           and "eval_every" in METHODS.get(name)().get_params()
           and not any(METHODS.get(name) is not METHODS.get(other) and issubclass(METHODS.get(name), METHODS.get(other))
                       for other in METHODS.names())]


class PeakingScorer:
    """A validation scorer whose score peaks at its ``peak``-th call; remembers each call's embeddings."""

    def __init__(self, peak: int) -> None:
        self.peak, self.calls, self.embeddings = peak, 0, []

    def __call__(self, method) -> dict[str, float]:
        self.calls += 1
        self.embeddings.append(method.embed_in("b", "a", VAL.a))
        return {"A->B": -abs(self.calls - self.peak)}


@pytest.mark.parametrize("name", TRAINED)
def test_each_trained_method_ends_at_the_weights_of_its_best_validation_score(name):
    params = {"eval_every": 2, "patience": 2, "model_selection": True}
    method = METHODS.get(name).from_profile(Profile.SMOKE, **params)
    scorer = PeakingScorer(peak=3)
    method.fit(TRAIN, None, Validation(VAL, scorer))
    last = method.training_summary()[-1]
    assert last.restored and last.converged and last.stopped_early
    np.testing.assert_array_equal(method.embed_in("b", "a", VAL.a), scorer.embeddings[2])
    assert not np.array_equal(scorer.embeddings[-1], scorer.embeddings[2])  # it did move on after the peak


@pytest.mark.parametrize("name", TRAINED)
def test_validation_does_not_change_the_training_trajectory(name):
    """Scoring the state (eval mode, embeddings) draws no randomness and moves no weights."""
    params = {"eval_every": 4, "patience": 100, "model_selection": False}
    plain = METHODS.get(name).from_profile(Profile.SMOKE, **params).fit(TRAIN)
    scored = METHODS.get(name).from_profile(Profile.SMOKE, **params).fit(TRAIN, None, Validation(VAL, PeakingScorer(2)))
    np.testing.assert_array_equal(plain.embed_in("a", "b", VAL.b), scored.embed_in("a", "b", VAL.b))


@pytest.mark.parametrize("name", TRAINED)
def test_same_seed_same_selection_same_numbers(name):
    """Model selection with the harness's real scorer is as deterministic as training itself."""
    from xmbench.eval.protocol import validation_scorer

    def fit(seed: int):
        method = METHODS.get(name).from_profile(Profile.SMOKE, seed=seed, eval_every=4, patience=2)
        return method.fit(TRAIN, None, Validation(VAL, validation_scorer(VAL, [str(c) for c in range(5)])))

    first, second = fit(3), fit(3)
    assert first.history_ == second.history_ and any("val_map" in r for r in first.history_)
    untimed = [[replace(p, validation_s=0.0) for p in m.training_summary()] for m in (first, second)]
    assert untimed[0] == untimed[1]
    np.testing.assert_array_equal(first.embed_in("a", "b", VAL.b), second.embed_in("a", "b", VAL.b))


def test_gains_below_min_delta_that_add_up_keep_training_going():
    # +1e-3 per evaluation: never 2e-3 in one step, but 2e-3 (plus a hair) over three of them
    net, phase = counting_phase(100, score=lambda w: 1e-4 * w * 1.05)
    (summary,) = train("toy", [phase], Schedule(eval_every=10, patience=3, model_selection=True), [])
    assert summary.updates == 100 and not summary.converged and not summary.stopped_early
