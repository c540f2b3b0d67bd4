"""One model, one name: ``cmgans-no-ws`` is an alias of ``cmgans-sc-only`` everywhere."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from xmbench import api
from xmbench.check import read_baseline
from xmbench.cli import cli
from xmbench.methods import METHODS
from xmbench.results.store import canonical_label, canonical_methods


def test_the_alias_resolves_to_the_one_model_and_is_not_listed_twice():
    assert "cmgans-no-ws" not in METHODS.names() and "cmgans-no-ws" in METHODS
    assert METHODS.get("cmgans-no-ws") is METHODS.get("cmgans-sc-only")
    assert api.resolve_methods(["cmgans-no-ws", "cmgans-sc-only", "cca"]) == ("cmgans-sc-only", "cca")
    assert "cmgans-no-ws" not in api.resolve_methods(["all"])
    assert canonical_label("cmgans-no-ws[lr=0.001]") == "cmgans-sc-only[lr=0.001]"
    assert api.resolve_settings({"cmgans-no-ws": {"lr": "0.001"}}, ("cmgans-sc-only",)) == {
        "cmgans-sc-only": {"lr": 0.001}}


def test_list_says_it_is_an_alias():
    out = CliRunner().invoke(cli, ["list"]).output
    (line,) = [row for row in out.splitlines() if row.strip().startswith("cmgans-no-ws ")]
    assert "alias of cmgans-sc-only" in line and "CM-GANs with sc" in line
    assert sum(row.strip().startswith("cmgans-sc-only ") for row in out.splitlines()) == 1
    assert "is an alias of cmgans-sc-only" in CliRunner().invoke(cli, ["list", "--method", "cmgans-no-ws"]).output


def test_a_run_under_the_alias_runs_the_model_and_says_so(tmp_path):
    lines = []
    report = api.run_benchmark(api.RunConfig(methods=("cmgans-no-ws",), out=tmp_path, cache_dir=tmp_path / "cache"),
                               log=lines.append)
    assert set(report.scores["method"]) == {"cmgans-sc-only"}
    assert any(line.startswith("cmgans-no-ws is an alias of cmgans-sc-only") for line in lines)


def _rows(method, run, value):
    return {"run_id": run, "dataset": "d", "pairing": "p", "method": method, "seed": 0, "vary": "data",
            "profile": "quick", "paired_fraction": 1.0, "features": "supervised", "task": "A->B", "space": "",
            "class": "all", "metric": "mAP", "value": value}


def test_stored_runs_under_the_alias_are_tabled_under_the_one_name_once():
    old_only = canonical_methods(pd.DataFrame([_rows("cmgans-no-ws", "r1", 0.5)]))
    assert old_only["method"].tolist() == ["cmgans-sc-only"]
    both = canonical_methods(pd.DataFrame([_rows("cmgans-no-ws", "r1", 0.5), _rows("cmgans-sc-only", "r2", 0.5),
                                           _rows("cca", "r3", 0.4)]))
    assert both["method"].tolist() == ["cmgans-sc-only", "cca"] and both["run_id"].tolist() == ["r2", "r3"]


def test_a_baseline_naming_the_alias_is_read_under_the_one_name(tmp_path):
    path = tmp_path / "b.csv"
    setting = "d,p,smoke,0,1.0,0"
    path.write_text("dataset,pairing,profile,split_seed,paired_fraction,seeds,method,task,metric,value\n"
                    f"{setting},cmgans-no-ws,A->B,mAP,0.5\n{setting},cmgans-sc-only,A->B,mAP,0.5\n")
    table, parsed = read_baseline(path)
    assert parsed.methods == ("cmgans-sc-only",) and len(table) == 1


@pytest.mark.parametrize("path", ["baselines/digits-colors_unique_smoke.csv"])
def test_committed_baselines_name_each_model_once(path):
    table, setting = read_baseline(path)
    assert "cmgans-no-ws" not in setting.methods and "cmgans-sc-only" in setting.methods
