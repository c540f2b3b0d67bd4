"""Statistics over seeds: mean with a 95% confidence interval, and a paired test between methods.

A seed is one repetition of a run (different initialisation and training randomness, same data
split). The confidence interval is ``t_{0.975, n-1} * sd / sqrt(n)`` with the sample standard
deviation (ddof=1); with one seed it is undefined (NaN, shown as "n=1").

Methods are compared with a paired t-test on their per-seed values, matched by seed: seed ``s``
of method X against seed ``s`` of method Y, over the seeds both have. A Wilcoxon signed-rank test
is not used: with 5 seeds its smallest possible two-sided p-value is 2/2^5 = 0.0625, so it can
never reach p < 0.05. No correction for multiple comparisons is applied.

Marking convention (``compare_to_best``): per column, the method with the highest mean is the
best (all methods tied on that mean are best); a method is marked "significantly worse" when the
paired test against the best gives p < ALPHA.
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
    """One column's methods (``per_seed``: index seed, columns method) -> per method: mean, ci, n,
    best (bool), p_vs_best (NaN for the best and when untestable), n_common, worse (bool), reason."""
    out = pd.DataFrame([mean_ci(per_seed[m]) for m in per_seed.columns], index=per_seed.columns,
                       columns=["mean", "ci", "n"])
    means = out["mean"].dropna()
    top = (means.max() if higher_is_better else means.min()) if len(means) else math.nan
    out["best"] = out["mean"] == top
    tests = {}
    if len(means):
        best = out.index[out["best"]][0]
        tests = {m: paired_test(per_seed[best], per_seed[m]) for m in out.index[~out["best"] & out["mean"].notna()]}
    out["p_vs_best"] = [tests[m].p if m in tests else math.nan for m in out.index]
    out["n_common"] = [tests[m].n_common if m in tests else 0 for m in out.index]
    out["worse"] = out["p_vs_best"] < ALPHA  # NaN compares False: an untested method is never marked
    out["reason"] = [tests[m].reason if m in tests else "" for m in out.index]
    return out


def format_cell(mean: float, ci: float, n: int, digits: int = 3, usual: int | None = None) -> str:
    """"0.912 ± 0.004"; "(n=4)" appended when n differs from ``usual`` (the table's common seed
    count), or, without ``usual``, when there is no CI (one seed: "0.912 (n=1)")."""
    if not n or not math.isfinite(mean):
        return "–"
    text = f"{mean:.{digits}f}" + (f" ± {ci:.{digits}f}" if math.isfinite(ci) else "")
    show_n = not math.isfinite(ci) if usual is None else n != usual
    return f"{text} (n={n})" if show_n else text
