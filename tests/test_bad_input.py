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
    (["run", "--dataset", "wikipedia", "--features", "pixels"], "ships its features"),
    (["run", "--features", "given"], "has image modalities"),
    (["run", "--features", "rawest"], "'rawest' is not one of"),
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


# ------------------------------------------------------------------- unreadable data files
def _flip(path: Path, at: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[at % len(raw)] ^= 0xFF
    path.write_bytes(bytes(raw))


def _wikipedia(root: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"categories": np.array([f"c{i}" for i in range(10)])}
    for part, n in (("train", 2173), ("test", 693)):
        arrays |= {f"img_{part}": rng.random((n, 4)), f"txt_{part}": rng.random((n, 3)), f"y_{part}": np.arange(n) % 10 + 1}
    path = root / "wikipedia" / "wiki_sift128_lda10.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, **arrays)
    return path


def _emnist(root: Path) -> Path:
    path = root / "EMNIST" / "emnist_byclass_test_letters.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, x=np.zeros((20, 28, 28), np.uint8), y=np.zeros(20, np.int64), mapping=np.array(["a"]))
    return path


def _mnist(root: Path) -> Path:
    """Tiny MNIST and Fashion-MNIST IDX files; the path of MNIST's training images."""
    for folder in ("MNIST", "FashionMNIST"):
        raw = root / folder / "raw"
        raw.mkdir(parents=True)
        for stem, shape in (("train-images-idx3-ubyte", (12, 28, 28)), ("train-labels-idx1-ubyte", (12,)),
                            ("t10k-images-idx3-ubyte", (6, 28, 28)), ("t10k-labels-idx1-ubyte", (6,))):
            header = bytes([0, 0, 8, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
            with gzip.open(raw / f"{stem}.gz", "wb") as handle:
                handle.write(header + bytes(int(np.prod(shape))))
    return root / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"


def _fsdd(root: Path) -> Path:
    path = root / "FSDD" / "fsdd_8k.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, audio=np.zeros(80, np.int16), offsets=np.arange(0, 90, 10), label=np.arange(8) % 2,
             take=np.arange(8), sample_rate=np.array(8000))
    return path


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def _drop_key(path: Path) -> None:
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files[1:]}
    np.savez(path, **arrays)


def _bad_idx_header(path: Path) -> None:
    with gzip.open(path, "wb") as handle:
        handle.write(b"\x01\x02\x03\x04" + bytes(40))


DATA_CASES = [
    ("wikipedia", _wikipedia, _truncate, "unreadable"),
    ("wikipedia", _wikipedia, _random_bytes, "not an npz archive"),
    ("wikipedia", _wikipedia, lambda p: _flip(p, 200), "unreadable"),
    ("wikipedia", _wikipedia, _drop_key, "lacks categories"),
    ("wikipedia", _wikipedia, lambda p: p.write_bytes(b""), "not an npz archive"),
    ("letters-colors", _emnist, _truncate, "unreadable"),
    ("letters-colors", _emnist, _random_bytes, "not an npz archive"),
    ("mnist-fashion", _mnist, lambda p: _flip(p, -6), "cannot read"),  # the gzip CRC
    ("mnist-speech", _fsdd, _random_bytes, "not an npz archive"),
    ("mnist-speech", _fsdd, _truncate, "unreadable"),
    ("mnist-fashion", _mnist, _truncate, "cannot read"),
    ("mnist-fashion", _mnist, _bad_idx_header, "is not an unsigned-byte IDX file"),
    ("mnist-fashion", _mnist, _random_bytes, "cannot read"),
]


@pytest.mark.parametrize(("dataset", "make", "damage", "message"), DATA_CASES,
                         ids=[f"{d}-{i}" for i, (d, *_) in enumerate(DATA_CASES)])
def test_unreadable_data_files_are_one_line_naming_the_file(monkeypatch, capsys, tmp_path, dataset, make, damage, message):
    path = make(tmp_path / "data")
    damage(path)
    code, _, err = xmbench(monkeypatch, capsys, "run", "--dataset", dataset, "--methods", "cca",
                           "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
                           "--cache-dir", str(tmp_path / "cache"))
    assert_one_line_error(code, err, message)
    assert str(path) in err and ("fresh copy" in err or "place a valid copy" in err)  # what to do


# ------------------------------------------------------------------------ damaged results
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Two finished runs (cca, kcca on the default dataset) to damage, copied per test."""
    out, cache = tmp_path_factory.mktemp("finished"), tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setattr(sys, "argv", ["xmbench", "run", "--methods", "cca,kcca", "--out", str(out), "--cache-dir", str(cache)])
    try:
        main()
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    finally:
        mp.undo()
    return out, cache


@pytest.fixture
def store(finished, tmp_path) -> tuple[Path, Path, Path]:
    """(results folder, cache, the cca run's folder) of a fresh copy of the finished runs."""
    out = tmp_path / "results"
    shutil.copytree(finished[0], out)
    return out, finished[1], next((out / "runs").glob("*_cca_*"))


def _cut_rows(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))  # at a row boundary: still a valid CSV


STORE_DAMAGE = [
    ("scores.csv", _random_bytes, "scores.csv differs"),
    ("scores.csv", _cut_rows, "scores.csv differs"),
    ("scores.csv", lambda p: p.unlink(), "scores.csv is missing"),
    ("embeddings.npz", lambda p: _flip(p, 100), "embeddings.npz differs"),
    ("manifest.json", lambda p: p.write_text("[1, 2]"), "is not a manifest"),
    ("manifest.json", lambda p: p.write_text("null"), "is not a manifest"),
    ("manifest.json", lambda p: p.write_text(json.dumps({"run_id": "x"})), "is not a manifest"),
    ("manifest.json", _truncate, "not readable JSON"),
]


@pytest.mark.parametrize(("name", "damage", "message"), STORE_DAMAGE, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(STORE_DAMAGE)])
def test_a_damaged_run_is_reported_left_out_and_recomputed(monkeypatch, capsys, store, name, damage, message):
    out, cache, run = store
    damage(run / name)
    code, stdout, err = xmbench(monkeypatch, capsys, "report", "--out", str(out), "--no-figures")
    assert code == 0 and "Traceback" not in err
    warned = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len([line for line in warned if run.name in line]) == 1 and message in err
    assert any("1 damaged run(s)" in line for line in warned)
    assert "kcca" in stdout and "| cca " not in stdout  # the intact run is reported, the damaged one left out
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca,kcca", "--out", str(out), "--cache-dir", str(cache))
    assert code == 0 and f"done {run.name}" in err and "skip " in err  # re-computed; the intact run kept
    code, stdout, err = xmbench(monkeypatch, capsys, "report", "--out", str(out), "--no-figures")
    assert code == 0 and "is damaged" not in err and "| cca " in stdout


