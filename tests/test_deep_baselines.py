"""The deep baselines of issue 34 (dccae, corr-ae, contrastive, contrastive-sup, dscmr, acmr): their
losses against hand computations, gradient reversal, planted signal found, no signal where there is
none, and the supervised ones never reading a test label."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from xmbench import api
from xmbench.data.base import PairedSplit
from xmbench.methods import METHODS
from xmbench.methods.deep.acmr import ACMR, adversary_coefficient, hard_negatives, reverse_gradient
from xmbench.methods.deep.contrastive import info_nce
from xmbench.methods.deep.dscmr import pairwise_nll
from xmbench.testing import planted_pairs

NEW = ("dccae", "corr-ae", "contrastive", "contrastive-sup", "dscmr", "acmr")
SUPERVISED = ("contrastive-sup", "dscmr", "acmr")
SMALL = {"dccae": {"hidden": (64,), "out_dim": 8, "batch_size": 200}, "corr-ae": {"hidden": (64,), "out_dim": 8},
         "contrastive": {"hidden": (64,), "out_dim": 8}, "contrastive-sup": {"hidden": (64,), "out_dim": 8},
         "dscmr": {"hidden": (64,), "out_dim": 32, "lr": 1e-3}, "acmr": {"hidden": (64,), "out_dim": 16, "lr": 1e-3}}


def _map(queries: np.ndarray, gallery: np.ndarray, yq: np.ndarray, yg: np.ndarray) -> float:
    """Cross-modal mAP with cosine ranking, each query's relevant items those of its class (scikit-learn's AP)."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    return float(np.mean([average_precision_score(yg == y, s) for y, s in zip(yq, q @ g.T, strict=True)]))


def test_info_nce_equals_a_hand_computation():
    za = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    zb = torch.tensor([[0.8, 0.6], [0.0, 1.0], [1.0, 0.0]])
    scale = torch.tensor(2.0)
    sims = [[sum(x * y for x, y in zip(a, b, strict=True)) for b in zb.tolist()] for a in za.tolist()]

    def ce(rows: list[list[float]]) -> float:  # mean over rows of -log softmax at the diagonal
        return sum(math.log(sum(math.exp(2 * s) for s in row)) - 2 * row[i] for i, row in enumerate(rows)) / len(rows)

    columns = [list(col) for col in zip(*sims, strict=True)]
    assert info_nce(za, zb, scale).item() == pytest.approx((ce(sims) + ce(columns)) / 2, rel=1e-6)
    # supervised: rows 0 and 2 of a share a class with rows 0 and 2 of b
    positives = torch.tensor([[True, False, True], [False, True, False], [True, False, True]])

    def sup(rows: list[list[float]], pos: list[list[bool]]) -> float:
        total = 0.0
        for row, p in zip(rows, pos, strict=True):
            log_z = math.log(sum(math.exp(2 * s) for s in row))
            total += sum(log_z - 2 * s for s, keep in zip(row, p, strict=True) if keep) / sum(p)
        return total / len(rows)

    pos = positives.tolist()
    expected = (sup(sims, pos) + sup(columns, [list(c) for c in zip(*pos, strict=True)])) / 2
    assert info_nce(za, zb, scale, positives).item() == pytest.approx(expected, rel=1e-6)


def test_the_logit_scale_starts_at_one_over_007_and_never_passes_100():
    method = METHODS.get("contrastive")(max_updates=1)
    method.fit(planted_pairs(100, 0, 6, 4, 3, 0.5, seed=0)[0])
    scale = method.nets_["logit_scale"]
    assert math.exp(scale.log_scale.item()) == pytest.approx(1 / 0.07, rel=1e-2)  # one Adam step of 1e-3 away
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    assert scale().item() == pytest.approx(100.0)
    assert method.extra_results()["negatives_per_query"] == 99  # 100 pairs, batch 256: the batch is all of them


def test_dscmr_pairwise_term_equals_a_hand_computation():
    u = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    v = torch.tensor([[0.0, 2.0], [-1.0, 0.0]])
    same = torch.tensor([[True, False], [False, True]])
    cos = [[0.8, -0.6], [0.0, -1.0]]
    expected = sum(math.log(1 + math.exp(c / 2)) - (c / 2 if s else 0.0)
                   for row, srow in zip(cos, same.tolist(), strict=True) for c, s in zip(row, srow, strict=True)) / 4
    assert pairwise_nll(u, v, same).item() == pytest.approx(expected, rel=1e-6)


