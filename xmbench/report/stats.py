"""Statistics over seeds: mean with a 95% confidence interval, and paired comparisons of methods.

A seed is one replicate of a run. The confidence interval is ``t_{0.975, n-1} * sd / sqrt(n)``
with the sample standard deviation (ddof=1); with one seed it is undefined (NaN, shown as "n=1").

Comparisons (``compare_columns``, ``mark_columns``): within each column of a table, **every pair
of methods** gets a paired t-test on their per-seed values, matched by seed over the seeds both
have (each pair its own variance: a deterministic method beside a noisy GAN is no problem, unlike a
pooled-variance ANOVA error term, which the simulations in tests/test_report_stats.py show
rejecting up to 65% of the time under such a null). The p-values of all pairs of all columns of
the table form one family, adjusted with Holm's step-down procedure (``holm``). Holm controls the family-wise error rate at ALPHA for any configuration of the
true means (strong control), whatever the dependence between the tests.

Marking: a method is "significantly worse" (†) in a column when some other method of the column
is significantly better than it (Holm-adjusted p < ALPHA, direction by the mean difference over
their common seeds); it is then worse than the column's best, whichever that is. ``tied_best``
(bold) holds every method of the column that no method beats significantly: the best mean always,
and any method that may still be the best. Under the global null (every method equal) a † is a
false rejection, so P(any † in the table) <= ALPHA.

Why not "test each method against the sample best, then Holm" (the procedure before issue 31):
the best is picked from the same data it is tested against, so under the global null the most
extreme pair is tested and the chance of at least one † was .082 for 5 methods and .138 for 13
methods over 5 columns at n = 5, not .05. A Wilcoxon signed-rank test is not used either: with 5
seeds its smallest two-sided p-value is 2/2^5 = 0.0625.

Effect sizes: every method carries its mean paired difference to the column's best (``diff``, over
their common seeds) and that difference's 95% t confidence interval (``diff_low``, ``diff_high``;
per comparison, not simultaneous).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

ALPHA = 0.05
CONFIDENCE = 0.95
TEST_NAME = "paired t-tests of every pair of methods in each column (matched by seed, common seeds only), two-sided"
CORRECTION_NAME = f"Holm's step-down correction over all pairs of all columns of the table, family-wise alpha {ALPHA:g}"
IDENTICAL = "identical difference in every seed"


@dataclass(frozen=True)
class PairedTest:
    p: float  # NaN when no test was possible
    n_common: int
    reason: str = ""  # why p is NaN or was not computed by the t formula


def mean_ci(values: pd.Series | np.ndarray | list[float]) -> tuple[float, float, int]:
    """(mean, 95% CI half-width, n) of the finite values; the half-width is NaN for n < 2."""
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    n = array.size
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(array.mean())
    if n < 2:
        return mean, math.nan, n
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * array.std(ddof=1) / math.sqrt(n)
    return mean, float(half), n


def paired_test(a: pd.Series, b: pd.Series) -> PairedTest:
    """Paired t-test of two methods' per-seed values (Series indexed by seed) on their common seeds.

    A difference that is the same in every common seed (e.g. two deterministic methods) has no
    seed variance: p = 0 when it is non-zero, 1 when it is zero (scipy's limit, without its
    precision warning)."""
    a, b = a.dropna(), b.dropna()
    common = a.index.intersection(b.index)
    n = len(common)
    if n < 2:
        return PairedTest(math.nan, n, f"no test: {n} common seed(s)")
    diff = a.loc[common].to_numpy(float) - b.loc[common].to_numpy(float)
    scale = max(1.0, float(np.abs(diff).max()))
    if np.ptp(diff) <= 1e-12 * scale:
        same = abs(float(diff.mean())) <= 1e-12 * scale
        return PairedTest(1.0 if same else 0.0, n, "identical difference in every seed")
    return PairedTest(float(stats.ttest_rel(a.loc[common], b.loc[common]).pvalue), n)


@dataclass(frozen=True)
class PairTests:
    """Paired t-tests of every pair (i, j), i < j, of one column's methods: the difference is x_j - x_i."""

    i: np.ndarray
    j: np.ndarray
    n: np.ndarray  # common seeds
    diff: np.ndarray  # mean difference over the common seeds
    half: np.ndarray  # its 95% t confidence half-width
    p: np.ndarray  # two-sided; NaN below 2 common seeds
    identical: np.ndarray  # the same difference in every common seed (no variance: p is 0 or 1)


