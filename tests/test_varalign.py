"""varalign: the divergences against closed forms, the alignment term and its switch, translation
through the single-modal decoder, unpaired rows, determinism, and learning on planted clusters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm
from sklearn.linear_model import LogisticRegression
from torch import nn

from tests.conftest import planted_pairs
from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import NonFiniteError, XmbenchError
from xmbench.eval.protocol import retrieval_scores, embed_split
from xmbench.methods.base import METHODS
from xmbench.methods.vae import varalign
from xmbench.methods.vae.varalign import VariationalAlignment, gaussian_kl, gaussian_w2

TINY = {"hidden": (64, 32), "aligner_hidden": (32,), "latent_dim": 8, "batch_size": 64,
        "vae_epochs": 3, "align_epochs": 3, "eval_every": 9}  # 600 pairs: 9 batches of 64 per epoch
_ALL, TEST = planted_pairs(900, 200, 20, 12, 5, 0.5, seed=1)
TRAIN = PairedSplit(_ALL.a[:600], _ALL.b[:600], _ALL.y_a[:600], _ALL.y_b[:600])
EXTRA_A = _ALL.a[600:]  # more rows of modality a, their pairing withheld


def fit(data: PairedSplit = TRAIN, unpaired: UnpairedFeatures | None = None, **params) -> VariationalAlignment:
    return VariationalAlignment(**{**TINY, **params}).fit(data, unpaired)


def state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def same_state(x: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> bool:
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def trained() -> VariationalAlignment:
    return fit(vae_epochs=30, align_epochs=30)


# ----------------------------------------------------------------------------- divergences
def test_divergences_match_hand_computed_one_dimensional_cases():
    def t(*values):
        return torch.tensor([values], dtype=torch.float64).T  # one row per value, one latent dim

    # N(0, 1) vs N(1, 4): KL = (log 4 + (1 + 1) / 4 - 1) / 2; W2 = sqrt(1^2 + (1 - 2)^2)
    mu_q, logvar_q, mu_p, logvar_p = t(0.0), t(0.0), t(1.0), t(np.log(4.0))
    assert gaussian_kl(mu_q, logvar_q, mu_p, logvar_p).item() == pytest.approx(0.5 * (np.log(4) + 0.5 - 1))
    assert gaussian_w2(mu_q, logvar_q, mu_p, logvar_p).item() == pytest.approx(np.sqrt(2))
    # KL is asymmetric, W2 is not; both vanish (W2 to its 1e-6 floor) at equal distributions
    assert gaussian_kl(mu_p, logvar_p, mu_q, logvar_q).item() == pytest.approx(0.5 * (-np.log(4) + 4 + 1 - 1))
    assert gaussian_w2(mu_p, logvar_p, mu_q, logvar_q).item() == pytest.approx(np.sqrt(2))
    assert gaussian_kl(mu_p, logvar_p, mu_p, logvar_p).item() == 0
    assert gaussian_w2(mu_p, logvar_p, mu_p, logvar_p).item() == pytest.approx(1e-6)


def test_divergences_agree_with_independent_references_on_diagonal_gaussians():
    gen = torch.Generator().manual_seed(0)
    mu_q, logvar_q, mu_p, logvar_p = (torch.randn(6, 4, generator=gen, dtype=torch.float64) for _ in range(4))
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_q, (0.5 * logvar_q).exp()), torch.distributions.Normal(mu_p, (0.5 * logvar_p).exp())
    ).sum(dim=1)
    torch.testing.assert_close(gaussian_kl(mu_q, logvar_q, mu_p, logvar_p), reference)
    w2 = gaussian_w2(mu_q, logvar_q, mu_p, logvar_p).numpy()
    for i in range(6):  # the general Gaussian formula with full (here diagonal) covariance matrices
        s_q, s_p = np.diag(logvar_q[i].exp().numpy()), np.diag(logvar_p[i].exp().numpy())
        root_p = sqrtm(s_p)
        squared = ((mu_q[i] - mu_p[i]) ** 2).sum().item() + np.trace(s_q + s_p - 2 * sqrtm(root_p @ s_q @ root_p)).real
        assert w2[i] == pytest.approx(np.sqrt(squared))


# ------------------------------------------------------------------------ alignment term
@pytest.mark.parametrize("alignment", ["kl", "wasserstein"])
def test_the_alignment_term_measures_the_chosen_divergence_and_training_reduces_it(alignment, monkeypatch):
    calls = dict.fromkeys(varalign.DIVERGENCES, 0)
    for kind, function in list(varalign.DIVERGENCES.items()):
        def counted(*args, kind=kind, function=function):
            calls[kind] += 1
            return function(*args)
        monkeypatch.setitem(varalign.DIVERGENCES, kind, counted)
    method = fit(alignment=alignment, align_epochs=6)
    other = "kl" if alignment == "wasserstein" else "wasserstein"
    assert calls[alignment] > 0 and calls[other] == 0  # phase 2 evaluates only the chosen one
    phase2 = method.history_[3:]
    assert set(phase2[0]) == {"phase", "update", "epoch"} | {f"phase2_{w}_{d}" for w in ("recon", alignment, "loss")
                                                             for d in ("a_to_b", "b_to_a")}
    for direction in ("a_to_b", "b_to_a"):
        curve = [r[f"phase2_{alignment}_{direction}"] for r in phase2]
        # measured over seeds 0-3: the last epoch's divergence is 0.25-0.71 of the first
        assert curve[-1] < 0.85 * curve[0]
        record = phase2[-1]  # loss = lambda_recon * recon + lambda_align * divergence, both 1
        assert record[f"phase2_loss_{direction}"] == pytest.approx(
            record[f"phase2_recon_{direction}"] + record[f"phase2_{alignment}_{direction}"], rel=1e-5)


@pytest.mark.parametrize("alignment", ["kl", "wasserstein"])
def test_aligning_brings_the_distributions_closer_than_reconstruction_alone(alignment):
    aligned = fit(alignment=alignment, lambda_recon=0.0, align_epochs=6)
    unaligned = fit(alignment=alignment, lambda_align=0.0, align_epochs=6)
    for source, target in (("a", "b"), ("b", "a")):
        measured = [m.alignment_divergence(source, TRAIN.x(source), TRAIN.x(target)) for m in (aligned, unaligned)]
        # measured over seeds 0-3: aligned / unaligned 0.37-0.85
        assert measured[0] < 0.95 * measured[1]


def test_switching_the_divergence_changes_only_the_aligners():
    kl, w2 = fit(alignment="kl"), fit(alignment="wasserstein")
    assert same_state(state(kl.single_), state(w2.single_)) and same_state(state(kl.multi_), state(w2.multi_))
    assert not same_state(state(kl.aligners_), state(w2.aligners_))
    assert not np.array_equal(kl.translate("a", TEST.a), w2.translate("a", TEST.a))
    assert "phase2_kl_a_to_b" in kl.history_[-1] and "phase2_wasserstein_a_to_b" in w2.history_[-1]
    assert kl.alignment_divergence("a", TEST.a, TEST.b) == kl.alignment_divergence("a", TEST.a, TEST.b, "kl")


def test_unknown_divergence_names_the_valid_ones():
    with pytest.raises(XmbenchError, match=r"alignment must be one of kl, wasserstein, got 'cosine'"):
        fit(alignment="cosine")


# ------------------------------------------------------------------ phases and decoders
def test_phase_two_trains_the_aligners_through_frozen_vaes(monkeypatch):
    seen = {}
    original = VariationalAlignment._align_phase

    def spy(self, pairs, per_epoch):
        seen["single"], seen["multi"] = state(self.single_), state(self.multi_)
        return original(self, pairs, per_epoch)

    monkeypatch.setattr(VariationalAlignment, "_align_phase", spy)
    method = fit()
    assert same_state(state(method.single_), seen["single"]) and same_state(state(method.multi_), seen["multi"])
    assert not any(p.requires_grad for p in [*method.single_.parameters(), *method.multi_.parameters()])


def test_translation_decodes_the_aligned_latent_with_the_single_modal_decoder():
    method = fit(latent_dim=5)

    class Constant(nn.Module):
        def forward(self, z):
            return torch.full((len(z), 12), 0.5)

    class Forbidden(nn.Module):
        def forward(self, z):
            raise AssertionError("translate used the multi-modal decoder")

    before = method.translate("a", TEST.a)
    decoder = method.single_["b"].decoder
    expected = method._from_model("b", decoder(torch.as_tensor(method.embed_in("b", "a", TEST.a))).detach())
    np.testing.assert_allclose(before, expected, rtol=1e-6, atol=1e-6)
    method.multi_["a->b"].decoder = Forbidden()
    np.testing.assert_array_equal(method.translate("a", TEST.a), before)
    method.single_["b"].decoder = Constant()
    np.testing.assert_allclose(method.translate("a", TEST.a), np.broadcast_to(method._from_model(
        "b", torch.full((1, 12), 0.5)), TEST.b.shape), rtol=1e-6)
    assert method.translate("b", TEST.b).shape == TEST.a.shape  # the mirror pair is untouched
    for modality, X in (("a", TEST.a), ("b", TEST.b)):
        parts = [method.embed_in(space, modality, X) for space in ("a", "b")]
        assert all(p.shape == (len(X), 5) for p in parts)
        np.testing.assert_array_equal(method.embed(modality, X), np.hstack(parts))


def test_unpaired_rows_train_only_their_single_modal_vae():
    budget = {"vae_updates": 12, "align_updates": 12}  # the same updates for every network
    plain = fit(**budget)
    semi = fit(unpaired=UnpairedFeatures(a=EXTRA_A, b=np.empty((0, 12), np.float32)), **budget)
    assert not same_state(state(plain.single_["a"]), state(semi.single_["a"]))
    assert same_state(state(plain.single_["b"]), state(semi.single_["b"]))  # own data, own generator
    np.testing.assert_allclose(semi.mean_["a"], np.concatenate([TRAIN.a, EXTRA_A]).astype(np.float64).mean(0), rtol=1e-10)


# ------------------------------------------------------------------------------ seeds, RNG
def test_same_seed_same_model_other_seed_differs_and_global_rng_untouched():
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    first, second, other = fit(seed=3), fit(seed=3), fit(seed=4)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    assert first.history_ == second.history_
    for call, args in (("embed_in", ("b", "a", TEST.a)), ("translate", ("a", TEST.a)), ("reconstruct", ("b", TEST.b))):
        np.testing.assert_array_equal(getattr(first, call)(*args), getattr(second, call)(*args))
        assert not np.array_equal(getattr(first, call)(*args), getattr(other, call)(*args))


# -------------------------------------------------------------------------------- learning
def test_retrieval_in_each_task_space_is_far_above_chance(trained):
    table = retrieval_scores(embed_split(trained, TEST), TEST, [str(c) for c in range(5)])
    overall = table[(table["class"] == "all") & (table["space"] == "")].set_index("task")["value"]
    # 5 balanced classes: chance ~0.2; measured seeds 0-3: A->B 0.94-0.98, B->A+B 0.95-0.99, others 1.00
    assert (overall > 0.75).all() and len(overall) == 4


def test_translations_and_reconstructions_are_recognised_by_a_classifier_on_real_features(trained):
    for target, source in (("b", "a"), ("a", "b")):
        clf = LogisticRegression(max_iter=2000).fit(TRAIN.x(target), TRAIN.y(target))
        # chance 0.2; measured seeds 0-3: translations 0.87-1.00, reconstructions 0.895-1.00
        assert clf.score(trained.translate(source, TEST.x(source)), TEST.y(target)) > 0.75
        assert clf.score(trained.reconstruct(target, TEST.x(target)), TEST.y(target)) > 0.75


def test_shuffled_pairs_leave_translation_at_chance():
    rng = np.random.default_rng(0)
    shuffled = PairedSplit(TRAIN.a, TRAIN.b[rng.permutation(len(TRAIN))], TRAIN.y_a, TRAIN.y_a)
    method = fit(shuffled, vae_epochs=20, align_epochs=20)
    clf = LogisticRegression(max_iter=2000).fit(TRAIN.b, TRAIN.y_b)
    assert clf.score(method.translate("a", TEST.a), TEST.y_b) < 0.45  # measured 0.225 for seeds 0-3


# ---------------------------------------------------------------------- errors, registration
def test_bad_hyper_parameters_are_listed_in_one_message():
    with pytest.raises(XmbenchError) as error:
        fit(latent_dim=0, hidden=(64, -1), lambda_align=-1, beta=float("nan"), lr=0, alignment="w2")
    message = str(error.value)
    assert "\n" not in message and message.startswith("varalign: ")
    for part in ("latent_dim must be", "hidden must be", "lambda_align must be", "beta must be", "lr must",
                 "alignment must be one of"):
        assert part in message


def test_absurd_learning_rate_names_phase_one_and_the_epoch():
    with pytest.raises(NonFiniteError, match=r"^varalign: non-finite loss in phase vaes at update \d+ \(epoch 1\): phase1_"):
        fit(lr=1e6)


def test_a_diverging_aligner_names_phase_two_and_its_direction(monkeypatch):
    original = VariationalAlignment._align_phase

    def poison(self, pairs, per_epoch):
        phase = original(self, pairs, per_epoch)
        with torch.no_grad():
            self.aligners_["b->a"].net[-1].bias.fill_(float("nan"))
        return phase

    monkeypatch.setattr(VariationalAlignment, "_align_phase", poison)
    with pytest.raises(NonFiniteError, match=r"phase aligners at update 1 \(epoch 1\): phase2_recon_b_to_a became nan"):
        fit()


def test_registered_with_its_capabilities():
    cls = METHODS.get("varalign")
    assert cls is VariationalAlignment
    assert cls.can_translate and cls.can_reconstruct and cls.uses_unpaired and not cls.shared_space
    assert (cls().alignment, cls().latent_dim, cls().beta) == ("kl", 64, 1.0)
    assert cls.from_profile("smoke").vae_updates == 20 and cls.from_profile("smoke").model_selection
    assert cls.from_profile("paper").vae_epochs == 100 and not cls.from_profile("paper").model_selection