def test_gradient_reversal_flips_the_gradient_and_scales_it():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    weights = torch.tensor([0.5, 1.0, -2.0])
    (reverse_gradient(x, 0.3) * weights).sum().backward()
    torch.testing.assert_close(x.grad, -0.3 * weights)
    assert adversary_coefficient(0.0) == 0.0 and adversary_coefficient(1.0) == pytest.approx(0.99991, abs=1e-5)


def test_acmr_projectors_get_the_reversed_gradient_of_the_modality_classifier():
    """The modality classifier descends its loss; the projectors receive minus its gradient (times the
    coefficient): with the embedding terms off, a projector's gradient is the negative of the
    gradient it gets when the reversal is replaced by the identity."""
    train, _ = planted_pairs(64, 0, 6, 4, 3, 0.5, seed=1)
    method = ACMR(hidden=(8,), out_dim=8, label_weight=0.0, margin=0.0, positive_weight=0.0, max_updates=1)
    method.fit(train)
    method.nets_.requires_grad_(True).train()
    batch = {"a": method._to_model("a", train.a), "b": method._to_model("b", train.b),
             "y_a": torch.as_tensor(train.y_a), "y_b": torch.as_tensor(train.y_b)}
    method.budget_ = 2  # progress 1/2 at update 1: coefficient 2/(1+e^-5)-1

    def grads(reversal) -> tuple[torch.Tensor, torch.Tensor]:
        method.nets_.zero_grad()
        import xmbench.methods.deep.acmr as acmr
        original, acmr.reverse_gradient = acmr.reverse_gradient, reversal
        try:
            method._losses(batch, 1)["modality"].backward()
        finally:
            acmr.reverse_gradient = original
        return method.nets_["a"][0][0].weight.grad.clone(), method.nets_["modality"][0].weight.grad.clone()

    reversed_projector, classifier = grads(reverse_gradient)
    plain_projector, plain_classifier = grads(lambda x, c: x)
    coefficient = adversary_coefficient(0.5)
    torch.testing.assert_close(reversed_projector, -coefficient * plain_projector)
    torch.testing.assert_close(classifier, plain_classifier)  # the classifier itself is not reversed


def test_hard_negatives_take_the_most_similar_input_of_another_label():
    x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.7, 0.7]])
    labels = torch.tensor([0, 0, 1, 1])
    negatives, has = hard_negatives(x, labels)
    assert negatives.tolist() == [3, 3, 1, 1] and has.all()
    _, has = hard_negatives(x, torch.zeros(4, dtype=torch.long))
    assert not has.any()  # one label in the batch: no negative, the row is left out of the triplet term


@pytest.mark.parametrize("name", NEW)
def test_each_finds_a_planted_shared_signal(name):
    train, test = planted_pairs(800, 300, 20, 12, 5, 0.5, seed=3)
    method = METHODS.get(name)(max_updates=300, seed=0, **SMALL[name]).fit(train)
    za, zb = method.embed("a", test.a), method.embed("b", test.b)
    score = _map(za, zb, test.y_a, test.y_b)
    if name == "contrastive":
        # InfoNCE without labels tells pairs apart, not classes: the planted latent's within-class noise is
        # shared by both modalities, so it spreads each class (class mAP .64, falling as it trains longer)
        # while most queries find their own partner first among 300 (chance 1/300)
        partner_first = np.mean(np.argmax(za @ zb.T, axis=1) == np.arange(len(za)))
        assert partner_first > 0.4 and score > 0.5, (partner_first, score)
        return
    assert score > 0.8, f"{name}: A->B mAP {score:.3f} on a planted class signal (chance about .2)"


@pytest.mark.parametrize("name", NEW)
def test_each_finds_nothing_where_the_modalities_share_nothing(name):
    """Independent modalities and labels: whatever a method fits on train (the supervised ones fit the
    training labels) must leave test retrieval at chance, about .2 for 5 classes."""
    rng = np.random.default_rng(7)

    def split(n: int) -> PairedSplit:
        return PairedSplit(rng.standard_normal((n, 20)).astype(np.float32), rng.standard_normal((n, 12)).astype(np.float32),
                           rng.integers(0, 5, n), rng.integers(0, 5, n))

    train, test = split(800), split(300)
    method = METHODS.get(name)(max_updates=300, seed=0, **SMALL[name]).fit(train)
    score = _map(method.embed("a", test.a), method.embed("b", test.b), test.y_a, test.y_a)
    assert score < 0.3, f"{name}: A->B mAP {score:.3f} with no shared signal"