def pair_tests(values: np.ndarray) -> PairTests:
    """All pairs of the columns of ``values`` (seeds x methods, NaN where a method lacks a seed)."""
    values = np.asarray(values, dtype=float)
    i, j = np.triu_indices(values.shape[1], 1)
    d = values[:, j] - values[:, i]
    ok = np.isfinite(d)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(ok, d, 0.0).sum(axis=0) / n
        sd = np.sqrt((np.where(ok, d - diff, 0.0) ** 2).sum(axis=0) / (n - 1))
        t = diff / (sd / np.sqrt(n))
        # scipy.special's t distribution: the same numbers as stats.t.sf / ppf at a tenth of the overhead
        p = 2 * special.stdtr(n - 1, -np.abs(t))
        half = special.stdtrit(n - 1, 0.5 + CONFIDENCE / 2) * sd / np.sqrt(n)
    spread = np.where(ok, d, -np.inf).max(axis=0) - np.where(ok, d, np.inf).min(axis=0)
    scale = np.maximum(1.0, np.where(ok, np.abs(d), 0.0).max(axis=0))
    identical = (n >= 2) & (spread <= 1e-12 * scale)
    p = np.where(identical, np.where(np.abs(diff) <= 1e-12 * scale, 1.0, 0.0), p)
    testable = n >= 2
    return PairTests(i, j, n, np.where(n > 0, diff, np.nan), np.where(testable, half, np.nan),
                     np.where(testable, p, np.nan), identical)


def mark_columns(columns: Sequence[np.ndarray], higher_is_better: bool = True) -> list[dict[str, np.ndarray]]:
    """The comparison of one table: ``columns`` holds a (seeds x methods) array per column. Returns,
    per column, arrays over its methods: mean, sd, ci, n, best, worse, tied_best, p_holm (the
    smallest Holm-adjusted p of a pair the method loses; NaN when it loses no tested pair),
    p_vs_best (raw), n_common, diff / diff_low / diff_high (to the best), identical (vs the best)."""
    return _mark_table(columns, higher_is_better)[0]


def _mark_table(columns: Sequence[np.ndarray], higher_is_better: bool) -> tuple[list[dict[str, np.ndarray]], int]:
    """``mark_columns``' result and the size of Holm's family (the tested pairs of the table)."""
    sign = 1.0 if higher_is_better else -1.0
    tests = [pair_tests(sign * np.asarray(x, dtype=float)) for x in columns]
    adjusted = holm(np.concatenate([t.p for t in tests])) if tests else np.array([])
    out, start = [], 0
    for x, t in zip(columns, tests):
        x = np.asarray(x, dtype=float)
        k = x.shape[1]
        adj, start = adjusted[start:start + len(t.p)], start + len(t.p)
        loser = np.where(t.diff > 0, t.i, t.j)  # the pair's lower mean (after the sign flip)
        tested = np.isfinite(adj)
        worse = np.zeros(k, dtype=bool)
        worse[loser[tested & (adj < ALPHA)]] = True
        p_holm = np.full(k, np.inf)
        np.minimum.at(p_holm, loser[tested], adj[tested])
        column = _describe(x)
        signed = sign * column["mean"]
        best = signed == np.nanmax(signed) if np.isfinite(signed).any() else np.zeros(k, dtype=bool)
        column.update(best=best, worse=worse, p_holm=np.where(np.isfinite(p_holm), p_holm, np.nan))
        column.update(_against(t, int(np.flatnonzero(best)[0]) if best.any() else -1, k, sign))
        column["tied_best"] = best | (~worse & np.isfinite(column["p_vs_best"]))
        out.append(column)
    return out, int(np.isfinite(adjusted).sum())


