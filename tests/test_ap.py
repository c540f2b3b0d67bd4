"""Tie-aware AP: agreement with scikit-learn (no ties), brute force (ties), and hand arithmetic."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from xmbench.errors import XmbenchError
from xmbench.eval.ap import average_precision


def plain_ap(relevant_in_rank_order: np.ndarray) -> Fraction:
    """AP of one fixed ranking, exactly: mean over relevant items of hits-so-far / rank."""
    hits, total = 0, Fraction(0)
    for rank, is_relevant in enumerate(relevant_in_rank_order, start=1):
        if is_relevant:
            hits += 1
            total += Fraction(hits, rank)
    return total / hits


def brute_force_ap(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Mean plain AP over every distinct ordering of the tied items (each tie group permuted)."""
    levels = sorted(set(scores.tolist()), reverse=True)
    groups = [list(np.flatnonzero(scores == level)) for level in levels]
    aps = [
        plain_ap(relevant[[i for group in ordering for i in group]])
        for ordering in itertools.product(*(itertools.permutations(g) for g in groups))
    ]
    return float(sum(aps) / len(aps))


def three_paths(scores: np.ndarray) -> list[np.ndarray]:
    """Order- and tie-preserving variants of small-integer scores, one per kernel path: float32
    with last mantissa bit 0 (uint32 keys), float32 with it set (uint64 words), float64 not
    representable in float32 (lexsort)."""
    even = (np.asarray(scores, dtype=np.float64) / 4 - 1).astype(np.float32)
    assert not (even.view(np.uint32) & 1).any()
    odd = (even.view(np.uint32) | np.uint32(1)).view(np.float32)  # strictly monotone on even bits
    wide = np.asarray(scores, dtype=np.float64) / 3 + 1 / 7
    assert not np.array_equal(wide.astype(np.float32), wide)
    return [even, odd, wide]


