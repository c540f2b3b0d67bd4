"""Statistics over seeds: hand-computed CIs, the paired test against its formula, pairing by seed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from xmbench.report import stats


def test_ci_half_width_matches_a_hand_computation():
    mean, half, n = stats.mean_ci([1, 2, 3, 4, 5])
    # sd = sqrt(2.5) = 1.5811, t_{0.975,4} = 2.7764 -> 2.7764 * 1.5811 / sqrt(5)
    assert (mean, n) == (3.0, 5)
    assert half == pytest.approx(1.9632, abs=1e-4)
    assert stats.format_cell(mean, half, n) == "3.000 ± 1.963"


def test_one_seed_has_no_ci_and_says_n_1():
    mean, half, n = stats.mean_ci([0.7, float("nan")])
    assert (mean, n) == (0.7, 1) and math.isnan(half)
    assert stats.format_cell(mean, half, n) == "0.700 (n=1)"
    assert stats.format_cell(mean, half, n, usual=1) == "0.700"
    assert stats.format_cell(0.5, 0.01, 4, usual=5) == "0.500 ± 0.010 (n=4)"


def test_paired_test_matches_the_t_formula_and_scipy():
    a = pd.Series([0.90, 0.80, 0.85, 0.95], index=[0, 1, 2, 3])
    b = pd.Series([0.70, 0.75, 0.80, 0.90], index=[0, 1, 2, 3])
    d = a.to_numpy() - b.to_numpy()
    t = d.mean() / (d.std(ddof=1) / math.sqrt(4))
    test = stats.paired_test(a, b)
    assert test.n_common == 4
    assert test.p == pytest.approx(2 * sps.t.sf(abs(t), 3))
    assert test.p == pytest.approx(sps.ttest_rel(a, b).pvalue)


def test_paired_test_matches_by_seed_and_drops_uncommon_seeds():
    a = pd.Series([0.90, 0.80, 0.85, 0.95], index=[0, 1, 2, 3])
    b = pd.Series([0.70, 0.75, 0.80, 0.90], index=[0, 1, 2, 3])
    reference = stats.paired_test(a, b).p
    shuffled = b.iloc[[2, 0, 3, 1]]
    assert stats.paired_test(a, shuffled).p == pytest.approx(reference)
    extra_a = pd.concat([a, pd.Series([0.1], index=[7])])
    extra_b = pd.concat([shuffled, pd.Series([0.99], index=[9])])
    test = stats.paired_test(extra_a, extra_b)
    assert test.n_common == 4 and test.p == pytest.approx(reference)


def test_no_test_below_two_common_seeds_and_degenerate_differences():
    single = stats.paired_test(pd.Series([0.9, 0.8], index=[0, 1]), pd.Series([0.5, 0.4], index=[1, 2]))
    assert math.isnan(single.p) and single.n_common == 1 and "no test" in single.reason
    constant = stats.paired_test(pd.Series([0.9, 0.8, 0.7]), pd.Series([0.8, 0.7, 0.6]))
    assert constant.p == 0.0
    same = stats.paired_test(pd.Series([0.9, 0.8, 0.7]), pd.Series([0.9, 0.8, 0.7]))
    assert same.p == 1.0


def test_wilcoxon_with_five_seeds_cannot_reach_five_percent():
    # why the paired t-test is used: the smallest two-sided exact Wilcoxon p with n=5 is 2/32
    assert sps.wilcoxon([1, 2, 3, 4, 5], [0, 0, 0, 0, 0]).pvalue == pytest.approx(0.0625)


def test_compare_to_best_marks_the_max_and_the_significantly_worse():
    good = np.array([0.90, 0.91, 0.92, 0.93, 0.94])
    per_seed = pd.DataFrame({
        "good": good,
        "bad": good - [0.20, 0.21, 0.19, 0.20, 0.22],
        "close": good - [0.01, -0.01, 0.005, -0.004, 0.002],  # mean difference 0.0006, noisy
    })
    result = stats.compare_to_best(per_seed)
    assert result["best"].tolist() == [True, False, False]
    assert result.loc["bad", "worse"] and result.loc["bad", "p_vs_best"] < 0.001
    assert not result.loc["close", "worse"]
    assert math.isnan(result.loc["good", "p_vs_best"])
    assert stats.compare_to_best(per_seed, higher_is_better=False)["best"].idxmax() == "bad"


def test_untestable_methods_are_not_marked():
    per_seed = pd.DataFrame({"a": [0.9, 0.91, 0.92], "b": [0.1, np.nan, np.nan]}, index=[0, 1, 2])
    result = stats.compare_to_best(per_seed)
    assert result.loc["a", "best"] and not result.loc["b", "worse"]
    assert result.loc["b", "n_common"] == 1 and math.isnan(result.loc["b", "p_vs_best"])


def _holm_rejections(p: list[float], alpha: float) -> set[int]:
    """Holm's procedure as the textbook states it (an independent check of ``stats.holm``): sort
    ascending, reject H_(i) while p_(i) <= alpha / (m - i), stop at the first that fails."""
    order, rejected = sorted(range(len(p)), key=lambda i: p[i]), set()
    for i, index in enumerate(order):
        if p[index] > alpha / (len(p) - i):
            break
        rejected.add(index)
    return rejected


def test_holm_by_hand_and_against_the_sequential_procedure():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x .005 = .02, 3 x .01 = .03, 2 x .03 = .06, max(.06, 1 x .04) = .06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = stats.holm([np.nan, 0.2, 0.01])  # NaN is no test: m = 2
    assert math.isnan(adjusted[0]) and adjusted[1:] == pytest.approx([0.2, 0.02])
    assert stats.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    p = list(np.random.default_rng(0).uniform(0, 0.1, size=12))
    for alpha in (0.01, 0.05, 0.1):
        assert set(np.flatnonzero(stats.holm(p) <= alpha)) == _holm_rejections(p, alpha)


def test_holm_agrees_with_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 40):
        p = rng.uniform(0, 0.2, size=m) ** 2
        assert stats.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)


def test_compare_columns_corrects_over_the_whole_table_and_marks_ties():
    good = np.array([0.90, 0.91, 0.92, 0.93, 0.94])
    # "other" trails "good" by a small noisy margin in two columns: p .027 and .040 on its own
    columns = {
        "A->B": pd.DataFrame({"good": good, "other": good - [0.010, 0.002, 0.014, 0.003, 0.012]}),
        "B->A": pd.DataFrame({"good": good, "other": good - [0.012, 0.001, 0.013, 0.002, 0.011]}),
    }
    alone = {k: stats.compare_to_best(v) for k, v in columns.items()}
    raw = [alone[k].loc["other", "p_vs_best"] for k in columns]
    assert all(0.01 < p < 0.05 for p in raw) and all(alone[k].loc["other", "worse"] for k in columns)
    table = stats.compare_columns(columns)
    assert table.family == 2
    assert [table.frames[k].loc["other", "p_holm"] for k in columns] == pytest.approx(list(stats.holm(raw)))
    for k in columns:  # after the correction neither difference is significant: the column is a tie
        frame = table.frames[k]
        assert not frame.loc["other", "worse"] and frame.loc["other", "tied_best"]
        assert frame.loc["other", "p_vs_best"] == alone[k].loc["other", "p_vs_best"]  # raw p is kept
        assert frame.loc["other", "sd"] == pytest.approx(np.std(columns[k]["other"], ddof=1))


def test_every_pair_is_tested_and_a_loss_to_any_method_marks_it():
    # "mid" has the best mean only through one noisy seed; "low" loses clearly to "top" (a consistent
    # margin) but not to "mid": it is still significantly worse than the column's best
    rng = np.random.default_rng(0)
    top = np.array([0.80, 0.82, 0.81, 0.83, 0.84])
    frame = pd.DataFrame({"top": top, "mid": top + [0.3, -0.2, 0.25, -0.15, 0.0], "low": top - 0.10
                          + rng.normal(0, 0.002, 5)})
    result = stats.compare_to_best(frame)
    assert result["best"].tolist() == [False, True, False]
    assert result.loc["low", "worse"] and not result.loc["low", "tied_best"]
    assert result.loc["top", "tied_best"] and result.loc["mid", "tied_best"]
    pairs = stats.pair_tests(frame.to_numpy())
    low_top = np.flatnonzero((pairs.i == 0) & (pairs.j == 2))[0]
    assert result.loc["low", "p_holm"] == pytest.approx(min(1.0, 3 * pairs.p[low_top]))


def test_difference_to_the_best_and_its_ci_match_scipy():
    a = np.array([0.90, 0.80, 0.85, 0.95, 0.88])
    b = np.array([0.70, 0.75, 0.80, 0.90, 0.84])
    result = stats.compare_to_best(pd.DataFrame({"a": a, "b": b}))
    interval = sps.ttest_rel(b, a).confidence_interval(0.95)
    assert result.loc["b", "diff"] == pytest.approx((b - a).mean())
    assert (result.loc["b", "diff_low"], result.loc["b", "diff_high"]) == pytest.approx(tuple(interval))
    assert math.isnan(result.loc["a", "diff"])
    lower = stats.compare_to_best(pd.DataFrame({"a": a, "b": b}), higher_is_better=False)
    assert lower.loc["a", "diff"] == pytest.approx((a - b).mean())  # a - best, best = b (lower)
    assert stats.format_effect(-0.0214, -0.0305, -0.0123) == "(Δ -0.021 ± 0.009)"
    assert stats.format_effect(-0.1, -0.1, -0.1) == "(Δ -0.100)"


def test_mark_columns_agrees_with_the_one_by_one_tests():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(6, 4))
    values[0, 2] = np.nan  # one seed missing: that pair uses the common seeds only
    pairs = stats.pair_tests(values)
    for i, j, p in zip(pairs.i, pairs.j, pairs.p):
        reference = stats.paired_test(pd.Series(values[:, j]), pd.Series(values[:, i]))
        assert p == pytest.approx(reference.p)
    column = stats.mark_columns([values])[0]
    for m in range(4):
        mean, ci, n = stats.mean_ci(values[:, m])
        assert (column["mean"][m], column["ci"][m], column["n"][m]) == pytest.approx((mean, ci, n))


def test_format_spread():
    assert stats.format_spread(0.0041, 3) == "0.004 (n=3)"
    assert stats.format_spread(math.nan, 1) == "– (n=1)"
    assert stats.format_spread(math.nan, math.nan) == "–" == stats.format_spread(math.nan, 0)  # no value
