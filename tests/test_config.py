"""``xmbench run --config FILE``: options and settings from a file, the command line winning, and the
round trip through a run's manifest."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from xmbench.cli import cli
from xmbench.config import merge_sets
from xmbench.results.store import ResultsStore


def invoke(*args: str):
    return CliRunner().invoke(cli, ["run", *args])


def test_a_config_runs_and_its_manifest_reproduces_the_run(tmp_path, feature_cache):
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump({
        "methods": ["cca", "kcca"], "pairing": "non-unique", "seeds": [0, 1], "validation-fraction": 0.2,
        "set": {"kcca": {"n_components": 4}},
    }))
    first = invoke("--config", str(config), "--out", str(tmp_path / "a"), "--cache-dir", str(feature_cache))
    assert first.exit_code == 0, first.output
    runs = sorted((tmp_path / "a" / "runs").iterdir())
    assert len(runs) == 4 and all("non-unique" in run.name for run in runs)
    kcca = next(run for run in runs if "_kcca_s1_" in run.name)
    manifest = json.loads((kcca / "manifest.json").read_text())
    assert manifest["config"]["methods"] == ["kcca"] and manifest["config"]["seeds"] == [1]
    assert manifest["config"]["set"] == {"kcca": {"n_components": 4}}
    assert manifest["key"]["validation_fraction"] == 0.2

    again = invoke("--config", str(kcca / "manifest.json"), "--out", str(tmp_path / "b"),
                   "--cache-dir", str(feature_cache))
    assert again.exit_code == 0, again.output
    [rerun] = (tmp_path / "b" / "runs").iterdir()
    assert rerun.name == kcca.name
    columns = ["task", "class", "metric", "value"]
    original = pd.read_csv(kcca / "scores.csv")[columns]
    reproduced = pd.read_csv(rerun / "scores.csv")[columns]
    pd.testing.assert_frame_equal(original, reproduced)


def test_the_command_line_overrides_the_file(tmp_path, feature_cache):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"methods": "kcca", "pairing": "non-unique", "set": ["cca.n_components=2"]}))
    result = invoke("--config", str(config), "--methods", "cca", "--set", "cca.n_components=3",
                    "--out", str(tmp_path / "r"), "--cache-dir", str(feature_cache))
    assert result.exit_code == 0, result.output
    scores = ResultsStore(tmp_path / "r").load_scores()
    assert set(scores["method"]) == {"cca[n_components=3]"} and set(scores["pairing"]) == {"non-unique"}


def test_settings_merge_per_parameter():
    assert merge_sets(["cca.n_components=2", "kcca.gamma=1"], ["cca.n_components=3"]) == [
        "cca.n_components=3", "kcca.gamma=1"]


@pytest.mark.parametrize(("text", "message"), [
    ("methods: cca\npaired_fractoin: 0.5\n", "unknown option 'paired_fractoin'; did you mean 'paired-fraction'?"),
    ("- cca\n", "expected a mapping of run options, got list"),
    ("methods: [cca\n", "not readable"),
    ('{"manifest_version": 2, "run_id": "x"}', "a manifest without a `config`"),
    ("set: 3\n", "`set` must map methods"),
])
def test_bad_configs_are_one_line(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = invoke("--config", str(config), "--out", str(tmp_path / "r"))
    assert result.exit_code != 0 and message in str(result.exception), (result.output, result.exception)
