"""Executors: the Ray executor gives bit-identical results to the local one, skips finished runs,
reports a lost task without losing the others, and bad options fail in one clear line."""

from __future__ import annotations

import importlib
import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from xmbench import api
from xmbench.errors import XmbenchError
from xmbench.executors import ExecutionConfig, make_executor
from xmbench.executors import ray_cluster
from xmbench.results.store import ResultsStore

RUN_FILES = ("scores.csv", "training.csv", "embeddings.npz")


def test_an_unreachable_cluster_fails_in_seconds():
    """Before the module's cluster starts: a process already connected to Ray never reconnects."""
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    executor = make_executor(ExecutionConfig("ray", address="127.0.0.1:1"), "cpu")
    with pytest.raises(XmbenchError, match="no Ray cluster answers at 127.0.0.1:1"):
        with executor.session():
            pass


@pytest.fixture(scope="module")
def ray_cluster_of_two():
    """One local two-CPU Ray cluster for the module (starting one costs seconds)."""
    ray = pytest.importorskip("ray", reason="the Ray executor is an optional extra: pip install 'xmbench[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def sweep(tmp_path, cache, name: str, executor: str, **overrides) -> api.RunConfig:
    settings = dict(
        methods=("cca", "cmgans"), seeds=(0, 1), device="cpu", out=tmp_path / name, cache_dir=cache,
        execution=ExecutionConfig(executor, cpus_per_run=1),
    )
    return api.RunConfig(**(settings | overrides))


def test_ray_results_are_identical_to_local(ray_cluster_of_two, tmp_path, feature_cache):
    local = api.run_benchmark(sweep(tmp_path, feature_cache, "local", "local"), log=lambda line: None)
    ray = api.run_benchmark(sweep(tmp_path, feature_cache, "ray", "ray"), log=lambda line: None)
    assert not local.failed and not ray.failed
    assert sorted(ray.completed) == sorted(local.completed) and len(local.completed) == 4
    order = ["run_id", "task", "class", "metric"]
    pd.testing.assert_frame_equal(
        ray.scores.sort_values(order).reset_index(drop=True), local.scores.sort_values(order).reset_index(drop=True),
        check_exact=True,
    )
    for run_id in local.completed:
        for name in RUN_FILES:
            if name == "training.csv" and "_cca_" in run_id:
                continue  # closed form: no training records
            assert (tmp_path / "ray" / "runs" / run_id / name).read_bytes() == \
                (tmp_path / "local" / "runs" / run_id / name).read_bytes(), (run_id, name)
        manifest = json.loads((tmp_path / "ray" / "runs" / run_id / "manifest.json").read_text())
        assert manifest["execution"]["executor"] == "ray" and manifest["execution"]["torch_threads"] == 1


def test_ray_skips_finished_runs_and_runs_only_the_rest(ray_cluster_of_two, tmp_path, feature_cache):
    first = api.run_benchmark(sweep(tmp_path, feature_cache, "r", "ray", methods=("cca",)), log=lambda line: None)
    second = api.run_benchmark(sweep(tmp_path, feature_cache, "r", "ray", methods=("cca", "kcca")), log=lambda line: None)
    assert sorted(second.skipped) == sorted(first.completed)
    assert len(second.completed) == 2 and all("_kcca_" in run_id for run_id in second.completed)
    assert set(second.scores["method"]) == {"cca", "kcca"}


def test_a_lost_ray_task_is_reported_and_the_others_are_kept(ray_cluster_of_two, tmp_path, feature_cache, monkeypatch):
    real = ray_cluster._run_on_worker

    def crash_cmgans_worker(key, *args):  # a nested function: Ray ships it by value
        if key.method == "cmgans":
            os._exit(1)  # the worker process dies, as when a node is lost or the OOM killer strikes
        return real(key, *args)

    monkeypatch.setattr(ray_cluster, "_run_on_worker", crash_cmgans_worker)
    report = api.run_benchmark(sweep(tmp_path, feature_cache, "r", "ray", seeds=(0,)), log=lambda line: None)
    [(failed_id, reason)] = report.failed.items()
    assert "_cmgans_" in failed_id and reason.startswith("Ray task failed:") and "Worker" in reason
    assert [run_id for run_id in report.completed] == [r for r in report.completed if "_cca_" in r] != []
    manifest = ResultsStore(tmp_path / "r").read_manifest(tmp_path / "r" / "runs" / failed_id)
    assert manifest["status"] == "failed" and manifest["reason"] == reason
    assert set(report.scores["method"]) == {"cca"}


def test_a_method_failure_on_a_worker_is_an_outcome(ray_cluster_of_two, tmp_path, feature_cache, monkeypatch):
    """The failure travels in the shared inputs (Ray's workers import xmbench afresh, so a patched
    class would not reach them): image recognizers missing, as on a dataset without raw images."""
    real_inputs = api.Replicate.inputs

    def inputs_without_image_recognizers(*args, **kwargs):
        inputs = real_inputs(*args, **kwargs)
        inputs.recognizers.pop("images", None)
        return inputs

    monkeypatch.setattr(api.Replicate, "inputs", inputs_without_image_recognizers)
    report = api.run_benchmark(sweep(tmp_path, feature_cache, "r", "ray", methods=("cca", "syncgan-image"), seeds=(0,)),
                               log=lambda line: None)
    [(failed_id, reason)] = report.failed.items()
    assert "_syncgan-image_" in failed_id and reason == "syncgan-image needs raw images of both modalities; " \
        "digits-colors has no image extractor for both"
    assert len(report.completed) == 1 and "_cca_" in report.completed[0]


def test_local_executor_pins_threads_only_during_a_run(tmp_path, feature_cache):
    before = torch.get_num_threads()
    report = api.run_benchmark(sweep(tmp_path, feature_cache, "l", "local", methods=("cca",), seeds=(0,)), log=lambda line: None)
    [run_id] = report.completed
    manifest = json.loads((tmp_path / "l" / "runs" / run_id / "manifest.json").read_text())
    assert manifest["execution"] == {"executor": "local", "host": manifest["execution"]["host"], "torch_threads": 1}
    assert manifest["device"] == "cpu (1 threads)"
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("execution", "device", "message"),
    [
        (ExecutionConfig("local", address="auto"), "auto", "--address names a Ray cluster; it needs --executor ray"),
        (ExecutionConfig("local", gpus_per_run=1), "auto", "--gpus-per-run needs --executor ray"),
        (ExecutionConfig("rayy"), "auto", "unknown executor 'rayy'; did you mean ray?"),
        (ExecutionConfig("ray", gpus_per_run=-1), "auto", "--gpus-per-run must be >= 0"),
        (ExecutionConfig("ray", gpus_per_run=0), "cuda", "--device cuda with --gpus-per-run 0"),
    ],
)
def test_bad_execution_options_fail_before_any_work(execution, device, message):
    with pytest.raises(XmbenchError, match=message.replace("?", r"\?")):
        make_executor(execution, device)


