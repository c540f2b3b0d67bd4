"""Accuracy beside cost: per method, its mAP averaged over the four retrieval tasks and what it took
to fit (seconds, updates, trainable parameters, device), and which methods no other beats on both.

A method is on the *Pareto front* of a setting when no other method of it has a mean average mAP at
least as high and a mean fit time at most as long, one of the two strictly. It is read off the
means over replicates: a description, not a test (the tables' † and bold are the tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xmbench.eval.retrieval import Task
from xmbench.report.stats import mean_ci
from xmbench.results.schema import ALL_CLASSES, headline

TASKS = [task.value for task in Task]
COST = ("fit_s", "updates", "trainable_parameters", "device", "host")


def has_costs(scores: pd.DataFrame) -> bool:
    return "fit_s" in scores and bool(scores["fit_s"].notna().any())


def cost_points(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (pairing, method) of ``scores`` (one setting): ``map``, ``map_ci``, ``fit_s``,
    ``fit_s_ci`` (mean and 95% t half-width over seeds; runs sharing a seed averaged first, as in the
    tables), ``n`` seeds, ``updates`` and ``trainable_parameters`` (means over runs; <NA> where not
    recorded), ``devices`` and ``hosts`` (the distinct values, joined), and ``front``."""
    rows = headline(scores)
    rows = rows[(rows["metric"] == "mAP") & (rows["class"] == ALL_CLASSES) & rows["task"].isin(TASKS)]
    rows = rows.assign(**{c: pd.NA for c in COST if c not in rows})  # a table of runs without facts
    per_run = rows.groupby(["pairing", "method", "seed", "run_id"], as_index=False).agg(
        map=("value", "mean"), tasks=("task", "nunique"), **{c: (c, "first") for c in COST})
    per_run = per_run[per_run["tasks"] == per_run.groupby(["pairing", "method"])["tasks"].transform("max")]
    out = []
    for (pairing, method), runs in per_run.groupby(["pairing", "method"], sort=True):
        per_seed = runs.groupby("seed")[["map", "fit_s"]].mean()
        map_mean, map_ci, n = mean_ci(per_seed["map"])
        fit = per_seed["fit_s"].dropna()
        fit_mean, fit_ci, _ = mean_ci(fit.astype(float)) if len(fit) else (np.nan, np.nan, 0)
        out.append({"pairing": pairing, "method": method, "map": map_mean, "map_ci": map_ci, "n": n,
                    "fit_s": fit_mean, "fit_s_ci": fit_ci, "updates": _mean(runs["updates"]),
                    "trainable_parameters": _mean(runs["trainable_parameters"]),
                    "devices": ", ".join(sorted(runs["device"].dropna().astype(str).unique())),
                    "hosts": ", ".join(sorted(runs["host"].dropna().astype(str).unique()))})
    points = pd.DataFrame(out)
    if points.empty:
        return points
    points["front"] = False
    for _, part in points.groupby("pairing"):
        points.loc[part.index, "front"] = pareto_front(part["map"].to_numpy(), part["fit_s"].to_numpy())
    return points


def pareto_front(accuracy: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """True where no other point has accuracy >= and seconds <=, one of them strictly; a point
    without a time is never on the front."""
    accuracy, seconds = np.asarray(accuracy, float), np.asarray(seconds, float)
    known = np.isfinite(accuracy) & np.isfinite(seconds)
    front = np.zeros(len(accuracy), dtype=bool)
    for i in np.flatnonzero(known):
        others = known & (np.arange(len(accuracy)) != i)
        dominated = others & (accuracy >= accuracy[i]) & (seconds <= seconds[i]) \
            & ((accuracy > accuracy[i]) | (seconds < seconds[i]))
        front[i] = not dominated.any()
    return front


def _mean(values: pd.Series) -> float:
    known = values.dropna()
    return float(known.astype(float).mean()) if len(known) else np.nan
