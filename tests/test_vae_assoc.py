"""vae-assoc: the two training phases, associator direction, unpaired rows in phase 1 only,
standardisation, determinism, divergence, and learning checks on planted clusters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from tests.conftest import planted_pairs
from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import NonFiniteError, XmbenchError
from xmbench.eval.retrieval import Task, evaluate_retrieval
from xmbench.methods.base import METHODS
from xmbench.methods.vae import vae_assoc
from xmbench.methods.vae.vae_assoc import VAEAssociator

TINY = {"hidden": (64, 32), "associator_hidden": (32,), "latent_dim": 8, "batch_size": 64,
        "intra_epochs": 3, "cross_epochs": 3}
_ALL, TEST = planted_pairs(900, 200, 20, 12, 5, 0.5, seed=1)
TRAIN = PairedSplit(_ALL.a[:600], _ALL.b[:600], _ALL.y_a[:600], _ALL.y_b[:600])
EXTRA_A = _ALL.a[600:]  # more rows of modality a, their pairing withheld


def fit(data: PairedSplit = TRAIN, unpaired: UnpairedFeatures | None = None, **params) -> VAEAssociator:
    return VAEAssociator(**{**TINY, **params}).fit(data, unpaired)


def state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def same_state(x: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> bool:
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def cosine_map(method: VAEAssociator, task: Task, test: PairedSplit = TEST) -> float:
    """mAP of one bi-modal task, both sides embedded in the task's latent space."""
    space = task.space
    emb_a, emb_b = method.embed_in(space, "a", test.a), method.embed_in(space, "b", test.b)
    table = evaluate_retrieval(emb_a, test.y_a, emb_b, test.y_b, [str(c) for c in range(5)], tasks=[task])
    return float(table.loc[table["class"] == "all", "value"].item())


@pytest.fixture(scope="module")
def trained() -> VAEAssociator:
    return fit(intra_epochs=30, cross_epochs=30)


# ----------------------------------------------------------------------------- two phases
def test_phase_two_trains_the_associators_through_frozen_vaes(monkeypatch):
    seen = {}
    original = VAEAssociator._cross_phase

    def spy(self, X, per_epoch):
        seen["vaes"], seen["associators"] = state(self.vaes_), state(self.associators_)
        return original(self, X, per_epoch)

    with monkeypatch.context() as patch:  # build the networks only, to see what phase 1 changes
        patch.setattr(vae_assoc, "fit_phases", lambda method, phases: None)
        initial = fit()
    monkeypatch.setattr(VAEAssociator, "_cross_phase", spy)
    method = fit()
    assert not same_state(state(initial.vaes_), seen["vaes"])  # phase 1 trained the VAEs
    assert same_state(state(initial.associators_), seen["associators"])  # ... and nothing else
    assert same_state(state(method.vaes_), seen["vaes"])  # phase 2 left them bit-identical
    for direction in ("a->b", "b->a"):
        before = {k: v for k, v in seen["associators"].items() if k.startswith(direction)}
        after = {k: v for k, v in state(method.associators_).items() if k.startswith(direction)}
        assert before and not same_state(before, after)
    assert not any(p.requires_grad for p in method.vaes_.parameters())
    assert not method.vaes_.training


def test_history_counts_updates_across_both_phases_and_epochs_within_each():
    history = fit(intra_epochs=3, cross_epochs=2, eval_every=9).history_  # 600 rows, batches of 64: 9 per epoch
    assert [(r["phase"], r["update"], r["epoch"]) for r in history] == [
        ("vaes", 9, 1), ("vaes", 18, 2), ("vaes", 27, 3), ("associators", 36, 1), ("associators", 45, 2)]
    phase1 = {f"phase1_{w}_{m}" for w in ("recon", "kl", "loss") for m in ("a", "b")}
    phase2 = {f"phase2_{w}_{m}" for w in ("recon", "kl", "loss") for m in ("a_to_b", "b_to_a")}
    ids = {"phase", "update", "epoch"}
    assert all(set(r) == ids | phase1 for r in history[:3])
    assert all(set(r) == ids | phase2 for r in history[3:])
    values = [v for r in history for k, v in r.items() if k not in ids]
    assert all(isinstance(v, float) and np.isfinite(v) for v in values)
    # loss = recon + 2 * lambda * KL with the default lambda 0.5
    assert history[0]["phase1_loss_a"] == pytest.approx(history[0]["phase1_recon_a"] + history[0]["phase1_kl_a"])


