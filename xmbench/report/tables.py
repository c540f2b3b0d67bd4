"""Tables built only from the long results table."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xmbench.eval.recognition import CEILING, RECOGNITION
from xmbench.results.schema import ALL_CLASSES

GROUP = ["dataset", "pairing", "profile"]
METHOD = ["paired_fraction", "method"]


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
    """(dataset, pairing, profile, paired fraction, method) x task mAP, mean over seeds, with the task average."""
    rows = scores[(scores["metric"] == "mAP") & (scores["class"] == ALL_CLASSES)]
    table = rows.pivot_table(index=[*GROUP, *METHOD], columns="task", values="value", aggfunc="mean")
    table["average"] = table.mean(axis=1)
    return table


def per_class_map(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, task, paired fraction, method) x class mAP, mean over seeds."""
    rows = scores[(scores["metric"] == "mAP") & (scores["class"] != ALL_CLASSES)]
    return rows.pivot_table(
        index=[*GROUP, "task", *METHOD], columns="class", values="value", aggfunc="mean", sort=False
    )


def recognition_accuracy(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, paired fraction, method) x generation direction: the accuracy of
    the target modality's classifier on generated samples, mean over seeds. A->B is cross-modal,
    A->A an intra-modal reconstruction."""
    rows = scores[(scores["metric"] == RECOGNITION) & (scores["class"] == ALL_CLASSES)]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="task", values="value", aggfunc="mean")


def per_class_recognition(scores: pd.DataFrame) -> pd.DataFrame:
    """(dataset, pairing, profile, direction, paired fraction, method) x class recognition accuracy."""
    rows = scores[(scores["metric"] == RECOGNITION) & (scores["class"] != ALL_CLASSES)]
    return rows.pivot_table(
        index=[*GROUP, "task", *METHOD], columns="class", values="value", aggfunc="mean", sort=False
    )


def recognition_ceiling(scores: pd.DataFrame) -> pd.DataFrame:
    """Each modality's classifier on its own real test features: what generated samples can reach."""
    rows = scores[(scores["metric"] == CEILING) & (scores["class"] == ALL_CLASSES)]
    return rows.pivot_table(index=GROUP, columns="task", values="value", aggfunc="mean")


def extractor_accuracy(scores: pd.DataFrame) -> pd.DataFrame:
    rows = scores[scores["metric"] == "extractor_test_accuracy"]
    return rows.pivot_table(index=GROUP, columns="class", values="value", aggfunc="mean")


def model_facts(scores: pd.DataFrame) -> pd.DataFrame:
    rows = scores[scores["task"] == "model"]
    return rows.pivot_table(index=[*GROUP, *METHOD], columns="metric", values="value", aggfunc="mean")
