"""One columnar file for a sweep (issue 35): ``xmbench export`` writes scores and run facts as
Parquet; ``report`` and ``compare`` read it as they read a folder; several result sets merge by run
id, identical runs counted once, conflicting ones named in one line each."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

from tests.test_bad_input import assert_one_line_error, xmbench
from xmbench import api
from xmbench.report.build import build_report
from xmbench.results.facts import RUN_FACTS
from xmbench.results.schema import COLUMNS
from xmbench.results.sets import load_results, read_export, write_export
from xmbench.results.store import ResultsStore


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "results"
    api.run_benchmark(api.RunConfig(dataset="digits-colors", pairing="unique", methods=("cca", "dcca"), seeds=(0, 1),
                                    profile="smoke", out=out, device="cpu"), log=lambda line: None)
    return out


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["run_id", "task", "space", "class", "metric"]).reset_index(drop=True)


def test_export_round_trip_keeps_every_row_and_fact(folder, tmp_path):
    table = ResultsStore(folder).load_results()
    path = write_export(table, tmp_path / "sweep.parquet")
    back = read_export(path)
    assert list(back.columns) == [*COLUMNS, *RUN_FACTS]
    pd.testing.assert_frame_equal(_sorted(back), _sorted(table[[*COLUMNS, *RUN_FACTS]]), check_dtype=False)
    facts = back.drop_duplicates("run_id").set_index("method")
    assert set(facts["method_version"]) == {"1"} and facts.loc["dcca", "converged"].notna().all()
    assert facts["data_seed"].notna().all() and facts["fit_s"].gt(0).all()


def test_a_report_from_the_export_equals_the_report_from_the_folder(folder, tmp_path, monkeypatch, capsys):
    code, _, err = xmbench(monkeypatch, capsys, "export", "--out", str(folder), "--to", str(tmp_path / "s.parquet"))
    assert code == 0 and "4 runs" in err
    from_folder = build_report(folder, tmp_path / "a", figures=False)
    from_file = build_report(tmp_path / "s.parquet", tmp_path / "b", figures=False)
    assert [t.name for t in from_folder.tables] == [t.name for t in from_file.tables]
    for a, b in zip(from_folder.tables, from_file.tables, strict=True):
        pd.testing.assert_frame_equal(a.display, b.display)
        assert a.notes == b.notes
    assert any(t.name.startswith("cost_") for t in from_file.tables)
    assert (tmp_path / "a" / "tables").is_dir() and sorted(p.name for p in (tmp_path / "a" / "tables").iterdir()) == \
        sorted(p.name for p in (tmp_path / "b" / "tables").iterdir())


def test_merging_deduplicates_identical_runs_and_names_a_conflicting_one(folder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)  # the same runs from "another machine"
    table = ResultsStore(folder).load_results()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # identical copies: no warning at all
        merged = load_results([folder, copy]).table
    pd.testing.assert_frame_equal(_sorted(merged), _sorted(table))
    changed = table.copy()
    run = sorted(changed["run_id"].unique())[0]
    hit = (changed["run_id"] == run) & (changed["metric"] == "mAP") & (changed["task"] == "A->B") & (changed["class"] == "all")
    changed.loc[hit, "value"] += 0.25
    write_export(changed, tmp_path / "other.parquet")
    with pytest.warns(UserWarning) as caught:
        merged = load_results([folder, tmp_path / "other.parquet"]).table
    lines = [str(w.message) for w in caught]
    assert len(lines) == 1 and lines[0].startswith(f"run {run} differs between {folder} and")
    assert "largest score difference 0.25" in lines[0] and lines[0].endswith(f"kept {folder}'s")
    pd.testing.assert_frame_equal(_sorted(merged), _sorted(table))  # the first source's copy, counted once


def test_report_merges_several_result_sets_from_the_command_line(folder, tmp_path, monkeypatch, capsys):
    other = tmp_path / "more"
    api.run_benchmark(api.RunConfig(dataset="digits-colors", pairing="unique", methods=("cca",), seeds=(2,),
                                    profile="smoke", out=other, device="cpu"), log=lambda line: None)
    code, out, err = xmbench(monkeypatch, capsys, "report", "--out", str(folder), "--out", str(other),
                             "--to", str(tmp_path / "r"), "--no-figures")
    assert code == 0, err
    overall = pd.read_csv(tmp_path / "r" / "tables" / "overall_map_digits-colors_smoke.csv")
    assert overall.set_index("method").loc["cca", "average / n"] == 3  # seeds 0, 1 and 2 together


def test_bad_sources_are_one_line_each_and_nothing_finished_is_lost(folder, tmp_path, monkeypatch, capsys):
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    code, _, err = xmbench(monkeypatch, capsys, "export", "--out", str(tmp_path / "empty"), "--to", str(tmp_path / "x.parquet"))
    assert_one_line_error(code, err, "no finished runs")
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "other-shape.parquet")
    code, _, err = xmbench(monkeypatch, capsys, "report", "--out", str(tmp_path / "other-shape.parquet"))
    assert_one_line_error(code, err, "is not an xmbench export: it lacks the column(s) run_id")
    (tmp_path / "garbage.parquet").write_text("not parquet")
    code, _, err = xmbench(monkeypatch, capsys, "compare", str(folder), str(tmp_path / "garbage.parquet"))
    assert_one_line_error(code, err, "is not a readable Parquet file")
    code, _, err = xmbench(monkeypatch, capsys, "export", "--out", str(folder), "--to", str(tmp_path / "sweep.csv"))
    assert_one_line_error(code, err, "name it *.parquet")
    before = sorted(p.name for p in (folder / "runs").iterdir())
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the export's folder should be")
    code, _, err = xmbench(monkeypatch, capsys, "export", "--out", str(folder), "--to", str(blocked / "s.parquet"))
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in (folder / "runs").iterdir()) == before  # the runs are untouched
    assert ResultsStore(folder).load_results()["run_id"].nunique() == 4


def test_compare_reads_an_export_like_a_folder(folder, tmp_path, monkeypatch, capsys):
    write_export(ResultsStore(folder).load_results(), tmp_path / "same.parquet")
    code, out, err = xmbench(monkeypatch, capsys, "compare", str(folder), str(tmp_path / "same.parquet"))
    assert code == 0, err
    assert "worse" not in out.split("- change")[0] and "| digits-colors | unique | supervised | smoke | cca |" in out
