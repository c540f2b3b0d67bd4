"""CCA and KCCA against independent implementations, and the properties retrieval relies on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cross_decomposition import CCA as SklearnCCA
from sklearn.metrics import average_precision_score

from tests.conftest import planted_pairs
from xmbench.data.base import PairedSplit
from xmbench.methods.linear.cca import CCA
from xmbench.methods.linear.kcca import KCCA


def correlations(method, split: PairedSplit) -> np.ndarray:
    za, zb = method.embed("a", split.a), method.embed("b", split.b)
    return np.array([abs(np.corrcoef(za[:, k], zb[:, k])[0, 1]) for k in range(za.shape[1])])


def bimodal_map(method, split: PairedSplit) -> float:
    za, zb = method.embed("a", split.a), method.embed("b", split.b)
    za /= np.linalg.norm(za, axis=1, keepdims=True)
    zb /= np.linalg.norm(zb, axis=1, keepdims=True)
    scores = za @ zb.T
    return float(np.mean([average_precision_score(split.y_b == y, s) for y, s in zip(split.y_a, scores)]))


def test_cca_matches_scikit_learn_canonical_correlations(planted):
    train, _ = planted
    ours = CCA(n_components=3, shrinkage=0.0).fit(train)
    theirs = SklearnCCA(n_components=3, max_iter=5000, tol=1e-10).fit(train.a, train.b)
    ta, tb = theirs.transform(train.a, train.b)
    reference = [abs(np.corrcoef(ta[:, k], tb[:, k])[0, 1]) for k in range(3)]
    np.testing.assert_allclose(correlations(ours, train), reference, atol=1e-4)
    np.testing.assert_allclose(ours.correlations_, reference, atol=1e-4)


def test_cca_and_kcca_match_cca_zoo():
    linear = pytest.importorskip("cca_zoo.linear")
    nonparametric = pytest.importorskip("cca_zoo.nonparametric")
    train, _ = planted_pairs(80, 10, 6, 5, 3, 1.0, seed=3)
    ours = CCA(n_components=2, shrinkage=0.1).fit(train)
    theirs = linear.RidgeCCA(n_components=2, shrinkage=0.1).fit([train.a.astype(float), train.b.astype(float)])
    ta, tb = theirs.transform([train.a.astype(float), train.b.astype(float)])
    reference = [abs(np.corrcoef(ta[:, k], tb[:, k])[0, 1]) for k in range(2)]
    np.testing.assert_allclose(correlations(ours, train), reference, atol=1e-5)

    # Full-rank Nystroem features span the kernel feature space: KCCA is then exact.
    gamma = 0.05
    kernel_ours = KCCA(n_components=2, shrinkage=0.1, rank=len(train), gamma=gamma).fit(train)
    kernel_theirs = nonparametric.KCCA(n_components=2, kernel="rbf", gamma=gamma, shrinkage=0.1)
    kernel_theirs.fit([train.a.astype(float), train.b.astype(float)])
    ka, kb = kernel_theirs.transform([train.a.astype(float), train.b.astype(float)])
    kernel_reference = [abs(np.corrcoef(ka[:, k], kb[:, k])[0, 1]) for k in range(2)]
    np.testing.assert_allclose(correlations(kernel_ours, train), kernel_reference, atol=1e-4)


def test_kcca_with_linear_kernel_equals_cca(planted):
    train, test = planted
    linear = CCA(n_components=4, shrinkage=0.0).fit(train)
    kernel = KCCA(n_components=4, shrinkage=0.0, kernel="linear", rank=len(train)).fit(train)
    np.testing.assert_allclose(kernel.correlations_, linear.correlations_, atol=1e-6)
    np.testing.assert_allclose(correlations(kernel, test), correlations(linear, test), atol=1e-4)


def test_planted_signal_retrieves_and_shuffled_pairs_do_not(planted):
    train, test = planted
    assert bimodal_map(CCA(n_components=4).fit(train), test) > 0.95
    rng = np.random.default_rng(0)
    shuffled = PairedSplit(train.a, train.b[rng.permutation(len(train))], train.y_a, train.y_b)
    chance = np.mean([np.mean(test.y_b == y) for y in test.y_a])
    assert abs(bimodal_map(CCA(n_components=4).fit(shuffled), test) - chance) < 0.1


def test_kcca_records_its_rank_and_is_deterministic(planted):
    train, test = planted
    first = KCCA(rank=50, seed=4).fit(train)
    assert first.extra_results()["nystroem_rank_a"] == 50
    again = KCCA(rank=50, seed=4).fit(train)
    np.testing.assert_array_equal(first.embed("a", test.a), again.embed("a", test.a))
    other = KCCA(rank=50, seed=5).fit(train)
    assert not np.array_equal(first.embed("a", test.a), other.embed("a", test.a))
    assert KCCA(rank=10_000).fit(train).extra_results()["nystroem_rank_a"] == len(train)


def test_components_without_shared_signal_are_dropped():
    # B has 10 distinct rows (one per class, like the colour images): centred, they span 9 dimensions,
    # so the 10th canonical correlation is zero and its direction is noise
    rng = np.random.default_rng(0)
    y = np.arange(500) % 10
    a = (rng.normal(size=(10, 30))[y] + 0.5 * rng.normal(size=(500, 30))).astype(np.float32)
    b = rng.normal(size=(10, 12))[y].astype(np.float32)
    method = CCA(n_components=10).fit(PairedSplit(a, b, y, y))
    assert len(method.correlations_) == 9 and method.embed("a", a).shape == (500, 9)
    assert method.extra_results()["n_components"] == 9


def test_model_selection_keeps_the_number_of_components_with_the_best_validation_score(planted):
    from xmbench.methods.base import Validation

    train, test = planted
    seen = []

    def scorer(method) -> dict[str, float]:  # peaks at 3 components
        k = method.embed("a", test.a).shape[1]
        seen.append(k)
        return {"A->B": 1.0 - abs(k - 3) / 10, "B->A": 1.0}

    chosen = CCA(n_components=6, model_selection=True).fit(train, None, Validation(test, scorer))
    assert seen == [1, 2, 3, 4, 5, 6] and chosen.embed("b", test.b).shape[1] == 3
    assert chosen.extra_results()["best_validation_map"] == pytest.approx(1.0)
    fixed = CCA(n_components=6).fit(train, None, Validation(test, scorer))  # model selection off: all six
    assert fixed.embed("a", test.a).shape[1] == 6 and "best_validation_map" not in fixed.extra_results()
