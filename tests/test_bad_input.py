"""Bad input as a hostile but realistic user gives it: every case exits non-zero with one line on
stderr naming the problem, never a traceback, and loses nothing finished before the command.

The CLI runs in this process (``xmbench.cli.main`` with a patched argv): an exception that escapes
it fails the test, which is what a traceback would be. Corrupt files are made from tiny synthetic
ones; nothing here trains a model, except the finished run the store cases damage (cca, seconds).
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from xmbench.cli import main

BASELINE = Path(__file__).resolve().parent.parent / "baselines" / "digits-colors_unique_smoke.csv"


def xmbench(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``xmbench ARGS`` run in this process."""
    monkeypatch.setattr(sys, "argv", ["xmbench", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, message: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0, err
    assert "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert message in lines[0], lines[0]


@pytest.fixture
def a_file(tmp_path) -> Path:
    """A regular file where a folder is expected."""
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


# ----------------------------------------------------------------------- options (preflight)
OPTION_CASES = [
    (["run", "--seeds", ""], "--seeds is empty"),
    (["run", "--seeds", " , "], "--seeds is empty"),
    (["run", "--seeds", "0,0"], "--seeds repeats 0"),
    (["run", "--seeds", "1,2,1"], "--seeds repeats 1"),
    (["run", "--seeds", "0"], "a seed count must be at least 1"),
    (["run", "--seeds", "x"], "is not a comma list of integers"),
    (["run", "--paired-fraction", ""], "--paired-fraction is empty"),
    (["run", "--paired-fraction", "1,1.0"], "--paired-fraction repeats 1"),
    (["run", "--paired-fraction", "0"], "paired fraction must lie in (0, 1]"),
    (["run", "--paired-fraction", "1.5"], "paired fraction must lie in (0, 1]"),
    (["run", "--paired-fraction", "half"], "is not a comma list of numbers"),
    (["run", "--methods", ""], "no method given"),
    (["run", "--methods", "ccca"], "did you mean cca"),
    (["run", "--dataset", "digit-colors"], "did you mean digits-colors"),
    (["run", "--pairing", "documents"], "valid: unique, non-unique"),
    (["run", "--validation-fraction", "0.9"], "validation fraction"),
    (["run", "--validation-fraction", "-0.1"], "validation fraction"),
    (["run", "--model-selection", "on", "--validation-fraction", "0"], "needs a validation split"),
    (["run", "--device", "tpu"], "'tpu' is not one of"),
    (["run", "--profile", "fast"], "'fast' is not one of"),
    (["run", "--cpus-per-run", "0"], "--cpus-per-run"),
    (["run", "--split-seed", "one"], "'one' is not a valid integer"),
    (["run", "--no-such-option"], "No such option"),
    (["check", "--baseline", str(BASELINE), "--tolerance", "-1"], "must be >= 0"),
    (["check", "--baseline", "no-such-baseline.csv"], "does not exist"),
    (["report", "--out", "no-such-results"], "no finished runs"),
    (["nosuch"], "No such command 'nosuch'"),
]


@pytest.mark.parametrize(("args", "message"), OPTION_CASES, ids=[" ".join(a) or "empty" for a, _ in OPTION_CASES])
def test_bad_options_fail_before_anything_runs(monkeypatch, capsys, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = xmbench(monkeypatch, capsys, *args, *(["--out", str(tmp_path / "out")] if args[0] == "run" else []))
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "out" / "runs").exists()  # nothing ran


@pytest.mark.parametrize("option", ["--out", "--cache-dir"])
def test_unwritable_outputs_are_found_before_loading_or_training(monkeypatch, capsys, tmp_path, a_file, option):
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", option, str(a_file / "sub"),
                           *([] if option == "--out" else ["--out", str(tmp_path / "out")]))
    assert_one_line_error(code, err, "is not a writable folder")
    assert "features of" not in err  # before the data was loaded