# ------------------------------------------------------------------------------- direction
def test_each_embedding_space_uses_the_associator_of_its_direction():
    method = fit(latent_dim_b=5)  # "ours-flex": the widths tell the spaces apart

    class Constant(nn.Module):
        def forward(self, z):
            return torch.full((len(z), 5), 0.7), torch.zeros(len(z), 5)

    before_b_in_a = method.embed_in("a", "b", TEST.b)
    method.associators_["a->b"] = Constant()
    np.testing.assert_allclose(method.embed_in("b", "a", TEST.a), 0.7)
    np.testing.assert_array_equal(method.embed_in("a", "b", TEST.b), before_b_in_a)  # b->a untouched
    translated = method.translate("a", TEST.a)
    assert translated.shape == TEST.b.shape
    np.testing.assert_allclose(translated, np.broadcast_to(translated[:1], translated.shape))  # one code
    assert method.embed_in("a", "a", TEST.a).shape[1] == 8 and method.embed_in("b", "b", TEST.b).shape[1] == 5
    for modality, X in (("a", TEST.a), ("b", TEST.b)):
        parts = [method.embed_in(space, modality, X) for space in ("a", "b")]
        np.testing.assert_array_equal(method.embed(modality, X), np.hstack(parts))


def test_translation_recovers_a_known_function_of_the_other_modality():
    def b_of(a):
        return (3 * np.tanh(a[:, :8] / 4) + 10).astype(np.float32)

    train, test = (PairedSplit(s.a, b_of(s.a), s.y_a, s.y_b) for s in (TRAIN, TEST))
    method = fit(train, intra_epochs=30, cross_epochs=30)

    def r2(pred, true):
        return 1 - ((pred - true) ** 2).sum() / ((true - true.mean(0)) ** 2).sum()

    a_to_b, b_to_a = method.translate("a", test.a), method.translate("b", test.b)
    assert a_to_b.shape == test.b.shape and b_to_a.shape == test.a.shape
    shuffled = np.random.default_rng(0).permutation(len(test))
    # measured over seeds 0-3: r2 a->b 0.88-0.90, b->a 0.92-0.93; against shuffled partners -0.6
    assert r2(a_to_b, test.b) > 0.7 and r2(b_to_a, test.a) > 0.7
    assert r2(a_to_b, test.b[shuffled]) < 0.1


# -------------------------------------------------------------------------------- unpaired
def test_unpaired_rows_train_their_modality_vae_only_and_never_phase_two(monkeypatch):
    streams = []
    original = vae_assoc.BatchStream

    class Spy(original):
        def next(self):
            batch = super().next()
            assert int(batch.max()) < self.n
            self.calls = getattr(self, "calls", 0) + 1
            return batch

    def spy(n, batch_size, generator):
        streams.append(Spy(n, batch_size, generator))
        return streams[-1]

    monkeypatch.setattr(vae_assoc, "BatchStream", spy)
    plain = fit(intra_epochs=1, cross_epochs=1)
    # phase 1 a, b; phase 2 a->b, b->a: one pass of 64-row batches (the last partial one dropped)
    assert [(s.n, s.calls) for s in streams] == [(600, 9)] * 4
    streams.clear()
    extra_a = UnpairedFeatures(a=EXTRA_A, b=np.empty((0, 12), np.float32))
    semi = fit(unpaired=extra_a, intra_epochs=1, cross_epochs=1)
    # phase 1: a's VAE draws from 900 rows, b's from 600; an epoch is a pass over the 900 (14 batches),
    # and phase 2 draws from the 600 pairs only, making as many updates as a phase-1 epoch
    assert [(s.n, s.calls) for s in streams] == [(900, 14), (600, 14), (600, 14), (600, 14)]
    # with a budget in updates, b's VAE is bit-identical: own data, own generator, same updates
    plain, semi = fit(intra_updates=12, cross_updates=12), fit(unpaired=extra_a, intra_updates=12, cross_updates=12)
    assert not same_state(state(plain.vaes_["a"]), state(semi.vaes_["a"]))
    assert same_state(state(plain.vaes_["b"]), state(semi.vaes_["b"]))
    np.testing.assert_allclose(semi.mean_["a"], np.concatenate([TRAIN.a, EXTRA_A]).astype(np.float64).mean(0), rtol=1e-10)
    empty = UnpairedFeatures(a=np.empty((0, 20), np.float32), b=np.empty((0, 12), np.float32))
    same = fit(unpaired=empty, intra_updates=12, cross_updates=12)
    np.testing.assert_array_equal(same.embed("a", TEST.a), plain.embed("a", TEST.a))


# ------------------------------------------------------------------------ standardisation
@pytest.mark.parametrize("scaling", ["feature", "modality"])
def test_outputs_are_in_the_original_feature_space(scaling):
    a = np.hstack([TRAIN.a * 50 + 1000, np.full((len(TRAIN), 1), 7.0, np.float32)])  # + a constant feature
    test_a = np.hstack([TEST.a * 50 + 1000, np.full((len(TEST), 1), 7.0, np.float32)])
    method = fit(PairedSplit(a, TRAIN.b, TRAIN.y_a, TRAIN.y_b), intra_epochs=30, cross_epochs=30, scaling=scaling)
    if scaling == "feature":
        assert method.std_["a"][-1] == 1.0
        constant_atol = 0.5  # measured within 0.03
    else:  # one scale: the root mean of the variances, the constant feature's included
        np.testing.assert_allclose(method.std_["a"], np.sqrt(a.astype(np.float64).var(0).mean()), rtol=1e-12)
        constant_atol = 0.25 * method.std_["a"][-1]  # measured within .04 of the modality's scale over 3 seeds
    for out in (method.reconstruct("a", test_a), method.translate("b", TEST.b)):
        # measured over 3 seeds (feature scaling): per-feature mean offsets <= 0.11 std; relative error
        # 0.18-0.21 (reconstruct), 0.28-0.33 (translate), where predicting the centre gives 1.0
        shift = np.abs(out.mean(0) - test_a.mean(0))[:-1] / test_a[:, :-1].std(0)
        assert shift.max() < 0.25
        np.testing.assert_allclose(out[:, -1], 7.0, atol=constant_atol)
        err = np.linalg.norm(out - test_a) / np.linalg.norm(test_a - test_a.mean(0))
        assert err < 0.6