def _describe(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per method (column of ``x``): mean, sd, 95% CI half-width and n of its finite values, as
    ``mean_ci`` gives them one by one."""
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=0) / n
        sd = np.sqrt((np.where(ok, x - mean, 0.0) ** 2).sum(axis=0) / (n - 1))
        ci = special.stdtrit(n - 1, 0.5 + CONFIDENCE / 2) * sd / np.sqrt(n)
    return {"mean": np.where(n > 0, mean, np.nan), "sd": np.where(n > 1, sd, np.nan),
            "ci": np.where(n > 1, ci, np.nan), "n": n}


def _against(t: PairTests, best: int, k: int, sign: float) -> dict[str, np.ndarray]:
    """Each method's pair with the best: raw p, common seeds, mean difference (method - best, in the
    metric's own direction) with its 95% CI, and whether the difference was identical in every seed."""
    out = {name: np.full(k, np.nan) for name in ("p_vs_best", "diff", "diff_low", "diff_high")}
    out["n_common"], out["identical"] = np.zeros(k, dtype=int), np.zeros(k, dtype=bool)
    if best < 0:
        return out
    for pair in np.flatnonzero((t.i == best) | (t.j == best)):
        other = t.j[pair] if t.i[pair] == best else t.i[pair]
        diff = sign * t.diff[pair] * (1.0 if other == t.j[pair] else -1.0)  # other - best, unsigned metric
        out["p_vs_best"][other], out["n_common"][other] = t.p[pair], t.n[pair]
        out["diff"][other] = diff
        out["diff_low"][other], out["diff_high"][other] = diff - t.half[pair], diff + t.half[pair]
        out["identical"][other] = t.identical[pair]
    return out


@dataclass(frozen=True)
class Comparison:
    """``frames``: per column key, one row per method (see ``mark_columns``, plus ``reason``);
    ``family``: how many pairwise tests Holm's correction counted."""

    frames: dict
    family: int


def compare_columns(per_seed: Mapping[object, pd.DataFrame], higher_is_better: bool = True) -> Comparison:
    """Compare the methods of every column of one table (``per_seed``: column key -> frame indexed by
    seed with a column per method) with ``mark_columns``; one frame per key, indexed by method."""
    keys = list(per_seed)
    marked, family = _mark_table([per_seed[k].to_numpy(float) for k in keys], higher_is_better)
    frames = {}
    for key, column in zip(keys, marked):
        frame = pd.DataFrame(column, index=per_seed[key].columns)
        frame.index.name = "method"
        frame["reason"] = np.where(frame["identical"], IDENTICAL,
                                   np.where(~frame["best"] & frame["mean"].notna() & (frame["n_common"] < 2),
                                            [f"no test: {n} common seed(s)" for n in frame["n_common"]], ""))
        frames[key] = frame.drop(columns="identical")
    return Comparison(frames, family)


def compare_to_best(per_seed: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """One column compared on its own (a table of one column): ``compare_columns`` for a single frame."""
    return compare_columns({0: per_seed}, higher_is_better).frames[0]


def holm(p: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are not tests: they stay NaN and do not count).

    Sorted ascending, the i-th smallest of m p-values (i = 0..m-1) becomes max_{j<=i} (m - j) p_(j),
    capped at 1; rejecting where the adjusted p < alpha is Holm's procedure at level alpha. Written
    here rather than taken from statsmodels' ``multipletests`` (the tests check the two agree), whose
    every call runs the garbage collector: 20 ms a table, minutes for the error-rate simulations."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    steps = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps)) if m else steps
    return adjusted


def format_cell(mean: float, ci: float, n: int, digits: int = 3, usual: int | None = None) -> str:
    """"0.912 ± 0.004"; "(n=4)" appended when n differs from ``usual`` (the table's common seed
    count), or, without ``usual``, when there is no CI (one seed: "0.912 (n=1)")."""
    if not n or not math.isfinite(mean):
        return "–"
    text = f"{mean:.{digits}f}" + (f" ± {ci:.{digits}f}" if math.isfinite(ci) else "")
    show_n = not math.isfinite(ci) if usual is None else n != usual
    return f"{text} (n={n})" if show_n else text


def format_effect(diff: float, low: float, high: float, digits: int = 3) -> str:
    """"(Δ -0.021 ± 0.009)": a mean difference to the best and its 95% CI half-width (symmetric t
    interval); "(Δ -0.021)" when the difference has no spread (identical in every seed)."""
    if not math.isfinite(diff):
        return ""
    half = (high - low) / 2 if math.isfinite(low) and math.isfinite(high) else math.nan
    spread = f" ± {half:.{digits}f}" if math.isfinite(half) and half > 0 else ""
    return f"(Δ {diff:+.{digits}f}{spread})"


def format_spread(sd: float, n: int, digits: int = 3) -> str:
    """"0.004 (n=3)": the standard deviation over seeds and their number; "– (n=1)" without a spread."""
    if not (n and math.isfinite(n)):  # NaN: the method has no value in this column
        return "–"
    return f"{sd:.{digits}f} (n={int(n)})" if math.isfinite(sd) else f"– (n={int(n)})"
