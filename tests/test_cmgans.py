"""CM-GANs and its ablations: structure (weight sharing, discriminators), real/fake targets,
mismatched instances, switches, determinism, divergence and a learning check on planted clusters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

import xmbench.methods.gan.cmgans as cmgans_module
from xmbench.data.base import PairedSplit
from xmbench.errors import NonFiniteError, XmbenchError
from xmbench.methods.base import METHODS
from xmbench.methods.gan.cmgans import CMGANs
from xmbench.methods.gan.cmgans_nets import (
    MismatchSampler,
    generator_inter_inputs,
    inter_discriminator_terms,
)
from xmbench.seeding import torch_generator

D_A, D_B, N_CLASSES = 24, 16, 10
TINY = {"hidden": 32, "inter_hidden": 16, "batch_size": 32, "k_generator": 2, "epochs": 1}
ABLATIONS = {
    # name: (weight sharing, semantic, intra, inter)
    "cmgans": (True, True, True, True),
    "cmgans-inter-only": (True, True, False, True),
    "cmgans-cae": (True, True, False, False),
    "cmgans-no-ws-sc": (False, False, True, True),
    "cmgans-ws-only": (True, False, True, True),
    "cmgans-sc-only": (False, True, True, True),
}


def clusters(n: int, seed: int, noise: float = 1.0) -> PairedSplit:
    """10 Gaussian classes in two modalities of different dimension; pair i shares class y_i."""
    centres = np.random.default_rng(0)
    c_a, c_b = centres.normal(size=(N_CLASSES, D_A)), centres.normal(size=(N_CLASSES, D_B))
    rng = np.random.default_rng(seed)
    y = np.arange(n) % N_CLASSES
    a = (c_a[y] + noise * rng.normal(size=(n, D_A))).astype(np.float32)
    b = (c_b[y] + noise * rng.normal(size=(n, D_B))).astype(np.float32)
    return PairedSplit(a, b, y, y.copy())


TRAIN, TEST = clusters(400, seed=1), clusters(200, seed=2)


def fit(name: str = "cmgans", data: PairedSplit = TRAIN, **params) -> CMGANs:
    return METHODS.get(name)(**{**TINY, **params}).fit(data)


def bimodal_map(query: np.ndarray, y_query: np.ndarray, gallery: np.ndarray, y_gallery: np.ndarray) -> float:
    q = query / np.linalg.norm(query, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    scores = q @ g.T
    return float(np.mean([average_precision_score(y_gallery == y, row) for y, row in zip(y_query, scores)]))


# --------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("name", ABLATIONS)
def test_each_ablation_has_exactly_its_parts(name):
    weight_sharing, semantic, intra, inter = ABLATIONS[name]
    method = fit(name)
    gen, disc = method.generators_, method.discriminators_
    shared = gen.encoders["a"].linear.weight is gen.encoders["b"].linear.weight
    assert shared is weight_sharing
    assert (gen.encoders["a"].linear.bias is gen.encoders["b"].linear.bias) is weight_sharing
    assert gen.encoders["a"].first is not gen.encoders["b"].first  # first layers never shared
    assert gen.encoders["a"].norm is not gen.encoders["b"].norm  # BatchNorm per modality by default
    assert (len(gen.classifiers) == 2) is semantic
    assert set(disc.intra) == ({"a", "b"} if intra else set())
    assert set(disc.inter) == ({"a", "b"} if inter else set())
    if not (intra or inter):
        assert sum(p.numel() for p in disc.parameters()) == 0  # CAE: nothing adversarial to update
    record = method.history_[0]
    expected = {"phase", "update", "epoch", "g_loss", "g_reconstruction"}
    expected |= {"g_semantic"} if semantic else set()
    accuracies = {f"d_acc_{side}_{kind}_{m}" for side in ("real", "fake") for m in "ab" for kind in ("intra", "inter")
                  if (kind == "intra" and intra) or (kind == "inter" and inter)}
    expected |= {"g_intra", "d_intra_a", "d_intra_b"} if intra else set()
    expected |= {"g_inter", "d_inter_a", "d_inter_b"} if inter else set()
    expected |= {"d_loss"} if intra or inter else set()
    assert set(record) == expected | accuracies
    assert all(isinstance(v, float) for k, v in record.items() if k not in ("phase", "update", "epoch"))
    assert all(0.0 <= record[k] <= 1.0 for k in accuracies)  # fractions of a batch judged right


def test_shared_layer_counts_once_and_unshared_twice():
    shared, separate = fit("cmgans"), fit("cmgans-sc-only")
    n_shared = sum(p.numel() for p in shared.generators_.parameters())
    n_separate = sum(p.numel() for p in separate.generators_.parameters())
    assert n_separate - n_shared == 32 * 32 + 32  # one extra hidden x hidden Linear
    both = fit("cmgans", share_batchnorm=True).generators_.encoders
    assert both["a"].norm is both["b"].norm


@pytest.mark.parametrize("name", ["cmgans", "cmgans-sc-only"])
def test_a_loss_on_modality_b_reaches_modality_a_only_through_the_shared_layer(name):
    gen = fit(name).generators_.train()
    gen.zero_grad()
    gen.encoders["b"](torch.as_tensor(TRAIN.b[:16])).s.sum().backward()
    a_second = gen.encoders["a"].linear.weight.grad
    assert (a_second is not None and bool(a_second.abs().sum() > 0)) is ABLATIONS[name][0]
    assert all(p.grad is None for p in gen.encoders["a"].first.parameters())


def test_paper_widths_are_one_setting_away():
    assert CMGANs().hidden == 512 and CMGANs().inter_hidden == 512
    method = fit("cmgans", data=clusters(200, seed=3), hidden=1024)
    assert method.embed("a", TEST.a).shape == (len(TEST), 1024)


def test_classifier_shared_when_labels_agree_else_separate():
    auto = fit("cmgans")
    assert auto.classifier_shared_ and auto.generators_.classifiers["a"] is auto.generators_.classifiers["b"]
    y_b = TRAIN.y_b % 7  # e.g. colours: fewer classes, different meaning
    other = fit("cmgans", data=PairedSplit(TRAIN.a, TRAIN.b, TRAIN.y_a, y_b))
    heads = other.generators_.classifiers
    assert not other.classifier_shared_ and heads["a"] is not heads["b"]
    assert heads["a"].out_features == 10 and heads["b"].out_features == 7


# --------------------------------------------------------------------- real / fake assignments
def test_inter_discriminator_terms_follow_thesis_eq_5_6():
    s_own, h_own, s_other = torch.full((3, 2), 1.0), torch.full((3, 4), 2.0), torch.full((3, 2), 3.0)
    s_mis, h_mis = torch.full((3, 2), 4.0), torch.full((3, 4), 5.0)
    terms = inter_discriminator_terms(s_own, h_own, s_other, s_mis, h_mis)
    as_pairs = [(t.kind, t.inputs[0, 0].item(), t.inputs[0, -1].item(), t.target, t.weight) for t in terms]
    assert as_pairs == [
        ("real", 1.0, 2.0, 1.0, 1.0),  # (s_i^m, h_i^m) real
        ("other-modality", 3.0, 2.0, 0.0, 0.5),  # (s_i^other, h_i^m) fake, weight 1/2
        ("mismatched", 4.0, 5.0, 0.0, 0.5),  # (s_j^m, h_j^m) fake, weight 1/2
    ]
    assert all(t.inputs.shape == (3, 6) for t in terms)
    anchor = inter_discriminator_terms(s_own, h_own, s_other, s_mis, h_mis, mismatch_pairing="anchor")
    assert anchor[2].inputs[0, 0].item() == 4.0 and anchor[2].inputs[0, -1].item() == 2.0  # (s_j^m, h_i^m)


def test_generator_wants_other_modality_judged_real_by_each_pathway():
    s = {"a": torch.full((2, 3), 1.0), "b": torch.full((2, 3), 2.0)}
    h = {"a": torch.full((2, 5), 10.0), "b": torch.full((2, 4), 20.0)}
    inputs = generator_inter_inputs(s, h)
    # Eq. 7: D_b^inter(s^a, h^b); Eq. 8: D_a^inter(s^b, h^a)
    assert torch.equal(inputs["b"], torch.cat([s["a"], h["b"]], dim=1))
    assert torch.equal(inputs["a"], torch.cat([s["b"], h["a"]], dim=1))


def test_mismatch_sampler_draws_other_classes_uniformly_and_reproducibly():
    labels = torch.tensor([0] * 5 + [1] * 2 + [2] * 13 + [4] * 1)  # uneven, class 3 absent
    sampler = MismatchSampler(labels, "a")
    anchors = labels[torch.randint(len(labels), (20_000,), generator=torch_generator(1))]
    drawn = sampler(anchors, torch_generator(7))
    assert (labels[drawn] != anchors).all()
    for c in (0, 1, 2, 4):  # every item of another class is reachable, about uniformly
        counts = torch.bincount(drawn[anchors == c], minlength=len(labels))
        others = labels != c
        assert (counts[others] > 0).all() and (counts[~others] == 0).all()
        assert counts[others].float().std() / counts[others].float().mean() < 0.25
    assert torch.equal(drawn, sampler(anchors, torch_generator(7)))
    with pytest.raises(XmbenchError, match="at least 2 classes"):
        MismatchSampler(torch.zeros(6, dtype=torch.long), "b")


def test_training_feeds_mismatched_instances_of_another_class(monkeypatch):
    calls = []
    original = cmgans_module.inter_discriminator_terms

    def spy(s_own, h_own, s_other, s_mis, h_mis, pairing):
        calls.append((h_own.clone(), h_mis.clone()))
        return original(s_own, h_own, s_other, s_mis, h_mis, pairing)

    monkeypatch.setattr(cmgans_module, "inter_discriminator_terms", spy)
    fit("cmgans")
    assert len(calls) == 2 * (len(TRAIN) // TINY["batch_size"])  # two pathways per discriminator step (one epoch)
    rows = {m: {tuple(x): y for x, y in zip(TRAIN.x(m), TRAIN.y(m))} for m in "ab"}
    for call, (h_own, h_mis) in enumerate(calls):
        m = "ab"[call % 2]
        y_own = [rows[m][tuple(x)] for x in h_own.numpy()]
        y_mis = [rows[m][tuple(x)] for x in h_mis.numpy()]
        assert all(a != b for a, b in zip(y_own, y_mis))


# ------------------------------------------------------------------- determinism and outputs
def test_same_seed_same_model_other_seed_differs():
    first, second, other = fit(seed=5), fit(seed=5), fit(seed=6)
    np.testing.assert_array_equal(first.embed("a", TEST.a), second.embed("a", TEST.a))
    np.testing.assert_array_equal(first.embed("b", TEST.b), second.embed("b", TEST.b))
    assert first.history_ == second.history_
    assert not np.allclose(first.embed("a", TEST.a), other.embed("a", TEST.a))


def test_fit_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_translate_shapes_and_history_length():
    method = fit(epochs=3, eval_every=12)  # 400 pairs in batches of 32: 12 updates per epoch
    assert method.translate("a", TEST.a).shape == TEST.b.shape
    assert method.translate("b", TEST.b).shape == TEST.a.shape
    assert [(r["update"], r["epoch"]) for r in method.history_] == [(12, 1), (24, 2), (36, 3)]
    assert method.training_log() == method.history_
    assert fit(max_updates=5, epochs=3).training_summary()[0].updates == 5  # an update budget wins over epochs


def test_switches_change_the_loss_and_bad_settings_are_clear():
    record = fit(reconstruction_weight=0.0).history_[0]
    assert "g_reconstruction" not in record
    assert "g_semantic" not in fit(semantic=False).history_[0]
    with pytest.raises(XmbenchError, match="no loss is enabled"):
        fit(intra=False, inter=False, semantic=False, reconstruction_weight=0.0)
    with pytest.raises(XmbenchError, match="classifier must be one of auto, shared, separate"):
        fit(classifier="both")
    with pytest.raises(XmbenchError, match="mismatch_pairing must be one of own, anchor"):
        fit(mismatch_pairing="other")
    one_class = PairedSplit(TRAIN.a, TRAIN.b, TRAIN.y_a, np.zeros_like(TRAIN.y_b))
    with pytest.raises(XmbenchError, match="^cmgans-ws-only: modality b needs at least 2 classes"):
        fit("cmgans-ws-only", data=one_class)
    anchored = fit(mismatch_pairing="anchor")  # the matching-aware reading trains too
    assert np.isfinite(anchored.history_[0]["d_inter_a"])


# ----------------------------------------------------------------------------------- divergence
def test_nan_loss_raises_with_method_epoch_and_loss(monkeypatch):
    def poisoned(r, h):
        return ((r - h) ** 2).mean() * float("nan")

    monkeypatch.setattr(torch.nn.functional, "mse_loss", poisoned)
    with pytest.raises(NonFiniteError) as error:
        fit(k_generator=3)
    # the first update's discriminator step is finite, its generator steps are not
    message = str(error.value)
    assert message.startswith("cmgans: non-finite loss in phase train at update 1 (epoch 1): "
                              "g_reconstruction became nan")
    assert "; by the end of the interval also g_loss, " in message and "\n" not in message


def test_absurd_learning_rate_diverges_to_non_finite_error():
    with pytest.raises(NonFiniteError, match=r"^cmgans: non-finite loss in phase train at update \d+ "):
        fit(lr=1e30, epochs=5)


# ----------------------------------------------------------------------------------- learning
def test_full_model_learns_a_common_space_far_above_chance():
    train, test = clusters(600, seed=1), clusters(300, seed=2)
    method = fit(data=train, hidden=64, inter_hidden=32, epochs=10, lr=1e-3)
    za, zb = method.embed("a", test.a), method.embed("b", test.b)
    assert (np.abs(za).max(axis=1) > 0).all() and (np.abs(zb).max(axis=1) > 0).all()  # post-ReLU s
    chance = 1 / N_CLASSES
    assert bimodal_map(za, test.y_a, zb, test.y_b) > 0.8 > 5 * chance
    assert bimodal_map(zb, test.y_b, za, test.y_a) > 0.8


def test_discriminator_accuracy_by_hand():
    from xmbench.methods.gan.adversarial import discriminator_accuracy

    acc = discriminator_accuracy("x", torch.tensor([1.0, -1.0, 2.0, 0.0]), torch.tensor([-3.0, -1.0, 2.0]))
    # real judged real when logit > 0 (a logit of 0 is undecided: wrong): 2 of 4; fake when < 0: 2 of 3
    assert acc["d_acc_real_x"].item() == 0.5 and acc["d_acc_fake_x"].item() == pytest.approx(2 / 3)



@pytest.mark.parametrize("pairing", ["own", "anchor"])
def test_inter_discriminator_separates_fakes_when_the_generators_are_frozen(monkeypatch, pairing):
    """The adversarial machinery works: with the generators' Adam at lr 0 (weights frozen at their
    seeded init) the inter-modality discriminators alone learn, and on fresh test pairs they reject
    the other modality's common representation. With the printed equations (``own``) the mismatched
    fake (s_j, h_j) is itself a real pair of another class, so no discriminator can reject it: that
    half of its fakes stays at chance by construction (measured .46/.43); ``anchor`` rejects it."""
    made = []

    def frozen_generators_adam(params, lr, betas=(0.9, 0.999)):
        made.append(lr)
        return torch.optim.Adam(params, lr=0.0 if len(made) == 1 else lr, betas=betas)  # the first is G's

    monkeypatch.setattr(cmgans_module, "adam", frozen_generators_adam)
    method = fit(epochs=40, eval_every=480, lr=1e-2, mismatch_pairing=pairing)
    generator = torch_generator(0)
    X = {m: torch.as_tensor(TEST.x(m)) for m in "ab"}
    Y = {m: torch.as_tensor(TEST.y(m)) for m in "ab"}
    method.generators_.train()  # batch statistics, as the discriminator saw them in training
    with torch.no_grad():
        s = {m: method.generators_.encoders[m](X[m]).s for m in "ab"}
        for m, other in (("a", "b"), ("b", "a")):
            wrong = MismatchSampler(Y[m], m)(Y[m], generator)
            s_wrong = method.generators_.encoders[m](X[m][wrong]).s
            terms = inter_discriminator_terms(s[m], X[m], s[other], s_wrong, X[m][wrong], pairing)
            accuracy = {t.kind: float(((method.discriminators_.inter[m](t.inputs).squeeze(1) > 0) == (t.target == 1.0))
                                      .float().mean()) for t in terms}
            assert accuracy["other-modality"] > 0.7, (m, accuracy)  # measured .81-.88 (chance .5)
            if pairing == "anchor":
                assert accuracy["mismatched"] > 0.7, (m, accuracy)  # measured .77-.80
            else:
                assert accuracy["mismatched"] < 0.6, (m, accuracy)
    assert made == [1e-2, 1e-2]