def test_a_failed_force_rerun_keeps_the_earlier_result(monkeypatch, capsys, store):
    from xmbench.methods.linear.cca import CCA

    out, cache, run = store
    before = (run / "scores.csv").read_bytes()

    def broken(self, *args, **kwargs):
        raise RuntimeError("simulated crash in fit")

    monkeypatch.setattr(CCA, "_fit", broken)
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", "--force", "--out", str(out), "--cache-dir", str(cache))
    assert code != 0 and "its earlier finished result is kept" in err and "Traceback" not in err
    assert (run / "scores.csv").read_bytes() == before
    assert json.loads((run / "manifest.json").read_text())["status"] == "ok"


def test_leftover_temporary_files_are_removed_and_live_writers_are_not_touched(monkeypatch, capsys, store):
    import os

    out, _, run = store
    dead = run / ".scores.csv.xmb999999999.abcd.tmp"  # no such pid
    live = run / f".scores.csv.xmb{os.getpid()}.abcd.tmp"
    dead.write_text("half"), live.write_text("half")
    code, _, _ = xmbench(monkeypatch, capsys, "report", "--out", str(out), "--no-figures")
    assert code == 0 and not dead.exists() and live.exists()


def test_results_files_follow_the_umask(store):
    out, _, run = store
    import os

    mask = os.umask(0)
    os.umask(mask)
    for path in run.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


# ------------------------------------------------------------------------ baselines, cache
BASELINE_DAMAGE = [
    (lambda p: p.write_text(BASELINE.read_text().replace(",mAP,", ",mAP,abc", 1)), "is not a number"),
    (lambda p: p.write_bytes(np.random.default_rng(3).integers(0, 256, 500, dtype=np.uint8).tobytes()), "baseline file"),
    (lambda p: p.write_text("dataset,method\nx,y\n"), "lacks columns"),
    (lambda p: p.write_text(""), "baseline file"),
]