@pytest.mark.parametrize("name", SUPERVISED)
def test_supervised_methods_never_read_a_test_label(name, tmp_path, feature_cache):
    """Through the harness: the same data with the test labels' values scrambled gives the same
    embeddings, bit for bit (labels of the training pairs, which they do read, are unchanged)."""
    from xmbench.datasets import from_arrays

    train, test = planted_pairs(300, 120, 10, 8, 4, 0.5, seed=2)
    rng = np.random.default_rng(0)
    a, b = np.concatenate([train.a, test.a]), np.concatenate([train.b, test.b])
    split = ["train"] * len(train) + ["test"] * len(test)
    embeddings = []
    for labels in (test.y_a, rng.permutation(test.y_a)):
        y = np.concatenate([train.y_a, labels])
        out = tmp_path / f"run{len(embeddings)}"
        dataset = from_arrays(a, b, y, split=split, name="scrambled")
        report = api.run_benchmark(api.RunConfig(dataset=dataset, methods=(name,), out=out, cache_dir=feature_cache),
                                   log=lambda line: None)
        assert not report.failed, report.failed
        [saved] = list(out.glob("runs/*/embeddings.npz"))
        embeddings.append(dict(np.load(saved)))
    assert embeddings[0].keys() == embeddings[1].keys()
    codes = [key for key in embeddings[0] if not key.startswith("y")]  # the file also stores the (scrambled) labels
    assert codes and not np.array_equal(embeddings[0]["y_a"], embeddings[1]["y_a"])
    for key in codes:
        np.testing.assert_array_equal(embeddings[0][key], embeddings[1][key], err_msg=key)


def test_small_training_sets_are_validated_at_least_every_five_epochs():
    from xmbench.methods.base import Validation
    from xmbench.methods.deep.paired_towers import MAX_EPOCHS_BETWEEN_VALIDATIONS

    train, held = planted_pairs(300, 60, 6, 4, 3, 0.5, seed=0)
    validation = Validation(held, lambda method: {"A->B": 0.5, "B->A": 0.5})
    method = METHODS.get("corr-ae")(batch_size=100, max_updates=60, eval_every=100, model_selection=False)
    method.fit(train, validation=validation)
    validated = sorted({entry["update"] for entry in method.history_ if "val_score" in entry})
    assert MAX_EPOCHS_BETWEEN_VALIDATIONS == 5 and method.eval_every_ == 15  # 3 batches per epoch
    assert validated == [0, 15, 30, 45, 60]
    big = METHODS.get("corr-ae")(batch_size=10, max_updates=1, eval_every=100).fit(train)
    assert big.eval_every_ == 100  # 30 batches per epoch: eval_every is sooner


@pytest.mark.parametrize(("variant", "decoders"), [
    ("corr", {"decoder_a_a", "decoder_b_b"}), ("cross", {"decoder_a_b", "decoder_b_a"}),
    ("full", {"decoder_a_a", "decoder_a_b", "decoder_b_a", "decoder_b_b"})])
def test_corr_ae_variants_reconstruct_what_their_names_say(variant, decoders):
    """Corr-AE: each code rebuilds its own modality; Corr-Cross-AE: the other one; Corr-Full-AE: both. The
    loss is alpha times the reconstructions plus (1 - alpha) times the code distance, checked on one batch."""
    train, _ = planted_pairs(64, 0, 6, 4, 3, 0.5, seed=0)
    method = METHODS.get("corr-ae")(variant=variant, alpha=0.3, hidden=(8,), out_dim=4, max_updates=1).fit(train)
    assert {name for name in method.nets_ if name.startswith("decoder_")} == decoders
    batch = {m: method._to_model(m, train.x(m)) for m in "ab"}
    with torch.no_grad():
        terms = method._losses(batch, 0)
    recon = sum(value for key, value in terms.items() if key.startswith("recon_"))
    assert len([key for key in terms if key.startswith("recon_")]) == len(decoders)
    torch.testing.assert_close(terms["loss"], 0.3 * recon + 0.7 * terms["distance"])
