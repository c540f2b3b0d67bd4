"""``xmbench compare``: the paired change, its CI and Holm verdicts against a hand computation; rows
of one side only; baseline files; the command's exit codes and bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from xmbench import api
from xmbench.cli import cli
from xmbench.compare import KEY, compare_sides, markdown, read_side


def _side(values: dict[str, list[float]], label: str = "cca") -> pd.DataFrame:
    rows = [("toy", "unique", "given", "quick", "cca", task, seed, label, v)
            for task, per_seed in values.items() for seed, v in enumerate(per_seed)]
    return pd.DataFrame(rows, columns=[*KEY, "seed", "label", "value"])


def test_change_ci_and_holm_verdicts_equal_a_hand_computation():
    old = _side({"A->B": [0.80, 0.82, 0.81, 0.83], "B->A": [0.70, 0.71, 0.72, 0.70]})
    new = _side({"A->B": [0.70, 0.73, 0.70, 0.74], "B->A": [0.71, 0.70, 0.73, 0.71]}, label="cca[shrinkage=0.5]")
    result = compare_sides(old, new, tolerance=0.02)
    rows = result.table.set_index("task")
    p = {}
    for task in ("A->B", "B->A"):
        diff = np.array(new[new.task == task].value) - np.array(old[old.task == task].value)
        half = stats.t.ppf(0.975, 3) * diff.std(ddof=1) / 2
        assert rows.loc[task, "change"] == pytest.approx(diff.mean())
        assert rows.loc[task, "ci"] == pytest.approx(half)
        p[task] = stats.ttest_rel(new[new.task == task].value, old[old.task == task].value).pvalue
        assert rows.loc[task, "p"] == pytest.approx(p[task])
    small, large = sorted(p.values())
    expected = {task: min(1.0, (2 * small if v == small else max(2 * small, large))) for task, v in p.items()}
    for task in p:
        assert rows.loc[task, "p_holm"] == pytest.approx(expected[task])
    assert rows.loc["A->B", "verdict"] == "worse" and rows.loc["A->B", "regressed"]  # -0.095, p_holm ~ .006
    assert rows.loc["B->A", "verdict"] == "no evidence" and not rows.loc["B->A", "regressed"]
    assert set(rows["settings"]) == {"old cca; new cca[shrinkage=0.5]"}  # matched by name, the difference said


def test_untested_rows_judged_by_the_tolerance_and_one_sided_keys_listed_apart():
    old = _side({"A->B": [0.80], "B->A": [0.70], "A->A+B": [0.5]})
    new = _side({"A->B": [0.75], "B->A": [0.69], "B->A+B": [0.9]})
    result = compare_sides(old, new, tolerance=0.02)
    rows = result.table.set_index("task")
    assert rows.loc["A->B", "verdict"] == "worse" and rows.loc["A->B", "regressed"]  # -0.05, beyond 0.02, untested
    assert rows.loc["B->A", "verdict"] == "no evidence"  # -0.01, within the tolerance
    assert rows["p_holm"].isna().all()
    assert list(result.only_old["task"]) == ["A->A+B"] and list(result.only_new["task"]) == ["B->A+B"]
    text = markdown(result)
    assert "only in old (1)" in text and "only in new (1)" in text


def test_the_command_exits_1_naming_regressions_and_0_on_identical_sets(tmp_path, feature_cache):
    from xmbench.datasets import from_arrays
    from xmbench.testing import planted_pairs

    train, _ = planted_pairs(300, 0, 8, 6, 4, 0.5, seed=0)
    dataset = from_arrays(train.a, train.b, train.y_a, name="toy")
    for out, settings in (("old", {}), ("new", {"cca": {"n_components": 1}})):
        config = api.RunConfig(dataset=dataset, methods=("cca",), seeds=(0, 1, 2), out=tmp_path / out,
                               cache_dir=feature_cache, settings=settings)
        assert not api.run_benchmark(config, log=lambda line: None).failed
    runner = CliRunner()
    worse = runner.invoke(cli, ["compare", str(tmp_path / "old"), str(tmp_path / "new"), "--to", str(tmp_path / "c.csv")])
    assert worse.exit_code == 1, worse.output
    assert "worse by more than 0.02" in worse.output and "cca/A->B" in worse.output
    assert len(pd.read_csv(tmp_path / "c.csv")) == 4
    same = runner.invoke(cli, ["compare", str(tmp_path / "old"), str(tmp_path / "old")])
    assert same.exit_code == 0, same.output
    assert "0 row(s)" in same.output
    assert read_side(tmp_path / "old")["seed"].nunique() == 3


def test_bad_inputs_are_one_line(tmp_path, monkeypatch, capsys):
    from tests.test_bad_input import assert_one_line_error, xmbench

    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    for args, message in [
        ([str(tmp_path / "nothing"), str(tmp_path)], "neither a results folder, an export (.parquet) nor a baseline file"),
        ([str(tmp_path / "empty"), str(tmp_path / "empty")], "no finished runs"),
        ([str(tmp_path / "bad.csv"), str(tmp_path / "empty")], "lacks columns"),
        ([str(tmp_path), str(tmp_path), "--tolerance", "-1"], "--tolerance"),
    ]:
        code, _, err = xmbench(monkeypatch, capsys, "compare", *args)
        assert_one_line_error(code, err, message)
