"""Statistics over seeds: mean with a 95% confidence interval, and paired tests between methods.

A seed is one repetition of a run (different initialisation and training randomness, same data
split). The confidence interval is ``t_{0.975, n-1} * sd / sqrt(n)`` with the sample standard
deviation (ddof=1); with one seed it is undefined (NaN, shown as "n=1").

Methods are compared with a paired t-test on their per-seed values, matched by seed: seed ``s``
of method X against seed ``s`` of method Y, over the seeds both have. A Wilcoxon signed-rank test
is not used: with 5 seeds its smallest possible two-sided p-value is 2/2^5 = 0.0625, so it can
never reach p < 0.05.

Multiple comparisons: a table compares every method with its column's best, in every column, so
its p-values are adjusted together with Holm's step-down procedure (``holm``, ``apply_holm``):
it controls the family-wise error rate at ALPHA over the whole table, whatever the dependence
between the tests, and is uniformly more powerful than Bonferroni.

Marking convention (``compare_to_best`` then ``apply_holm``): per column, the method with the
highest mean is the best (all methods tied on that mean are best); a method is "significantly
worse" when its Holm-adjusted p against the best is < ALPHA; ``tied_best`` holds the best and
every tested method that is not significantly worse (the column has no single winner then).
An untested method (fewer than 2 common seeds) is neither marked worse nor tied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
CONFIDENCE = 0.95
TEST_NAME = f"paired t-test over seeds (matched by seed, common seeds only), two-sided, alpha {ALPHA:g}"
CORRECTION_NAME = "Holm's step-down correction over all comparisons of the table"


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


def compare_to_best(per_seed: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """One column's methods (``per_seed``: index seed, columns method) -> per method: mean, sd, ci,
    n, best (bool), p_vs_best (raw; NaN for the best and when untestable), n_common, reason, and the
    marks of this column alone: p_holm (= p_vs_best until ``apply_holm`` adjusts a whole table),
    worse and tied_best (bool)."""
    out = pd.DataFrame([mean_ci(per_seed[m]) for m in per_seed.columns], index=per_seed.columns,
                       columns=["mean", "ci", "n"])
    out.insert(1, "sd", [float(per_seed[m].dropna().std(ddof=1)) if per_seed[m].count() > 1 else math.nan
                         for m in per_seed.columns])
    means = out["mean"].dropna()
    top = (means.max() if higher_is_better else means.min()) if len(means) else math.nan
    out["best"] = out["mean"] == top
    tests = {}
    if len(means):
        best = out.index[out["best"]][0]
        tests = {m: paired_test(per_seed[best], per_seed[m]) for m in out.index[~out["best"] & out["mean"].notna()]}
    out["p_vs_best"] = [tests[m].p if m in tests else math.nan for m in out.index]
    out["n_common"] = [tests[m].n_common if m in tests else 0 for m in out.index]
    out["reason"] = [tests[m].reason if m in tests else "" for m in out.index]
    return _mark(out, out["p_vs_best"])


def _mark(out: pd.DataFrame, p: pd.Series) -> pd.DataFrame:
    """``p_holm`` (the p used for marking), ``worse`` and ``tied_best`` from ``p``."""
    out["p_holm"] = p
    out["worse"] = p < ALPHA  # NaN compares False: an untested method is never marked
    out["tied_best"] = out["best"] | (p >= ALPHA)
    return out


def holm(p: np.ndarray | list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are not tests: they stay NaN and do not count).

    Sorted ascending, the i-th smallest of m p-values (i = 0..m-1) becomes max_{j<=i} (m - j) p_(j),
    capped at 1; rejecting where the adjusted p < alpha is Holm's procedure at level alpha."""
    p = np.asarray(p, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    steps = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps)) if m else steps
    return adjusted


def apply_holm(compared: dict) -> dict:
    """Adjust the p-values of every column of one table together (``compare_to_best`` frames by
    column) and re-mark ``worse`` / ``tied_best`` with the adjusted values; returns new frames."""
    keys = list(compared)
    raw = np.concatenate([compared[k]["p_vs_best"].to_numpy(float) for k in keys]) if keys else np.array([])
    adjusted, start, out = holm(raw), 0, {}
    for k in keys:
        frame = compared[k].copy()
        out[k] = _mark(frame, pd.Series(adjusted[start:start + len(frame)], index=frame.index))
        start += len(frame)
    return out


def format_cell(mean: float, ci: float, n: int, digits: int = 3, usual: int | None = None) -> str:
    """"0.912 ± 0.004"; "(n=4)" appended when n differs from ``usual`` (the table's common seed
    count), or, without ``usual``, when there is no CI (one seed: "0.912 (n=1)")."""
    if not n or not math.isfinite(mean):
        return "–"
    text = f"{mean:.{digits}f}" + (f" ± {ci:.{digits}f}" if math.isfinite(ci) else "")
    show_n = not math.isfinite(ci) if usual is None else n != usual
    return f"{text} (n={n})" if show_n else text


def format_spread(sd: float, n: int, digits: int = 3) -> str:
    """"0.004 (n=3)": the standard deviation over seeds and their number; "– (n=1)" without a spread."""
    if not (n and math.isfinite(n)):  # NaN: the method has no value in this column
        return "–"
    return f"{sd:.{digits}f} (n={int(n)})" if math.isfinite(sd) else f"– (n={int(n)})"