def test_ray_missing_says_how_to_install(monkeypatch):
    real_import = importlib.import_module

    def without_ray(name, *args):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_ray)
    with pytest.raises(XmbenchError, match=r"needs Ray, which is not installed: pip install 'xmbench\[ray\]'"):
        make_executor(ExecutionConfig("ray"), "auto")


def test_a_request_no_node_can_hold_is_refused(ray_cluster_of_two):
    executor = make_executor(ExecutionConfig("ray", cpus_per_run=3), "cpu")
    with pytest.raises(XmbenchError, match="no node of the Ray cluster can hold a run of 3 CPU and 0 GPU"):
        with executor.session():
            pass
    gpu = make_executor(ExecutionConfig("ray", gpus_per_run=1), "auto")
    with pytest.raises(XmbenchError, match="1 GPU"):
        with gpu.session():
            pass
    assert np.isclose(ray_cluster_of_two.cluster_resources()["CPU"], 2)  # the caller's cluster survives


def test_cli_passes_execution_options_and_fails_in_one_line(tmp_path):
    from click.testing import CliRunner

    from xmbench.cli import cli

    result = CliRunner().invoke(cli, ["run", "--methods", "cca", "--address", "auto", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "--address names a Ray cluster; it needs --executor ray" in str(result.exception)
    result = CliRunner().invoke(cli, ["run", "--methods", "cca", "--cpus-per-run", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--cpus-per-run" in result.output
    assert not (tmp_path / "runs").exists()  # nothing ran
