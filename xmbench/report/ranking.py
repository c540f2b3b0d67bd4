"""Methods ranked across datasets (Demšar 2006, "Statistical comparisons of classifiers over
multiple data sets").

A *block* is one (dataset, pairing, feature source) at paired fraction 1; its score for a method is
the mAP averaged over the four retrieval tasks per run, then over the run's replicates. Methods are
ranked within each block (1 = best; ties share the mean rank) and the ranks averaged over blocks.
The Friedman test asks whether any method ranks differently from the others (Wilcoxon's
signed-rank test when there are only two methods); when it rejects at ALPHA, Nemenyi's all-pairs
post-hoc test (scikit-posthocs) marks the pairs that differ, and two methods differ when their
average ranks are more than the critical difference CD = q_alpha * sqrt(k (k + 1) / (6 N)) apart.

Which blocks and methods count (one rule, the same for the table, CSV, figure and page): the
Friedman test needs every method in every block, so the compared methods are those present in
every block; a block counts only when each compared method has runs there and all of them
converged (methods without training count as converged; a run whose kept state is its initial one
never does). The rule is applied until it no longer changes the set; the report names every block
and method it left out and why. One ranking per profile and ``--vary``: they are never mixed.

Blocks of one dataset (its pairings, its feature sources) share data, so they are not the
independent samples Friedman's test assumes; the note says how many datasets the blocks come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from xmbench.eval.retrieval import Task
from xmbench.report.stats import ALPHA
from xmbench.results.schema import ALL_CLASSES, headline, with_legacy_columns

BLOCK = ["dataset", "pairing", "features"]
TASKS = tuple(task.value for task in Task)


@dataclass
class Ranking:
    """One profile's ranking: ``scores`` (block x method mean mAP), ``ranks`` (the same shape),
    ``average_rank`` (per method, best first), the omnibus test, the post-hoc p-values (method x
    method, Nemenyi; None without a rejected omnibus test) and the critical difference."""

    profile: str
    vary: str
    scores: pd.DataFrame
    ranks: pd.DataFrame
    average_rank: pd.Series
    test: str
    statistic: float
    p: float
    posthoc: pd.DataFrame | None
    cd: float
    left_out: list[str] = field(default_factory=list)

    @property
    def datasets(self) -> int:
        return self.scores.index.get_level_values("dataset").nunique()

    def worse(self) -> pd.Series:
        """Per method: ranked significantly below some other method (Nemenyi p < ALPHA)."""
        if self.posthoc is None:
            return pd.Series(False, index=self.average_rank.index)
        rank = self.average_rank
        return pd.Series({m: bool(((self.posthoc.loc[m] < ALPHA) & (rank < rank[m])).any()) for m in rank.index})


def nemenyi_q(k: int, alpha: float = ALPHA) -> float:
    """The critical value q_alpha of Nemenyi's test for k methods: the studentized range quantile
    over sqrt(2) (Demšar 2006, Table 5a: 1.960 for k = 2, 2.728 for k = 5, 3.164 for k = 10)."""
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2))


def critical_difference(k: int, blocks: int, alpha: float = ALPHA) -> float:
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * blocks))


def block_table(scores: pd.DataFrame) -> pd.DataFrame:
    """(profile, vary, dataset, pairing, features, method, seed) -> mAP averaged over the four tasks,
    plus ``trained_ok`` (False for a run that did not converge or was not trained). Paired fraction 1."""
    scores = with_legacy_columns(scores)
    scores = scores[scores["paired_fraction"] == 1.0]
    rows = headline(scores)
    rows = rows[(rows["metric"] == "mAP") & (rows["class"] == ALL_CLASSES) & rows["task"].isin(TASKS)]
    keys = ["profile", "vary", *BLOCK, "method", "run_id", "seed"]
    runs = rows.groupby(keys, as_index=False).agg(value=("value", "mean"), tasks=("task", "nunique"))
    runs = runs[runs["tasks"] == len(TASKS)].drop(columns="tasks")
    training = scores[(scores["task"] == "training") & scores["metric"].isin(["converged", "trained"])]
    failed = set(training.loc[training["value"] == 0, "run_id"])
    return runs.assign(trained_ok=~runs["run_id"].isin(failed))


def rankings(scores: pd.DataFrame) -> list[Ranking]:
    """One ``Ranking`` per (profile, vary) that has at least two blocks and two compared methods."""
    table = block_table(scores)
    out = []
    for (profile, vary), part in table.groupby(["profile", "vary"], sort=True):
        ranking = _rank(part, profile, vary)
        if ranking is not None:
            out.append(ranking)
    return out


def _rank(runs: pd.DataFrame, profile: str, vary: str) -> Ranking | None:
    means = runs.groupby([*BLOCK, "method"])["value"].mean().unstack("method")
    healthy = runs.groupby([*BLOCK, "method"])["trained_ok"].all().unstack("method")
    if len(means) < 2:
        return None
    blocks, methods, left_out = list(means.index), list(means.columns), []
    while True:
        present = means.loc[blocks].notna().all(axis=0)
        kept_methods = [m for m in methods if present[m]]
        ok = healthy.loc[blocks, kept_methods].fillna(False).all(axis=1)
        kept_blocks = [b for b in blocks if ok[b]]
        if kept_methods == methods and kept_blocks == blocks:
            break
        left_out += [f"method {m}: no result in block {', '.join(block_name(b) for b in blocks if pd.isna(means.loc[b, m]))}"
                     for m in methods if m not in kept_methods]
        for b in blocks:
            if b not in kept_blocks:
                bad = [m for m in kept_methods if not healthy.loc[b, m]]
                left_out.append(f"block {block_name(b)}: runs that did not converge or were not trained ({', '.join(bad)})")
        blocks, methods = kept_blocks, kept_methods
    if len(blocks) < 2 or len(methods) < 2:  # one method ranks nothing (before or after leaving some out)
        return None
    scores = means.loc[blocks, methods]
    ranks = scores.rank(axis=1, ascending=False, method="average")
    average = ranks.mean(axis=0).sort_values()
    k, n = len(methods), len(blocks)
    if k == 2:
        test, result = "Wilcoxon signed-rank test (two methods)", stats.wilcoxon(scores.iloc[:, 0], scores.iloc[:, 1])
    else:
        test, result = "Friedman test", stats.friedmanchisquare(*(scores[m] for m in methods))
    statistic, p = float(result.statistic), float(result.pvalue)
    posthoc = None
    if k > 2 and p < ALPHA:
        import scikit_posthocs  # imported only when a post-hoc test runs: it loads statsmodels

        posthoc = scikit_posthocs.posthoc_nemenyi_friedman(scores.to_numpy())
        posthoc.index = posthoc.columns = methods
    return Ranking(profile, vary, scores, ranks, average, test, statistic, p, posthoc,
                   critical_difference(k, n), left_out)


def block_name(block: tuple) -> str:
    dataset, pairing, features = block
    return f"{dataset}/{pairing}/{features}"
