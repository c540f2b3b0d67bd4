"""``--set METHOD.PARAM=VALUE``: typed from the constructor's defaults, checked, part of the run id."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from xmbench import api
from xmbench.cli import cli
from xmbench.errors import XmbenchError
from xmbench.results.schema import RunKey
from xmbench.settings import as_key, coerce, parse_assignments


def test_values_take_the_type_of_the_default():
    settings = parse_assignments(["cmgans.lr=1e-3", "cmgans.epochs=7", "cmgans.semantic=off",
                                  "cmgans.betas=0.5,0.9", "cmgans.classifier=separate", "cmgans.max_updates=300"])
    assert settings == {"cmgans": {"lr": 0.001, "epochs": 7, "semantic": False, "betas": (0.5, 0.9),
                                   "classifier": "separate", "max_updates": 300}}
    assert type(settings["cmgans"]["epochs"]) is int and type(settings["cmgans"]["lr"]) is float
    assert coerce("m.p", None, "null") is None and coerce("m.p", None, "2.5") == 2.5  # untyped default: YAML


@pytest.mark.parametrize(("entry", "message"), [
    ("cmgans.lrr=1", "cmgans has no parameter 'lrr'; did you mean lr?"),
    ("cmgan.lr=1", "unknown method 'cmgan'; did you mean cmgans"),
    ("cmgans.lr=fast", "cmgans.lr='fast': expected a float like 0.0002"),
    ("cmgans.epochs=2.5", "cmgans.epochs='2.5': expected an int like 500"),
    ("cmgans.semantic=maybe", "expected true or false"),
    ("cmgans.lr=nan", "expected a float"),
    ("cmgans.seed=3", "cmgans.seed is chosen by --seeds, not --set"),
    ("cmgans.device=cuda", "chosen by --device"),
    ("cmgans-lr=1", "expected METHOD.PARAM=VALUE"),
    ("cmgans.lr", "expected METHOD.PARAM=VALUE"),
])
def test_bad_settings_are_one_clear_line(entry, message):
    with pytest.raises(XmbenchError, match=message.replace("(", r"\(").replace("?", r"\?").replace("[", r"\[")):
        parse_assignments([entry])


def test_settings_change_the_run_id_and_the_method_label():
    base = RunKey("digits-colors", "unique", "cmgans", 0, "smoke")
    slower = RunKey("digits-colors", "unique", "cmgans", 0, "smoke", settings=as_key({"lr": 1e-5}))
    assert base.run_id == RunKey("digits-colors", "unique", "cmgans", 0, "smoke", settings=()).run_id
    assert slower.run_id != base.run_id and "_set_" in slower.run_id
    assert slower.run_id != RunKey("digits-colors", "unique", "cmgans", 0, "smoke",
                                   settings=as_key({"lr": 1e-4})).run_id
    assert slower.method_label == "cmgans[lr=1e-05]" and base.method_label == "cmgans"
    assert slower.data_seed == base.data_seed and slower.method_seed == base.method_seed  # same replicate
    again = RunKey(**json.loads(json.dumps(slower.__dict__)))  # read back from a manifest
    assert again == slower and again.run_id == slower.run_id


def test_training_options_off_the_profile_default_are_in_the_method_label():
    """Runs with and without model selection (or another validation fraction) are different
    methods in every table: averaged as one, cca k=50 on mnist-halves read .289 (.322 and .256)."""
    quick = RunKey("digits-colors", "unique", "cca", 0, "quick", settings=as_key({"n_components": 50}))
    assert quick.method_label == "cca[n_components=50]"
    assert replace(quick, model_selection=False).method_label == "cca[n_components=50,model_selection=off]"
    assert replace(quick, validation_fraction=0.2).method_label == "cca[n_components=50,validation_fraction=0.2]"
    no_split = replace(quick, settings=(), validation_fraction=0.0, model_selection=False)
    assert no_split.method_label == "cca[validation_fraction=0]"  # no split: selection is off by default
    paper = RunKey("digits-colors", "unique", "cca", 0, "paper", validation_fraction=0.0, model_selection=False)
    assert paper.method_label == "cca"  # paper trains on every pair: no split by default
    held_out = replace(paper, validation_fraction=0.1)  # asked for, or stored before paper's default was 0
    assert held_out.method_label == "cca[validation_fraction=0.1]"
    assert replace(held_out, model_selection=True).method_label == "cca[validation_fraction=0.1,model_selection=on]"


def test_a_setting_for_a_method_not_in_the_run_is_an_error(tmp_path):
    config = api.RunConfig(methods=("cca",), settings={"cmgans": {"lr": 0.1}}, out=tmp_path)
    with pytest.raises(XmbenchError, match="--set names cmgans, which is not among the run's methods"):
        api.run_benchmark(config, log=lambda line: None)


def test_set_reaches_the_method_the_manifest_and_the_tables(tmp_path, feature_cache):
    result = CliRunner().invoke(cli, [
        "run", "--methods", "cca", "--set", "cca.n_components=4",
        "--out", str(tmp_path), "--cache-dir", str(feature_cache)])
    assert result.exit_code == 0, result.output
    [run] = (tmp_path / "runs").iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["settings"] == {"n_components": 4} and manifest["method_params"]["n_components"] == 4
    assert "_set_" in run.name and "cca[n_components=4]" in result.output
    scores = api.ResultsStore(tmp_path).load_scores()
    width = scores[(scores["metric"] == "n_components")]["value"]
    assert set(scores["method"]) == {"cca[n_components=4]"} and 1 <= width.iloc[0] <= 4  # chosen on validation


def test_set_lr_makes_cmgans_diverge_and_the_other_runs_finish(tmp_path, feature_cache):
    result = CliRunner().invoke(cli, [
        "run", "--methods", "cca,cmgans", "--set", "cmgans.lr=1e30", "--set", "cmgans.max_updates=10",
        "--out", str(tmp_path), "--cache-dir", str(feature_cache)])
    assert result.exit_code != 0
    assert "1 run(s) failed" in str(result.exception) and "non-finite loss" in str(result.exception)
    assert set(api.ResultsStore(tmp_path).load_scores()["method"]) == {"cca"}