def untied_scores(rng: np.random.Generator, q: int, n: int, dtype: type) -> np.ndarray:
    """Negative, pairwise distinct scores per row (distinctness checked, not assumed)."""
    ranks = rng.permuted(np.tile(np.arange(n), (q, 1)), axis=1)
    scores = (-1.0 - 0.37 * ranks - 0.3 * rng.random((q, n))).astype(dtype)
    assert all(len(np.unique(row)) == n for row in scores)
    return scores


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("seed", "q", "n", "rate"), [(0, 40, 50, 0.05), (1, 30, 500, 0.5), (2, 25, 2000, 0.95)])
def test_matches_sklearn_without_ties(seed: int, q: int, n: int, rate: float, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    scores = untied_scores(rng, q, n, dtype)
    relevant = rng.random((q, n)) < rate
    relevant[:, rng.integers(n)] = True  # at least one relevant item per query
    relevant[0] = False
    relevant[0, -1] = True  # a query with a single relevant item
    ours = average_precision(scores, relevant, chunk_size=7)
    reference = [average_precision_score(relevant[i], scores[i]) for i in range(q)]
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("scores", "relevant"),
    [
        ([1, 1, 1, 1, 1], [1, 0, 1, 0, 0]),  # all tied
        ([2, 2, 2, 2, 2, 2], [1, 1, 1, 1, 1, 1]),  # all tied, all relevant (AP 1)
        ([5, 5, 5, 4, 3, 2], [0, 1, 0, 1, 0, 1]),  # tie at the top
        ([5, 4, 3, 1, 1, 1], [1, 0, 0, 1, 0, 1]),  # tie at the bottom
        ([3, 2, 2, 2, 1, 1], [0, 1, 0, 1, 1, 0]),  # two tie groups, mixed relevance
        ([-1, -1, -2, -2, -3, -3], [1, 0, 0, 1, 1, 0]),  # negative ties
        ([0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 1]),  # one relevant item inside a tie
    ],
)
def test_ties_match_brute_force(scores: list, relevant: list) -> None:
    scores, relevant = np.array(scores, dtype=np.float64), np.array(relevant, dtype=bool)
    expected = brute_force_ap(scores, relevant)
    for variant in three_paths(scores):
        assert average_precision(variant[None], relevant[None])[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_random_small_ties_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    scores = rng.integers(-2, 2, (2, n)).astype(np.float64)  # few levels -> many ties
    relevant = rng.random((2, n)) < 0.5
    relevant[:, rng.integers(n)] = True
    expected = [brute_force_ap(scores[i], relevant[i]) for i in range(2)]
    for variant in three_paths(scores):
        np.testing.assert_allclose(average_precision(variant, relevant), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("c", "n", "r", "rb"), [(0, 1, 1, 0), (3, 2, 1, 1), (17, 30, 7, 5), (40, 25, 25, 0), (5, 60, 1, 5)])
def test_large_tie_group_matches_the_explicit_expectation(c: int, n: int, r: int, rb: int) -> None:
    # Tie group at ranks c+1..c+n with r relevant items; its j-th slot is relevant with
    # probability r/n and then expects rb + 1 + (j-1)(r-1)/(n-1) hits up to rank c+j.
    # The first rb items above it are relevant (precision 1 each), the rest above are not.
    # Brute force cannot reach these sizes, so this checks the closed form in the kernel.
    share = Fraction(r - 1, n - 1) if n > 1 else Fraction(0)
    group = sum(Fraction(r, n) * (rb + 1 + (j - 1) * share) / (c + j) for j in range(1, n + 1))
    expected = (rb + group) / (rb + r)
    scores = np.concatenate([np.arange(c, 0, -1), np.zeros(n), -np.arange(1, 6)]).astype(np.float32)
    relevant = np.zeros(c + n + 5, dtype=bool)
    relevant[:rb] = True
    relevant[c + np.arange(r) * (n // r)] = True  # spread over the group; placement must not matter
    for variant in three_paths(scores):
        assert average_precision(variant[None], relevant[None])[0] == pytest.approx(float(expected), abs=1e-13)


def test_hand_computed() -> None:
    # [3, 2, 1] with relevant ranks 1 and 3: (1/1 + 2/3) / 2 = 5/6.
    # Four tied items, two relevant: the relevant pair takes rank pairs (1,2) (1,3) (1,4) (2,3)
    # (2,4) (3,4) equally often, with APs 1, 5/6, 3/4, 7/12, 1/2, 5/12; mean (49/12) / 6 = 49/72.
    # Closed form: c=0, n=4, r=2, Rb=0, D=H(4)=25/12: G = 1/2 (25/12 + 1/3 (4 - 25/12)) = 49/36,
    # AP = G / R = 49/72.
    # [0.5, 0.5, 0.25, -0.0, 0.0], relevant 1st and 4th: group {0.5, 0.5} gives (1/2)(1 + 1/2)
    # = 3/4; group {-0.0, 0.0} (ranks 4-5, one relevant, one before) gives (1/2)(2/4 + 2/5)
    # = 9/20; AP = (3/4 + 9/20) / 2 = 3/5.
    scores = np.array([[3, 2, 1, -9, -9], [7, 7, 7, 7, -np.inf], [0.5, 0.5, 0.25, -0.0, 0.0]])
    relevant = np.array([[1, 0, 1, 0, 0], [1, 0, 0, 1, 0], [1, 0, 0, 1, 0]], dtype=bool)
    np.testing.assert_allclose(average_precision(scores, relevant), [5 / 6, 49 / 72, 3 / 5], rtol=1e-14)


def test_excluding_with_minus_inf_equals_deleting_the_column() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.standard_normal((20, 60)), 1).astype(np.float32)  # with ties
    relevant = rng.random((20, 60)) < 0.3
    relevant[:, 0] = True
    excluded = np.zeros((20, 60), dtype=bool)
    excluded[:, 50:] = True
    excluded[np.arange(20), np.arange(20) + 1] = True  # a different "self" column per query
    masked = np.where(excluded, -np.inf, scores).astype(np.float32)
    ours = average_precision(masked, relevant & ~excluded)
    for i in range(20):
        kept = ~excluded[i]
        deleted = average_precision(scores[i, kept][None], relevant[i, kept][None])[0]
        assert ours[i] == pytest.approx(deleted, abs=1e-14)


def test_relevant_item_at_minus_inf_is_rejected() -> None:
    with pytest.raises(XmbenchError, match="-inf"):
        average_precision(np.array([[1.0, -np.inf]]), np.array([[False, True]]))


@pytest.mark.parametrize("third", [-0.5, -1 / 3, -0.1])  # third item's last mantissa bit picks the path
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_negative_zero_ties_with_zero(third: float, dtype: type) -> None:
    relevant = np.array([[False, True, False]])
    # relevant item at rank 1 or 2 of the zeros' tie, the third item last: (1 + 1/2) / 2
    for zeros in ([0.0, 0.0], [0.0, -0.0], [-0.0, 0.0], [-0.0, -0.0]):
        scores = np.array([zeros + [third]], dtype=dtype)
        assert average_precision(scores, relevant)[0] == 0.75
    smallest_negative = -np.finfo(dtype).smallest_subnormal  # just below -0.0: not a tie
    assert average_precision(np.array([[-0.0, smallest_negative, third]], dtype=dtype), relevant)[0] == 0.5


def test_empty_target_policies() -> None:
    scores = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    relevant = np.array([[True, False], [False, False], [False, False]])
    with pytest.raises(XmbenchError, match="2 of 3 queries have no relevant item"):
        average_precision(scores, relevant)
    skipped = average_precision(scores, relevant, empty_target_action="skip")
    np.testing.assert_array_equal(skipped, [0.5, np.nan, np.nan])
    np.testing.assert_array_equal(average_precision(scores, relevant, empty_target_action="zero"), [0.5, 0, 0])
    with pytest.raises(XmbenchError, match="valid: error, skip, zero"):
        average_precision(scores, relevant, empty_target_action="ignore")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_plus_inf_are_rejected(bad: float, dtype: type) -> None:
    scores = np.array([[0.1, 0.2, 0.3], [0.3, -bad, 0.1]], dtype=dtype)  # -NaN too
    scores[0, 1] = bad
    for rows in ([0], [1]) if np.isnan(bad) else ([0],):
        with pytest.raises(XmbenchError, match="NaN or \\+inf"):
            average_precision(scores[rows], np.ones((1, 3), dtype=bool))


def test_input_checks() -> None:
    with pytest.raises(XmbenchError, match="bool"):
        average_precision(np.zeros((2, 3)), np.ones((2, 3), dtype=int))
    with pytest.raises(XmbenchError, match="expected"):
        average_precision(np.zeros((2, 3)), np.ones((2, 4), dtype=bool))
    with pytest.raises(XmbenchError, match="chunk_size"):
        average_precision(np.zeros((2, 3)), np.ones((2, 3), dtype=bool), chunk_size=0)


def test_deterministic_across_chunks_and_threads() -> None:
    rng = np.random.default_rng(4)
    scores = np.round(rng.standard_normal((101, 300)), 2).astype(np.float32)
    relevant = rng.random((101, 300)) < 0.2
    relevant[:, 0] = True
    reference = average_precision(scores, relevant)
    np.testing.assert_array_equal(average_precision(scores, relevant), reference)
    for chunk_size, n_threads in [(1, 1), (3, 2), (64, 3), (1000, 2)]:
        again = average_precision(scores, relevant, chunk_size=chunk_size, n_threads=n_threads)
        np.testing.assert_array_equal(again, reference)
