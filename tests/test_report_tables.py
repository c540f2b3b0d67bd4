"""Report tables read only the long results table; checked on a small hand-made one."""

from __future__ import annotations

import pandas as pd
import pytest

from xmbench.report import tables
from xmbench.report.paper import paper_comparison


def row(method, task, metric, value, seed=0, fraction=1.0, cls="all"):
    return {
        "run_id": f"{method}-{seed}-{fraction}", "dataset": "mnist-fashion", "pairing": "by-class",
        "method": method, "seed": seed, "profile": "quick", "paired_fraction": fraction,
        "task": task, "class": cls, "metric": metric, "value": value,
    }


@pytest.fixture
def scores():
    return pd.DataFrame([
        row("vae-assoc", "A->B", "recognition_accuracy", 0.90, seed=0),
        row("vae-assoc", "A->B", "recognition_accuracy", 0.80, seed=1),
        row("vae-assoc", "A->B", "recognition_accuracy", 0.30, fraction=0.01),
        row("vae-assoc", "A->B", "recognition_accuracy", 0.50, cls="0/T-shirt"),
        row("vae-assoc", "A", "classifier_accuracy", 0.97),
        row("cmgans", "A", "classifier_accuracy", 0.97),
        row("cmgans", "B->A", "recognition_accuracy", 0.70),
        row("cca", "A->B", "mAP", 0.6),
    ])


def test_recognition_table_means_over_seeds_per_fraction(scores):
    table = tables.recognition_accuracy(scores).droplevel(tables.GROUP)
    assert table.loc[(1.0, "vae-assoc"), "A->B"] == pytest.approx(0.85)
    assert table.loc[(0.01, "vae-assoc"), "A->B"] == pytest.approx(0.30)
    assert table.loc[(1.0, "cmgans"), "B->A"] == pytest.approx(0.70)
    per_class = tables.per_class_recognition(scores)
    assert per_class["0/T-shirt"].item() == 0.5


def test_paper_comparison_uses_fully_paired_runs_and_shared_ceilings(scores):
    table = paper_comparison(scores)
    assert table.loc[("mnist-fashion", "vae-assoc", "A->B", "recognition_accuracy"), "paper"] == 0.9426
    assert table.loc[("mnist-fashion", "vae-assoc", "A->B", "recognition_accuracy"), "xmbench"] == pytest.approx(0.85)
    assert table.loc[("mnist-fashion", "classifier", "A", "classifier_accuracy"), "xmbench"] == pytest.approx(0.97)
    # settings xmbench has no numbers for are left out, not filled with NaN
    assert ("mnist-fashion", "vae-assoc", "B->A", "recognition_accuracy") not in table.index
