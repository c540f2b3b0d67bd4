"""Tables built only from the long results table."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xmbench.results.schema import ALL_CLASSES

GROUP = ["dataset", "pairing", "profile"]


def filter_scores(
    scores: pd.DataFrame,
    datasets: Sequence[str] = (),
    pairings: Sequence[str] = (),
    methods: Sequence[str] = (),
    profiles: Sequence[str] = (),
) -> pd.DataFrame:
    mask = pd.Series(True, index=scores.index)
    for column, wanted in (("dataset", datasets), ("pairing", pairings), ("method", methods), ("profile", profiles)):
        if wanted:
            mask &= scores[column].isin(wanted)
    return scores[mask]


def overall_map(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, method) x task mAP, mean over seeds, with the task average."""
    rows = scores[(scores["metric"] == "mAP") & (scores["class"] == ALL_CLASSES)]
    table = rows.pivot_table(index=[*GROUP, "method"], columns="task", values="value", aggfunc="mean")
    table["average"] = table.mean(axis=1)
    return table


def per_class_map(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, task, method) x class mAP, mean over seeds."""
    rows = scores[(scores["metric"] == "mAP") & (scores["class"] != ALL_CLASSES)]
    return rows.pivot_table(index=[*GROUP, "task", "method"], columns="class", values="value", aggfunc="mean", sort=False)


def extractor_accuracy(scores: pd.DataFrame) -> pd.DataFrame:
    rows = scores[scores["metric"] == "extractor_test_accuracy"]
    return rows.pivot_table(index=GROUP, columns="class", values="value", aggfunc="mean")


def model_facts(scores: pd.DataFrame) -> pd.DataFrame:
    rows = scores[scores["task"] == "model"]
    return rows.pivot_table(index=[*GROUP, "method"], columns="metric", values="value", aggfunc="mean")
