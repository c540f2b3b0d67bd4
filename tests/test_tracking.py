"""``--tracker mlflow`` (issue 35): each run's params, scores, training curve and files land in an
MLflow file store; an unreachable tracker is one line before anything runs; a tracker failing
mid-sweep loses nothing; without the extra, one line saying how to install it."""

from __future__ import annotations

import sys

import pytest

from tests.test_bad_input import assert_one_line_error, xmbench
from xmbench import api
from xmbench.results.store import ResultsStore
from xmbench.tracking import EXPERIMENT, metric_name

mlflow = pytest.importorskip("mlflow")  # the test extra installs it


def test_metric_names_spell_symbols_mlflow_forbids():
    assert metric_name("mAP", "A->B") == "mAP/A to B"
    assert metric_name("mAP", "B->A+B", "A") == "mAP/B to A and B space A"
    assert metric_name("mAP", "A=>B", "", "0/T-shirt") == "mAP/A translated to B class 0_T-shirt"
    assert metric_name("correlation", "A<->B, k=10") == "correlation/A with B_ k_10"


def _run(out, **extra) -> api.RunReport:
    return api.run_benchmark(api.RunConfig(dataset="digits-colors", pairing="unique", methods=("cca", "dcca"),
                                           seeds=(0,), profile="smoke", out=out, device="cpu", tracker="mlflow",
                                           **extra), log=lambda line: None)


def test_each_run_is_logged_with_params_scores_curve_and_files(tmp_path, monkeypatch):
    uri = (tmp_path / "tracking").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    report = _run(tmp_path / "results")
    assert not report.failed
    client = mlflow.tracking.MlflowClient(uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = {r.data.tags["xmbench.method"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"cca", "dcca"} and all(r.info.status == "FINISHED" for r in runs.values())
    scores = ResultsStore(tmp_path / "results").load_scores()
    for method, run in runs.items():
        mine = scores[(scores["method"] == method) & (scores["task"] == "A->B") & (scores["metric"] == "mAP")
                      & (scores["class"] == "all") & (scores["space"] == "")]
        assert run.data.metrics["mAP/A to B"] == pytest.approx(float(mine["value"].iloc[0]))
        assert run.data.params["key.method_version"] == "1" and run.data.tags["xmbench.run_id"] == mine["run_id"].iloc[0]
        assert run.data.metrics["trainable_parameters"] > 0 and run.data.metrics["timings/fit_s"] > 0
        files = {f.path for f in client.list_artifacts(run.info.run_id)}
        assert {"manifest.json", "scores.csv"} <= files
    stored = ResultsStore(tmp_path / "results").manifests()
    cca = next(m for m in stored if m["key"]["method"] == "cca")
    assert runs["cca"].data.params["method.n_components"] == str(cca["method_params"]["n_components"])
    curve = client.get_metric_history(runs["dcca"].info.run_id, "training/train/val_map")
    assert len(curve) >= 2 and [m.step for m in curve] == sorted(m.step for m in curve)  # one point per interval


def test_an_unreachable_tracker_is_one_line_before_any_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on the discard port
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", "--out", str(tmp_path / "r"),
                           "--tracker", "mlflow", "--device", "cpu")
    assert_one_line_error(code, err, "MLflow tracking URI http://127.0.0.1:9 is unreachable")
    assert not (tmp_path / "r" / "runs").exists() or not any((tmp_path / "r" / "runs").iterdir())


def test_a_tracker_failing_mid_sweep_loses_no_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "tracking").as_uri())

    def broken(self, *args, **kwargs):
        raise ConnectionError("server went away")

    monkeypatch.setattr(mlflow.tracking.MlflowClient, "log_batch", broken)
    with pytest.warns(UserWarning, match="was not logged to MLflow .*server went away.*results are in the results folder"):
        report = _run(tmp_path / "results")
    assert len(report.completed) == 2 and ResultsStore(tmp_path / "results").load_scores()["run_id"].nunique() == 2
    client = mlflow.tracking.MlflowClient((tmp_path / "tracking").as_uri())
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert {r.info.status for r in client.search_runs([experiment.experiment_id])} == {"FAILED"}  # none left running


def test_without_the_extra_the_tracker_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", "--out", str(tmp_path / "r"),
                           "--tracker", "mlflow", "--device", "cpu")
    assert_one_line_error(code, err, 'needs MLflow: pip install "xmbench[mlflow]"')
