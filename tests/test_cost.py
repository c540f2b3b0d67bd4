"""Cost beside accuracy (issue 35): what a fitted model counts as its parameters, what a run
records, the Pareto front, the report's cost table and figure, all against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xmbench import api
from xmbench.methods import METHODS
from xmbench.methods.base import CrossModalMethod
from xmbench.report import tables
from xmbench.report.build import build_report
from xmbench.report.cost import cost_points, pareto_front
from xmbench.report.plots_cost import cost_figure
from xmbench.results.store import ResultsStore
from xmbench.testing import planted_pairs


class Towers(CrossModalMethod):
    """Two linear towers sharing a head: the head's parameters count once, frozen ones too."""

    name = "towers-test"

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        self.seed, self.device = seed, device

    def _fit(self, train):
        head = nn.Linear(4, 2)  # 10 parameters, held by both towers
        self.towers_ = {"a": nn.Sequential(nn.Linear(6, 4), head), "b": nn.Sequential(nn.Linear(3, 4), head)}
        self.towers_["b"].requires_grad_(False)  # frozen once fitted: still what fit learned
        self.norm_ = nn.BatchNorm1d(4)  # 8 parameters (weight, bias); its running statistics are buffers
        self.scale_ = np.ones(5)  # not counted: the model has networks

    def _embed(self, modality, X):
        return np.ones((len(X), 2))


def test_parameters_are_counted_once_frozen_included_buffers_not():
    train = planted_pairs(20, 0, 6, 3, 2, 0.5, seed=0)[0]
    # tower a 6*4+4, tower b 3*4+4, shared head 4*2+2, batch norm 4+4
    assert Towers().fit(train).trainable_parameters() == 28 + 16 + 10 + 8


def test_closed_form_methods_count_the_arrays_they_fit():
    train = planted_pairs(200, 0, 10, 7, 4, 0.5, seed=0)[0]
    cca = METHODS.get("cca")(n_components=3).fit(train)
    k = len(cca.correlations_)
    # projections (10 + 7) x k, means 10 + 7, canonical correlations k
    assert cca.trainable_parameters() == 17 * k + 17 + k


def test_a_deep_method_counts_every_network_it_trains():
    train = planted_pairs(200, 0, 10, 7, 4, 0.5, seed=0)[0]
    dcca = METHODS.get("dcca")(hidden=(16,), out_dim=4, max_updates=2).fit(train)
    expected = sum(p.numel() for p in dcca.nets_.parameters())
    assert expected == (10 * 16 + 16 + 16 * 4 + 4) + (7 * 16 + 16 + 16 * 4 + 4)
    assert dcca.trainable_parameters() == expected


def test_pareto_front_by_hand():
    # a: best mAP, slowest; b: dominated by c (slower and worse); c: fast and good; d: fastest, worst;
    # e: no time recorded (never on the front); f: ties c exactly (neither dominates the other)
    accuracy = np.array([0.9, 0.7, 0.8, 0.5, 0.95, 0.8])
    seconds = np.array([100.0, 20.0, 10.0, 1.0, np.nan, 10.0])
    assert pareto_front(accuracy, seconds).tolist() == [True, False, True, True, False, True]


def _runs() -> pd.DataFrame:
    """Two methods, two seeds, the four retrieval tasks; method "slow" better and slower."""
    rows = []
    for method, base, seconds, params, updates in (("fast", 0.5, (1.0, 3.0), 100, np.nan), ("slow", 0.8, (10.0, 30.0), 5000, 40)):
        for seed in (0, 1):
            for i, task in enumerate(("A->B", "B->A", "A->A+B", "B->A+B")):
                rows.append({"run_id": f"{method}{seed}", "dataset": "toy", "pairing": "p", "method": method,
                             "seed": seed, "vary": "data", "profile": "quick", "paired_fraction": 1.0,
                             "features": "supervised", "task": task, "space": "", "class": "all", "metric": "mAP",
                             "value": base + 0.01 * i + 0.1 * seed, "fit_s": seconds[seed],
                             "trainable_parameters": params, "updates": updates, "device": "cpu (2 threads)",
                             "host": "vm"})
    return pd.DataFrame(rows)