# ------------------------------------------------------------------------------ seeds, RNG
def test_same_seed_same_model_other_seed_differs_and_global_rng_untouched():
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first, second, other = fit(seed=3), fit(seed=3), fit(seed=4)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    assert first.history_ == second.history_
    for call in ("embed_in", "translate"):
        args = ("b", "a", TEST.a) if call == "embed_in" else ("a", TEST.a)
        np.testing.assert_array_equal(getattr(first, call)(*args), getattr(second, call)(*args))
        assert not np.array_equal(getattr(first, call)(*args), getattr(other, call)(*args))


# -------------------------------------------------------------------------------- learning
def test_retrieval_in_each_task_space_is_far_above_chance(trained):
    # 5 balanced classes: chance mAP ~0.2; measured over seeds 0-3: A->B 0.99-1.00, B->A 0.91-0.99
    assert cosine_map(trained, Task.A_TO_B) > 0.75
    assert cosine_map(trained, Task.B_TO_A) > 0.75


def test_translations_and_reconstructions_are_recognised_by_a_classifier_on_real_features(trained):
    for target, source in (("b", "a"), ("a", "b")):
        clf = LogisticRegression(max_iter=2000).fit(TRAIN.x(target), TRAIN.y(target))
        # chance 0.2; measured over seeds 0-3: translations 0.87-1.00, reconstructions 0.875-1.00
        assert clf.score(trained.translate(source, TEST.x(source)), TEST.y(target)) > 0.75
        assert clf.score(trained.reconstruct(target, TEST.x(target)), TEST.y(target)) > 0.75


def test_shuffled_pairs_leave_translation_at_chance():
    rng = np.random.default_rng(0)
    shuffled = PairedSplit(TRAIN.a, TRAIN.b[rng.permutation(len(TRAIN))], TRAIN.y_a, TRAIN.y_a)
    method = fit(shuffled, intra_epochs=30, cross_epochs=30)
    clf = LogisticRegression(max_iter=2000).fit(TRAIN.b, TRAIN.y_b)
    assert clf.score(method.translate("a", TEST.a), TEST.y_b) < 0.45  # measured 0.225 for seeds 0-3


# ---------------------------------------------------------------------- errors, registration
def test_bad_hyper_parameters_are_listed_in_one_message():
    with pytest.raises(XmbenchError) as error:
        fit(latent_dim=0, latent_dim_b=2.5, hidden=(64, -1), lambda_crs=-1, lr=0)
    message = str(error.value)
    assert "\n" not in message and message.startswith("vae-assoc: ")
    for part in ("latent_dim must be", "latent_dim_b must be", "hidden must be", "lambda_crs must be", "lr must"):
        assert part in message


def test_absurd_learning_rate_names_phase_one_and_the_epoch():
    with pytest.raises(NonFiniteError, match=r"^vae-assoc: non-finite loss in phase vaes at update \d+ \(epoch 1\): phase1_"):
        fit(lr=1e6)


def test_a_diverging_associator_names_phase_two_and_its_direction(monkeypatch):
    original = VAEAssociator._cross_phase

    def poison(self, X, per_epoch):
        phase = original(self, X, per_epoch)
        with torch.no_grad():
            self.associators_["b->a"].net[-1].bias.fill_(float("nan"))
        return phase

    monkeypatch.setattr(VAEAssociator, "_cross_phase", poison)
    with pytest.raises(NonFiniteError, match=r"phase associators at update 1 \(epoch 1\): phase2_recon_b_to_a became nan"):
        fit()


def test_registered_with_its_capabilities():
    cls = METHODS.get("vae-assoc")
    assert cls is VAEAssociator
    assert cls.can_translate and cls.can_reconstruct and cls.uses_unpaired and not cls.shared_space
    assert (cls().hidden, cls().latent_dim, cls().lambda_int, cls().lambda_crs) == ((512, 256), 64, 0.5, 0.5)
    assert cls.from_profile("smoke").intra_updates == 20 and cls.from_profile("smoke").model_selection
    assert cls.from_profile("paper").intra_epochs == 100 and not cls.from_profile("paper").model_selection
