"""The mAP regression check: comparison by hand, and a deliberately worsened method failing it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xmbench.check import compare, read_baseline
from xmbench.cli import cli
from xmbench.errors import XmbenchError
from xmbench.methods.linear.cca import CCA


def table(values: dict[tuple[str, str], float]) -> pd.DataFrame:
    return pd.DataFrame([{"method": m, "task": t, "value": v} for (m, t), v in values.items()])


def test_compare_by_hand():
    baseline = table({("cca", "A->B"): 0.80, ("cca", "B->A"): 0.80, ("kcca", "A->B"): 0.70, ("gone", "A->B"): 0.5})
    current = table({("cca", "A->B"): 0.77, ("cca", "B->A"): 0.79, ("kcca", "A->B"): 0.75})
    result = compare(baseline, current, tolerance=0.02)
    assert result.regressions[["method", "task"]].values.tolist() == [["cca", "A->B"]]
    assert result.regressions["change"].item() == pytest.approx(-0.03)
    assert result.improvements["method"].tolist() == ["kcca"]
    assert result.missing["method"].tolist() == ["gone"]
    assert not result.passed
    assert compare(baseline.iloc[:3], current, tolerance=0.05).passed


def test_unreadable_baselines_are_clear_errors(tmp_path):
    with pytest.raises(XmbenchError, match="does not exist; create it with `xmbench check --update`"):
        read_baseline(tmp_path / "none.csv")
    (tmp_path / "bad.csv").write_text("method,value\ncca,0.5\n")
    with pytest.raises(XmbenchError, match="lacks columns"):
        read_baseline(tmp_path / "bad.csv")


def invoke(tmp_path, *args):
    common = ["--out", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"), "--device", "cpu"]
    return CliRunner().invoke(cli, ["check", "--baseline", str(tmp_path / "baseline.csv"), *args, *common])


def test_a_worsened_method_fails_the_check_with_a_table(tmp_path, monkeypatch):
    created = invoke(tmp_path, "--update", "--dataset", "digits-colors", "--methods", "cca,kcca")
    assert created.exit_code == 0, created.output
    baseline, setting = read_baseline(tmp_path / "baseline.csv")
    assert setting.methods == ("cca", "kcca") and len(baseline) == 8 and setting.seeds == (0,)
    assert "mAP check passed: 8 method x task scores" in invoke(tmp_path).output
    before = (tmp_path / "baseline.csv").read_text()
    assert invoke(tmp_path, "--update", "--methods", "kcca").exit_code == 0  # a subset keeps cca's rows
    again, _ = read_baseline(tmp_path / "baseline.csv")
    assert (tmp_path / "baseline.csv").read_text() == before and len(again) == 8

    original = CCA._embed

    def worse(self, modality, X):  # a bug in cca alone that scrambles which item gets which embedding
        Z = original(self, modality, X)
        return Z[np.random.default_rng(0).permutation(len(Z))] if self.name == "cca" else Z

    monkeypatch.setattr(CCA, "_embed", worse)
    failed = invoke(tmp_path, "--force")
    assert failed.exit_code != 0
    assert "REGRESSED by more than 0.02 mAP" in failed.output
    regressed = [line for line in failed.output.splitlines() if line.startswith(("cca", "       "))]
    assert any("A->B" in line for line in regressed) and "kcca" not in failed.output.split("REGRESSED")[1]
    assert "mAP check failed against" in str(failed.exception) and "4 regression(s)" in str(failed.exception)


def test_a_rows_measured_spread_widens_only_its_own_tolerance(tmp_path):
    baseline = table({("cmgans", "A->B"): 0.30, ("cca", "A->B"): 0.80}).assign(spread=[0.05, 0.0])
    current = table({("cmgans", "A->B"): 0.26, ("cca", "A->B"): 0.77})
    result = compare(baseline, current, tolerance=0.02)
    # cmgans fell .04, inside .02 + its spread .05; cca fell .03 with no spread: a regression
    assert result.regressions["method"].tolist() == ["cca"]
    assert result.regressions["allowed"].item() == pytest.approx(0.02)
    planted = table({("cmgans", "A->B"): 0.22, ("cca", "A->B"): 0.75})  # a real regression of .05 in cca
    assert compare(baseline, planted, tolerance=0.02).regressions["method"].tolist() == ["cmgans", "cca"]
    path = tmp_path / "b.csv"
    path.write_text("dataset,pairing,profile,split_seed,paired_fraction,seeds,method,task,metric,value,spread\n"
                    "d,p,smoke,0,1.0,0,cca,A->B,mAP,0.5,\nd,p,smoke,0,1.0,0,cmgans,A->B,mAP,0.3,0.04\n")
    read, _ = read_baseline(path)
    assert read["spread"].tolist() == [0.0, 0.04]
    path.write_text(path.read_text().replace("0.04", "-1"))
    with pytest.raises(XmbenchError, match=r"column spread must hold numbers in \[0, 1\]"):
        read_baseline(path)
