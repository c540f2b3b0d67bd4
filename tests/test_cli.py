"""End to end through the command line: run, resume, report, list, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xmbench.cli import cli
from xmbench.results.schema import COLUMNS


def xmbench(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xmbench.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    cache = tmp_path_factory.mktemp("cache")
    args = ["run", "--methods", "cca,kcca", "--pairing", "non-unique", "--out", str(out), "--cache-dir", str(cache)]
    first = xmbench(*args)
    return out, cache, args, first


def test_run_prints_a_summary_and_writes_the_long_table(finished_run):
    out, _, _, first = finished_run
    assert first.returncode == 0, first.stderr
    assert "A->B" in first.stdout and "kcca" in first.stdout
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 2
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert {"fit_s", "features_s", "evaluate_s"} <= set(manifest["timings"])
    assert manifest["versions"]["torch"] and manifest["device"].startswith("cpu")
    with np.load(runs[0] / "embeddings.npz") as stored:  # what retrieval was scored on, for PR curves and maps
        assert {"emb_a", "emb_b", "y_a", "y_b"} <= set(stored.files) and len(stored["emb_a"]) == len(stored["y_a"])
    scores = pd.read_csv(runs[0] / "scores.csv", keep_default_na=False)
    assert list(scores.columns) == list(COLUMNS)
    assert COLUMNS[-7:] == ("paired_fraction", "features", "task", "space", "class", "metric", "value")
    assert set(scores["space"]) == {""} and set(scores["vary"]) == {"data"}  # shared-space methods, replicates
    overall = scores[(scores["metric"] == "mAP") & (scores["class"] == "all")]
    assert set(overall["task"]) == {"A->B", "B->A", "A->A+B", "B->A+B"}
    assert {"7/blue", "8/blue"} <= set(scores["class"])


def test_rerun_resumes_and_force_recomputes_identically(finished_run):
    out, cache, args, first = finished_run
    second = xmbench(*args)
    assert second.returncode == 0
    assert second.stderr.count("skip ") == 2 and "features of" not in second.stderr
    before = pd.read_csv(next((out / "runs").glob("*cca_s0*/scores.csv")))
    forced = xmbench(*args, "--force")
    assert forced.returncode == 0 and "cache hit" in forced.stderr
    after = pd.read_csv(next((out / "runs").glob("*cca_s0*/scores.csv")))
    pd.testing.assert_frame_equal(before, after)


def test_report_prints_and_writes_tables(finished_run):
    out = finished_run[0]
    result = CliRunner().invoke(cli, ["report", "--out", str(out), "--no-figures"])
    assert result.exit_code == 0, result.output
    assert "Per-class mAP" in result.output and "7/blue" in result.output
    written = {path.name for path in (out / "report" / "tables").iterdir()}
    assert {"overall_map_digits-colors_smoke.csv", "overall_map_digits-colors_smoke.md"} <= written
    assert any(name.endswith(".tex") for name in written)
    assert "Overall mAP" in (out / "report" / "index.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--methods", "ccca"], "unknown method 'ccca'; did you mean cca"),
        (["run", "--dataset", "wikipedia", "--pairing", "unique", "--data-root", "."], "valid: documents"),
        (["run", "--dataset", "letters-colors", "--data-root", "/nonexistent"], "is not a directory"),
        (["report", "--out", "/nonexistent"], "no finished runs"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(args, message, tmp_path):
    result = xmbench(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_option_value_lists_choices(tmp_path):
    result = xmbench("run", "--device", "tpu", cwd=tmp_path)
    assert result.returncode == 2 and "'tpu' is not one of 'auto', 'cpu', 'cuda'" in result.stderr


def test_list_shows_datasets_methods_and_profiles():
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0
    for word in ("digits-colors", "letters-colors", "mnist-fashion", "wikipedia", "cca", "kcca", "smoke"):
        assert word in result.output