def test_cost_points_and_table_against_a_hand_computation():
    points = cost_points(_runs()).set_index("method")
    # per seed: the mean of the four tasks (base + .015 + .1 seed); over seeds: base + .065, t CI of 2 values
    half = 12.706204736 * np.std([0.0, 0.1], ddof=1) / np.sqrt(2)
    assert points.loc["fast", "map"] == pytest.approx(0.565) and points.loc["slow", "map"] == pytest.approx(0.865)
    assert points.loc["fast", "map_ci"] == pytest.approx(half, rel=1e-6)
    assert points.loc["slow", "fit_s"] == pytest.approx(20.0)
    assert points.loc["slow", "fit_s_ci"] == pytest.approx(12.706204736 * np.std([10, 30], ddof=1) / np.sqrt(2), rel=1e-6)
    assert points["front"].tolist() == [True, True]  # faster-and-worse against better-and-slower
    cost = next(t for t in tables.build_tables(_runs()) if t.name.startswith("cost_"))
    assert cost.display.loc["slow"].tolist() == ["0.865 ± 0.635", "20.0 ± 127.1", "40", "5k", "cpu (2 threads)"]
    assert cost.display.loc["fast", "updates"] == "closed form" and cost.display.loc["fast", "trainable parameters"] == "100"
    assert cost.best["average mAP"].all()  # both on the front: bold
    worse = _runs()
    worse.loc[worse["method"] == "fast", "fit_s"] = 50.0  # now slower and worse than "slow": off the front
    cost = next(t for t in tables.build_tables(worse) if t.name.startswith("cost_"))
    assert cost.best["average mAP"].tolist() == [False, True]


def test_several_pairings_get_a_row_and_a_front_each():
    runs = _runs()
    other = runs.assign(pairing="q", value=runs["value"] - 0.4 * (runs["method"] == "slow"))  # slow is worse there
    cost = next(t for t in tables.build_tables(pd.concat([runs, other])) if t.name.startswith("cost_"))
    assert list(cost.display.index) == [("fast", "p"), ("fast", "q"), ("slow", "p"), ("slow", "q")]
    assert cost.best["average mAP"].tolist() == [True, True, True, False]  # on q, slow is slower and worse


def test_tables_without_facts_have_no_cost_table_and_the_figure_is_skipped():
    plain = _runs().drop(columns=["fit_s", "trainable_parameters", "updates", "device", "host"])
    assert not any(t.name.startswith("cost_") for t in tables.build_tables(plain))
    assert cost_figure(plain) is None
    figure = cost_figure(_runs())
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and "Pareto front" in [line.get_label() for line in ax.lines]


def test_a_run_records_its_parameters_and_the_report_tables_its_cost(tmp_path):
    api.run_benchmark(api.RunConfig(dataset="digits-colors", pairing="unique", methods=("cca", "dcca"), seeds=(0, 1),
                                    profile="smoke", out=tmp_path / "results", device="cpu"), log=lambda line: None)
    results = ResultsStore(tmp_path / "results").load_results()
    facts = results.drop_duplicates("run_id").set_index("method")
    assert (facts["trainable_parameters"] > 0).all() and (facts["fit_s"] > 0).all()
    assert (facts.loc["dcca", "updates"] > 0).all() and facts.loc["cca", "updates"].isna().all()
    assert set(facts["method_version"]) == {"1"} and set(facts["device"]) == {f"cpu ({torch.get_num_threads()} threads)"}
    report = build_report(tmp_path / "results", tmp_path / "report")
    assert any(t.name == "cost_digits-colors_smoke" for t in report.tables)
    assert any(f.name.startswith("cost_digits-colors") for f in report.figures)
