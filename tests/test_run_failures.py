"""A diverging method stops only its own run: the reason lands in its manifest, other runs are kept."""

from __future__ import annotations

import json

import pytest

from xmbench import api
from xmbench.methods.gan.cmgans import CMGANs
from xmbench.options import Profile


def test_diverging_run_is_recorded_and_others_finish(monkeypatch, tmp_path, feature_cache):
    monkeypatch.setattr(CMGANs, "profiles", {Profile.SMOKE: {"max_updates": 10, "lr": 1e30}})
    config = api.RunConfig(
        methods=("cca", "cmgans"), out=tmp_path / "results", cache_dir=feature_cache, device="cpu"
    )
    report = api.run_benchmark(config, log=lambda line: None)
    assert report.completed == [next(r for r in report.completed if "_cca_" in r)]
    [(failed_id, reason)] = report.failed.items()
    assert "_cmgans_" in failed_id and "cmgans: non-finite loss in phase train at update" in reason
    manifest = json.loads((tmp_path / "results" / "runs" / failed_id / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["reason"] == reason
    assert not (tmp_path / "results" / "runs" / failed_id / "scores.csv").exists()
    assert set(report.scores["method"]) == {"cca"}

    # The failed run is retried next time (it is not "finished"); the finished one is skipped.
    monkeypatch.setattr(CMGANs, "profiles", {Profile.SMOKE: {"max_updates": 5}})
    again = api.run_benchmark(config, log=lambda line: None)
    assert again.skipped == report.completed and again.completed == [failed_id]
    assert set(again.scores["method"]) == {"cca", "cmgans"}


def test_cli_exits_non_zero_when_a_run_fails(monkeypatch, tmp_path, feature_cache):
    from click.testing import CliRunner

    from xmbench.cli import cli

    monkeypatch.setattr(CMGANs, "profiles", {Profile.SMOKE: {"epochs": 1, "lr": 1e30}})
    result = CliRunner().invoke(
        cli, ["run", "--methods", "cmgans", "--out", str(tmp_path / "r"), "--cache-dir", str(feature_cache)]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, Exception) and "1 run(s) failed" in str(result.exception)


@pytest.mark.parametrize("methods", [("all",)])
def test_all_expands_to_every_registered_method(methods):
    from xmbench.methods import METHODS

    assert api.resolve_methods(methods) == tuple(METHODS.names())