@pytest.mark.parametrize(("damage", "message"), BASELINE_DAMAGE, ids=range(len(BASELINE_DAMAGE)))
def test_a_damaged_baseline_is_one_line(monkeypatch, capsys, tmp_path, damage, message):
    path = tmp_path / "baseline.csv"
    damage(path)
    code, _, err = xmbench(monkeypatch, capsys, "check", "--baseline", str(path), "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "out" / "runs").exists()


@pytest.mark.parametrize("damage", [lambda p: p.write_text("null"), lambda p: p.write_text("[]"), _truncate,
                                    lambda p: p.write_text(json.dumps({"inputs": 1}))], ids=range(4))
def test_a_corrupt_cache_entry_is_rebuilt_with_one_warning(monkeypatch, capsys, finished, tmp_path, damage):
    cache = tmp_path / "cache"
    shutil.copytree(finished[1], cache)
    (entry,) = cache.glob("*.json")
    damage(entry)
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", "--out", str(tmp_path / "out"),
                           "--cache-dir", str(cache))
    assert code == 0 and "Traceback" not in err
    assert len([line for line in err.splitlines() if "is unusable" in line and "rebuilding" in line]) == 1
    assert "extracted" in err


# ------------------------------------------------------------------------------ interrupts
@pytest.mark.parametrize(("sig", "code", "word"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
@pytest.mark.parametrize("after_s", [0.3, 6.0], ids=["while-importing", "while-working"])
def test_a_signal_at_any_moment_is_one_line_and_keeps_finished_runs(store, sig, code, word, after_s):
    import signal
    import subprocess
    import time

    out, cache, run = store
    before = (run / "scores.csv").read_bytes()
    process = subprocess.Popen(
        [sys.executable, "-m", "xmbench", "run", "--methods", "cca,cmgans", "--profile", "quick",
         "--out", str(out), "--cache-dir", str(cache)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(after_s)
    process.send_signal(getattr(signal, sig))
    _, err = process.communicate(timeout=120)
    # Seen once in CI, signalled while importing: the one line was printed, then the process ended by
    # SIGINT (-2). CPython ends that way when it has recorded an unhandled KeyboardInterrupt
    # (bpo-1054041), probably one raised inside C-level code of an import although xmbench caught it.
    # A shell reports 130 either way; the line and the kept runs are what this test holds to.
    allowed = (code, -signal.SIGINT) if sig == "SIGINT" else (code,)
    assert process.returncode in allowed, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()][-1] == f"{word}; finished runs are kept"
    assert (run / "scores.csv").read_bytes() == before  # the run finished before the command is intact


# ------------------------------------------------------------------- content-addressed inputs
def test_switching_data_roots_reuses_features_only_for_identical_contents(monkeypatch, capsys, tmp_path):
    """The reviewer's case: wikipedia from one data root, then from a copy with other values, must
    not report a cache hit (it scored CCA .2504 instead of .2445 before); an identical copy may."""
    original = _wikipedia(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "copy")
    shutil.copytree(tmp_path / "one", tmp_path / "other")
    with np.load(original) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["img_train"] = arrays["img_train"] * 1.01
    np.savez_compressed(tmp_path / "other" / "wikipedia" / "wiki_sift128_lda10.npz", **arrays)

    def run(root: str) -> tuple[str, dict]:
        code, _, err = xmbench(monkeypatch, capsys, "run", "--dataset", "wikipedia", "--methods", "cca", "--force",
                               "--data-root", str(tmp_path / root), "--out", str(tmp_path / "out"),
                               "--cache-dir", str(tmp_path / "cache"))
        assert code == 0, err
        manifest = json.loads(next((tmp_path / "out" / "runs").glob("*/manifest.json")).read_text())
        return err, manifest

    _, first = run("one")
    err, copied = run("copy")
    assert "cache hit" in err and copied["features"]["cache_key"] == first["features"]["cache_key"]
    assert copied["dataset"]["data_root"] == str((tmp_path / "copy").resolve())
    err, other = run("other")
    assert "cache hit" not in err and other["features"]["cache_key"] != first["features"]["cache_key"]
    assert other["dataset"]["sha256"] != first["dataset"]["sha256"] == copied["dataset"]["sha256"]
