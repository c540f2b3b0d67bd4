"""Total canonical correlation (``eval.correlation``) against independent computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.cross_decomposition import CCA as SklearnCCA

from xmbench.eval.correlation import canonical_correlations, correlation_rows, total_canonical_correlation


def planted_views(n: int, shared: int, extra: int, noise: float, seed: int = 0):
    """Two views sharing ``shared`` latent dimensions; each shared pair has correlation 1 / (1 + noise^2)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, shared))
    a = np.hstack([z + noise * rng.normal(size=z.shape), rng.normal(size=(n, extra))])
    b = np.hstack([z + noise * rng.normal(size=z.shape), rng.normal(size=(n, extra))])
    mix = rng.normal(size=(shared + extra, shared + extra))  # an invertible mixing: CCA does not care
    return a @ mix, b


def test_in_sample_correlations_match_scikit_learn():
    a, b = planted_views(2000, 3, 3, 0.7)
    ours = canonical_correlations(a, b)[:3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x_scores, y_scores = SklearnCCA(n_components=3, max_iter=5000, tol=1e-10).fit(a, b).transform(a, b)
    theirs = [np.corrcoef(x_scores[:, i], y_scores[:, i])[0, 1] for i in range(3)]
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_cross_fitted_total_recovers_the_planted_correlation():
    a, b = planted_views(20000, 8, 12, 0.5)
    total, k = total_canonical_correlation(a, b, k=50)
    assert k == 20  # capped by the width
    assert total == pytest.approx(8 * 0.8, abs=0.15)  # 8 shared pairs of correlation 0.8, the rest 0


def test_hand_cases_identical_views_and_independent_noise():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(1000, 5))
    total, k = total_canonical_correlation(a, a.copy())
    assert k == 5 and total == pytest.approx(5.0, abs=1e-3)
    noise, _ = total_canonical_correlation(rng.normal(size=(4000, 40)), rng.normal(size=(4000, 40)))
    assert abs(noise) < 1.0  # in-sample, the same draw sums to about 40 * sqrt(40 / 4000) = 4


def test_rows_per_space_and_headline_from_the_a_to_b_space():
    a, b = planted_views(600, 4, 2, 0.3)
    shared = correlation_rows({"a": a, "b": b})
    assert list(shared["space"]) == [""] and shared["task"].iloc[0] == "A<->B, k=6"
    per_space = correlation_rows({"a@a": a, "b@a": b, "a@b": a[:, :3], "b@b": b[:, :3]}, {"A->B": "B"})
    headline = per_space[per_space["space"] == ""].iloc[0]
    assert headline["value"] == per_space[per_space["space"] == "B"]["value"].iloc[0]
    assert headline["task"] == "A<->B, k=3"
