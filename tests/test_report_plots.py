"""Figures from a tiny synthetic results store, and the precision-recall machinery by hand and
against the harness's AP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from PIL import Image

from xmbench.data.base import PairedSplit
from xmbench.eval.protocol import retrieval_scores
from xmbench.eval.retrieval import Task, retrieval_ap
from xmbench.report import plots
from xmbench.report.plots_curves import (
    learning_curves_figure,
    loss_curves_figure,
    pr_curves_figure,
    precision_recall,
    task_curve,
)
from xmbench.report.plots_space import space_map_figure
from xmbench.results.schema import RunKey
from xmbench.results.store import ResultsStore

CLASSES = ["c0", "c1", "c2"]
N_TEST = 30
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scores(key: RunKey, rng: np.random.Generator, trained: bool) -> pd.DataFrame:
    rows = [(task, cls, "mAP") for task in plots.TASKS for cls in ["all", *CLASSES]]
    if trained:
        rows += [(d, "all", "recognition_accuracy") for d in ("A->B", "B->A")] + [
            (m, "all", "classifier_accuracy") for m in "AB"
        ]
    frame = pd.DataFrame(rows, columns=["task", "class", "metric"])
    frame["value"] = rng.uniform(0.3, 0.9, len(frame))
    if trained:  # seed 0 kept its state at update 20 and converged; seed 1 ran out of budget at 30
        facts = {"selected_update": 20.0 + 10 * key.seed, "converged": float(key.seed == 0)}
        frame = pd.concat([frame, pd.DataFrame([("training", "all", m, v) for m, v in facts.items()],
                                               columns=["task", "class", "metric", "value"])])
    fields = asdict(key)
    keys = [*plots.SETTING, "method", "seed", "paired_fraction"]
    return frame.assign(run_id=key.run_id, space="", **{k: fields[k] for k in keys})


def _embeddings(shared: bool, rng: np.random.Generator) -> tuple[dict, np.ndarray, np.ndarray]:
    y = np.arange(N_TEST) % len(CLASSES)
    centres = rng.standard_normal((len(CLASSES), 4)) * 3
    a, b = (centres[y] + rng.standard_normal((N_TEST, 4)) for _ in range(2))
    embeddings = {"a": a, "b": b} if shared else {"a@a": a, "b@a": b + 0.1, "a@b": a - 0.1, "b@b": b}
    return embeddings, y, y


def write_store(root, *, embeddings: bool = True, fractions=(1.0, 0.5), gan: bool = True) -> ResultsStore:
    """Methods: "shared" (one space), "split" (one space per modality), "gan" (losses), "old" (no
    embeddings stored); two seeds; the paired fractions given (all methods at each)."""
    store, rng = ResultsStore(root), np.random.default_rng(0)
    for method in ["shared", "split", "old"] + (["gan"] if gan else []):
        for seed in (0, 1):
            for fraction in fractions:
                key = RunKey("toy", "p", method, seed, "smoke", paired_fraction=fraction)
                training = None
                if method == "gan":
                    training = pd.DataFrame(
                        [("train", u, u / 10, m, rng.uniform(1, 3)) for u in (0, 10, 20, 30)
                         for m in ("g_loss", "d_loss", "d_inter_a", "val_map") if u or m == "val_map"]
                        + [("train", u, u / 10, f"d_acc_{kind}_{name}", value)  # balanced: .6, .8 -> .7
                           for u in (10, 20, 30) for kind, name, value in
                           (("real", "x", 0.9), ("fake", "x", 0.3), ("real", "y", 1.0), ("fake", "y", 0.6))],
                        columns=["phase", "update", "epoch", "metric", "value"],
                    )
                manifest = {
                    "run_id": key.run_id, "status": "ok", "key": asdict(key),
                    "dataset": {"classes": CLASSES, "modalities": {"a": "image", "b": "text"}},
                }
                stored = _embeddings(method != "split", rng) if embeddings and method != "old" else None
                store.write_run(key, _scores(key, rng, trained=method == "gan"), training, manifest, stored)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ResultsStore:
    return write_store(tmp_path_factory.mktemp("store"))


def test_make_figures_writes_valid_png_and_svg(store, tmp_path):
    files = plots.make_figures(store, store.load_scores(), tmp_path)
    kinds = {f.name.split("_toy")[0] for f in files}
    assert kinds == {"per_class_map", "ranking", "paired_fraction", "learning_curves", "loss_curves", "pr_curves",
                     "common_space"}
    for figure in files:
        assert figure.png.read_bytes()[:8] == PNG_MAGIC
        with Image.open(figure.png) as image:  # a small palette PNG (the HTML page embeds it)
            assert image.mode == "P" and len(image.getcolors()) <= plots.PNG_COLOURS
        assert ET.parse(figure.svg).getroot().tag.endswith("svg")
        assert figure.title and figure.caption


def test_figures_with_absent_data_are_skipped(tmp_path):
    store = write_store(tmp_path / "s", embeddings=False, fractions=(1.0,), gan=False)
    scores = store.load_scores()
    assert plots.fraction_figure(scores) is None  # one paired fraction
    assert loss_curves_figure(store, scores) is None  # no method trained adversarially
    assert learning_curves_figure(store, scores) is None  # no validation curve
    assert pr_curves_figure(store, scores) is None  # runs stored before embeddings existed
    assert space_map_figure(store, scores) is None
    assert plots.per_class_map_figure(scores[scores["metric"] != "mAP"]) is None
    names = {f.name.split("_toy")[0] for f in plots.make_figures(store, scores, tmp_path / "figs")}
    assert names == {"per_class_map", "ranking"}


def test_store_figures_use_the_right_runs_and_spaces(store):
    scores = store.load_scores()
    pr = pr_curves_figure(store, scores)
    assert {line.get_label() for line in pr.axes[0].lines} == {"shared", "split", "gan"}  # "old" has none
    assert "seed 0" in pr.get_suptitle()
    titles = {ax.get_title() for ax in space_map_figure(store, scores).axes if ax.get_visible()}
    assert titles == {"shared", "split (B's space)", "gan"}
    losses = loss_curves_figure(store, scores)
    assert [ax.get_title() for ax in losses.axes] == ["generator loss", "discriminator loss",
                                                      "discriminator balanced accuracy"]
    (curve,) = [line for line in losses.axes[2].lines if len(line.get_ydata()) and line.get_linestyle() != "--"]
    np.testing.assert_allclose(curve.get_ydata(), [0.7, 0.7, 0.7])  # mean over x (.6) and y (.8)
    assert [line.get_ydata()[0] for line in losses.axes[2].lines if line.get_linestyle() == "--"] == [0.5]
    assert all(ax.get_xlabel() == "update" for ax in losses.axes)
    assert "(smoke: CI-sized, not converged)" in losses.get_suptitle()


def test_learning_curves_mark_each_runs_selected_update(store):
    scores = store.load_scores()
    figure = learning_curves_figure(store, scores)
    (ax,) = [a for a in figure.axes if a.get_visible()]  # a panel per method with a curve: only "gan"
    assert ax.get_title() == "gan"
    marks = [(c.get_offsets()[0, 0], c) for c in ax.collections if isinstance(c, PathCollection)]
    training = store.load_training()
    curves = training[(training["metric"] == "val_map") & (training["method"] == "gan")]
    # one line and one mark per run (two seeds, the largest paired fraction), at the run's selected update
    assert sorted(x for x, _ in marks) == [20.0, 30.0]
    assert len(ax.lines) == 2
    assert len(curves["run_id"].unique()) == 4  # both fractions stored; the figure shows fraction 1.0


def test_t_interval_by_hand():
    low, high = plots.t_interval([1.0, 2.0, 3.0])
    assert (low + high) / 2 == pytest.approx(2.0)
    assert (high - low) / 2 == pytest.approx(4.302652729911275 / np.sqrt(3))
    assert plots.t_interval([0.5]) == (0.5, 0.5)


def test_precision_recall_by_hand():
    # cosine order of the gallery: g0 (relevant), g1, g2 (relevant), g3
    gallery = np.array([[1.0, 0.1], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]])
    levels = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    curve = precision_recall(np.array([[1.0, 0.0]]), np.array([1]), gallery, np.array([1, 0, 1, 0]), levels=levels)
    # precision 1, 1/2, 2/3, 1/2 at recall 1/2, 1/2, 1, 1
    np.testing.assert_allclose(curve.precision, [1, 1, 1, 2 / 3, 2 / 3])
    assert curve.ap[0] == pytest.approx((1 + 2 / 3) / 2)
    # the query itself (g0's place) excluded: g2 is first of the relevant, at rank 2
    curve = precision_recall(
        np.array([[1.0, 0.0]]), np.array([1]), gallery, np.array([1, 0, 1, 0]), self_index=np.array([0]), levels=levels
    )
    np.testing.assert_allclose(curve.precision, [0.5] * 5)
    assert curve.ap[0] == pytest.approx(0.5)


def test_ap_from_the_curve_ranking_equals_the_harness_without_ties():
    rng = np.random.default_rng(3)
    q, g = rng.standard_normal((70, 5)), rng.standard_normal((120, 5))
    yq, yg = rng.integers(0, 4, 70), rng.integers(0, 4, 120)
    self_index = rng.permutation(120)[:70]
    for kwargs in ({}, {"self_index": self_index}):
        curve = precision_recall(q, yq, g, yg, chunk_size=16, **kwargs)
        np.testing.assert_allclose(curve.ap, retrieval_ap(q, yq, g, yg, **kwargs), rtol=0, atol=1e-12)
        # interpolated precision bounds AP from above; the area under the curve is close to it
        area = np.trapezoid(curve.precision, curve.levels)
        assert area >= curve.ap.mean() - 0.01


def test_tied_scores_match_the_harness_expected_ap_on_average():
    # every gallery item of a class is the same point (as colour images are): big ties
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((5, 3))
    yg, yq = np.repeat(np.arange(5), 60), rng.integers(0, 5, 400)
    centres[4] = centres[3]  # two classes share one point (the non-unique pairing)
    q = centres[yq] + 0.8 * rng.standard_normal((400, 3))
    curve = precision_recall(q, yq, centres[yg], yg)
    assert np.nanmean(curve.ap) == pytest.approx(retrieval_ap(q, yq, centres[yg], yg).mean(), abs=0.01)


@pytest.mark.parametrize("shared", [True, False])
def test_task_curves_score_each_task_as_the_harness_does(shared):
    # same spaces (Task.space for one space per modality) and self-exclusion as the harness's mAP
    embeddings, y_a, y_b = _embeddings(shared, np.random.default_rng(5))
    test = PairedSplit(np.zeros((N_TEST, 1)), np.zeros((N_TEST, 1)), y_a, y_b)
    harness = retrieval_scores(embeddings, test, CLASSES).query("`class` == 'all' and space == ''").set_index("task")["value"]
    for task in Task:
        curve = task_curve(embeddings, y_a, y_b, task)
        assert curve.ap.mean() == pytest.approx(harness[task.value], abs=1e-12)
