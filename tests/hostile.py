"""The hostile user's battery: user data, settings, configs, baselines, reports and plugins, tried
the way a user would try them, each case classified by what the command did.

Every case is a command line (``xmbench ...``, run in this process) made against files the case
writes, and an expectation: ``error`` (one ``error:`` line naming the problem, a non-zero exit,
nothing run), ``warning`` (the run finishes with exit 0 and one ``warning``/``WARNING`` line saying
it) or ``ok`` (a correct run, judged by a check on its output). The verdicts:

- clean: what was expected;
- traceback: an exception escaped the command, or stderr holds a Python traceback or warning source;
- silent: exit 0 where an error was due, no warning where one was due, or an ``ok`` check that
  failed (a wrong number, two things tabled as one);
- misleading: an error or warning that does not say what is wrong;
- late: the right error, but only after runs were written (it should come before anything runs).

``python -m tests.hostile`` prints the table by area (it needs only the CLI, so it runs against
any revision: ``PYTHONPATH=<old checkout> python -m tests.hostile``); ``tests/test_hostile.py``
asserts every case is clean. Data are tiny (60 pairs): the battery takes about a minute.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

Setup = Callable[[Path], list[str]]  # writes the case's files under a folder; returns the command's arguments
Check = Callable[[Path, str, str], bool]  # (folder, stdout, stderr) of an ``ok`` case: True when right


@dataclass(frozen=True)
class Case:
    area: str
    name: str
    setup: Setup
    expect: str  # "error", "warning" or "ok"
    text: str = ""  # what the error or warning line must say (case-insensitive)
    check: Check | None = None
    subprocess: bool = False  # run as a separate process (plugins discovered at start-up)


# ------------------------------------------------------------------------------------------ data
def pairs(n_per_class: int = 20, classes: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Two modalities sharing a strong class signal: CCA scores far above chance on them."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_per_class * classes) % classes
    latent = np.eye(max(classes, 3))[y][:, :3] * 3 + rng.normal(size=(len(y), 3))
    a = np.c_[latent, rng.normal(size=(len(y), 3))]
    b = latent @ rng.normal(size=(3, 4)) + 0.1 * rng.normal(size=(len(y), 4))
    return {"a": a, "b": b, "y": y}


def npz(folder: Path, name: str = "mine.npz", **changes) -> str:
    arrays = pairs() | changes
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


def run(data: str, folder: Path, *extra: str, methods: str = "cca") -> list[str]:
    return ["run", "--dataset", data, "--methods", methods, "--out", str(folder / "out"),
            "--cache-dir", str(folder / "cache"), *extra]


def card(folder: Path, text: str, **arrays) -> str:
    npz(folder / "card", "data.npz", **arrays)
    (folder / "card" / "dataset.yaml").write_text(textwrap.dedent(text))
    return str(folder / "card")


def _data_cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, expect: str, text: str, setup: Setup, check: Check | None = None) -> None:
        cases.append(Case("user data", name, setup, expect, text, check))

    def with_arrays(**changes) -> Setup:
        return lambda f: run(npz(f, **changes), f)

    names = np.array(["all", "x", "y"])
    add("class named all", "error", "reserved", with_arrays(class_names=names))
    add("class named All", "error", "reserved", with_arrays(class_names=np.array(["All", "x", "y"])))
    add("class named ' all '", "error", "reserved", with_arrays(class_names=np.array([" all ", "x", "y"])))
    add("duplicate class names", "error", "duplicate class name", with_arrays(class_names=np.array(["x", "x", "y"])))
    add("empty class name", "error", "empty", with_arrays(class_names=np.array(["", "x", "y"])))
    add("constant modality", "warning", "constant", with_arrays(a=np.ones((60, 6))))
    add("near-constant modality", "warning", "constant",
        with_arrays(a=1 + 1e-9 * np.random.default_rng(0).normal(size=(60, 6))))
    add("constant modality (cmgans)", "warning", "constant",
        lambda f: run(npz(f, b=np.full((60, 4), 3.0)), f, methods="cmgans"))
    base = pairs()
    leak = np.r_[np.full(42, "train"), np.full(18, "test")]
    leaked = {k: np.r_[v[:42], v[:18]] for k, v in base.items()}
    add("test rows copy training rows", "warning", "training split", with_arrays(**leaked, split=leak))
    doubled = {k: np.r_[v, v] for k, v in base.items()}
    add("every pair twice, seeded split", "warning", "more than once", with_arrays(**doubled))
    few = {"a": base["a"][:20], "b": base["b"][:20], "y": np.arange(20) % 10}
    add("2 rows per class, 10 classes", "error", "test split", with_arrays(**few))
    three = {"a": base["a"][:9], "b": base["b"][:9], "y": np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])}
    add("3 rows per class: no validation pair", "error", "validation", with_arrays(**three))
    add("few rows, paired fraction 0.1", "error", "paired fraction",
        lambda f: run(npz(f, a=base["a"][:24], b=base["b"][:24], y=np.arange(24) % 3), f, "--paired-fraction", "0.1"))
    add("one class with 3 items", "warning", "few items",
        with_arrays(y=np.r_[np.arange(57) % 2, [2, 2, 2]]))
    add("float64 beyond float32", "error", "float32", with_arrays(a=base["a"] * 1e39))
    add("scale 1e30", "error", "rescale", with_arrays(a=base["a"] * 1e30))
    add("scale 1e-30", "error", "rescale", with_arrays(a=base["a"] * 1e-30))
    add("scale 1e6", "ok", "", with_arrays(a=base["a"] * 1e6), check=lambda f, o, e: _map(f, "cca") > 0.8)
    add("zero-width a", "error", "no features", with_arrays(a=np.zeros((60, 0))))
    add("zero rows with class_names", "error", "no rows",
        with_arrays(a=np.zeros((0, 6)), b=np.zeros((0, 4)), y=np.zeros(0, int), class_names=names[1:]))
    add("zero rows", "error", "no rows", with_arrays(a=np.zeros((0, 6)), b=np.zeros((0, 4)), y=np.zeros(0, int)))
    add("card name with /", "error", "name", lambda f: run(card(f, "data: data.npz\nname: ../../escape\n"), f))
    add("card name ..", "error", "name", lambda f: run(card(f, "data: data.npz\nname: ..\n"), f))
    add("card name with space", "error", "name", lambda f: run(card(f, "data: data.npz\nname: my data\n"), f))
    add("card with a duplicate key", "error", "duplicate key",
        lambda f: run(card(f, "data: data.npz\nname: one\nname: two\n"), f))
    add("file stem with space", "ok", "", lambda f: run(npz(f, "my data.npz"), f),
        check=lambda f, o, e: all(" " not in p.name for p in (f / "out" / "runs").iterdir()))

    def garbage(f: Path) -> list[str]:
        (f / "junk.npz").write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
        return run(str(f / "junk.npz"), f)

    add("garbage .npz", "error", "not an npz archive", garbage)

    def text_file(f: Path) -> list[str]:
        (f / "notes.npz").write_text("a,b,y\n1,2,0\n")
        return run(str(f / "notes.npz"), f)

    add("text file named .npz", "error", "not an npz archive", text_file)

    def parquet(f: Path, **columns) -> str:
        data = pairs()
        frame = pd.DataFrame({f"a_{i}": data["a"][:, i] for i in range(6)} | {f"b_{i}": data["b"][:, i] for i in range(4)})
        frame["y"] = pd.array(data["y"], dtype="Int64")
        for name, value in columns.items():
            frame[name] = value
        frame.to_parquet(f / "mine.parquet")
        return str(f / "mine.parquet")

    missing = pd.array(np.r_[[None], pairs()["y"][1:]], dtype="Int64")
    add("parquet label missing", "error", "missing", lambda f: run(parquet(f, y=missing), f))
    add("npz label NaN", "error", "missing", with_arrays(y=np.r_[np.nan, pairs()["y"][1:].astype(float)]))
    add("labels 1.5", "error", "integers", with_arrays(y=pairs()["y"] + 0.5))
    add("string labels", "error", "integers", with_arrays(y=pairs()["y"].astype(str)))
    add("labels as float integers", "ok", "", with_arrays(y=pairs()["y"].astype(float)),
        check=lambda f, o, e: _map(f, "cca") > 0.8)
    add("no test rows in split", "error", "no test item", with_arrays(split=np.full(60, "train")))
    add("NaN feature", "error", "NaN", with_arrays(a=np.where(np.arange(60)[:, None] == 3, np.nan, base["a"])))
    add("complex features", "error", "expected numbers", with_arrays(a=base["a"] + 1j))
    add("3-D features", "error", "expected (n, d)", with_arrays(a=base["a"].reshape(60, 2, 3)))
    add("rows differ", "error", "row counts differ", with_arrays(b=base["b"][:-1]))
    add("unknown key", "error", "unknown key", with_arrays(labels=base["y"]))
    add("one class", "error", "fewer than 2 classes", with_arrays(y=np.zeros(60, int)))
    add("modality names equal", "error", "modality_names", with_arrays(modality_names=np.array(["x", "x"])))
    add("a folder named .npz", "error", "", lambda f: (f / "dir.npz").mkdir() or run(str(f / "dir.npz"), f))
    add("missing file", "error", "does not exist", lambda f: run(str(f / "nothing.npz"), f))

    def two_stems(f: Path) -> list[str]:
        first = run(npz(f, "good.npz"), f)
        _cli(first)
        other = pairs(seed=5)
        _cli(run(npz(f / "other", "good.npz", a=other["a"] * -1, b=other["b"]), f))
        return ["report", "--out", str(f / "out"), "--no-figures"]

    add("two files one stem", "ok", "", two_stems, check=lambda f, o, e: o.count("| cca ") >= 2)

    def same_copy(f: Path) -> list[str]:
        _cli(run(npz(f, "good.npz"), f))
        _cli(run(npz(f / "copy", "good.npz"), f))
        return ["report", "--out", str(f / "out"), "--no-figures"]

    add("identical copy elsewhere", "ok", "", same_copy,
        check=lambda f, o, e: len(list((f / "out" / "runs").iterdir())) == 1)

    def class_all_api(f: Path) -> list[str]:
        return run(npz(f, class_names=np.array(["x", "all", "y"])), f)

    add("class all (second)", "error", "reserved", class_all_api)
    return cases


def _map(folder: Path, method: str, task: str = "A->B") -> float:
    """The overall mAP of ``method`` on ``task`` in the case's results, or -1."""
    frames = [pd.read_csv(p) for p in (folder / "out" / "runs").glob(f"*_{method}_*/scores.csv")]
    if not frames:
        return -1.0
    scores = pd.concat(frames)
    rows = scores[(scores["task"] == task) & (scores["class"] == "all") & (scores["metric"] == "mAP")
                  & (scores["space"].isna() | (scores["space"].astype(str) == ""))]
    return float(rows["value"].iloc[0]) if len(rows) == 1 else -1.0


# -------------------------------------------------------------------------------------- settings
def _settings_cases() -> list[Case]:
    cases: list[Case] = []
    bad = [
        ("cca.n_components=-1", "n_components"), ("cca.n_components=0", "n_components"),
        ("cca.shrinkage=2", "shrinkage"), ("cca.shrinkage=-0.1", "shrinkage"),
        ("kcca.rank=0", "rank"), ("kcca.kernel=bogus", "kernel"), ("kcca.gamma=-1", "gamma"),
        ("kcca.gamma=abc", "gamma"), ("kcca.n_components=0", "n_components"),
        ("cmgans.betas=0.5", "betas"), ("cmgans.betas=0.5,0.999,0.1", "betas"), ("cmgans.betas=1.5,0.999", "betas"),
        ("cmgans.leaky_slope=-3", "leaky_slope"), ("cmgans.lr=0", "lr"), ("cmgans.lr=-1", "lr"),
        ("cmgans.lr=inf", "lr"), ("cmgans.batch_size=0", "batch_size"), ("cmgans.hidden=0", "hidden"),
        ("cmgans.classifier=bogus", "classifier"), ("cmgans.mismatch_pairing=x", "mismatch_pairing"),
        ("cmgans.max_updates=0", "max_updates"), ("cmgans.patience=0", "patience"), ("cmgans.epochs=0", "epochs"),
        ("cmgans.eval_every=0", "eval_every"), ("cmgans.k_generator=-2", "k_generator"),
        ("cmgans.semantic_weight=-1", "semantic_weight"), ("vae-assoc.hidden=0,256", "hidden"),
        ("vae-assoc.hidden=", "hidden"), ("vae-assoc.scaling=bogus", "scaling"), ("vae-assoc.lambda_int=-1", "lambda_int"),
        ("vae-assoc.latent_dim_b=abc", "latent_dim_b"), ("vae-assoc.latent_dim_b=0", "latent_dim_b"),
        ("varalign.alignment=bogus", "alignment"), ("varalign.beta=-1", "beta"),
        ("syncgan.sync_ratio=1", "sync_ratio"), ("syncgan.max_pairs=-1", "max_pairs"),
        ("syncgan.sync_step=both", "sync_step"), ("syncgan.hidden=256,0", "hidden"),
        ("cca.n_components=1e3", "n_components"), ("cca.n_components=", "n_components"),
    ]
    for entry, text in bad:
        method = entry.partition(".")[0]
        cases.append(Case("settings", f"--set {entry}", lambda f, e=entry, m=method: run(npz(f), f, "--set", e, methods=m),
                          "error", text))
    cases.append(Case("settings", "--set twice, two values", lambda f: run(
        npz(f), f, "--set", "cca.n_components=2", "--set", "cca.n_components=3"), "error", "twice"))
    cases.append(Case("settings", "--set in range", lambda f: run(npz(f), f, "--set", "cca.n_components=2"), "ok",
                      check=lambda f, o, e: "cca[n_components=2]" in o + e and _map(f, "cca") > 0.5))
    cases.append(Case("settings", "--set betas in range", lambda f: run(npz(f), f, "--set", "cmgans.betas=0.5,0.99",
                                                                         methods="cmgans"), "ok",
                      check=lambda f, o, e: _map(f, "cmgans") > 0))
    return cases


# ---------------------------------------------------------------------------------------- config
def _config_cases() -> list[Case]:
    def config(text: str) -> Setup:
        def setup(f: Path) -> list[str]:
            (f / "run.yaml").write_text(textwrap.dedent(text))
            return run(npz(f), f, "--config", str(f / "run.yaml"))
        return setup

    rows = [
        ("duplicate key", "methods: cca\nmethods: kcca\n", "error", "duplicate key"),
        ("duplicate set method", "set:\n  cca: {n_components: 2}\n  cca: {n_components: 3}\n", "error", "duplicate key"),
        ("bad seeds", "seeds: x\n", "error", "run.yaml"),
        ("bad profile", "profile: fast\n", "error", "run.yaml"),
        ("bad validation fraction", "validation_fraction: abc\n", "error", "run.yaml"),
        ("bad device", "device: tpu\n", "error", "run.yaml"),
        ("bad paired fraction", "paired_fraction: 2\n", "error", "paired fraction"),
        ("unknown option", "sedes: 3\n", "error", "did you mean"),
        ("not a mapping", "- cca\n", "error", "expected a mapping"),
        ("set out of range", "set:\n  cca: {n_components: -1}\n", "error", "n_components"),
        ("split seed text", "split_seed: one\n", "error", "run.yaml"),
    ]
    return [Case("config", name, config(text), expect, message) for name, text, expect, message in rows]


# -------------------------------------------------------------------------------------- baseline
BASELINE = Path(__file__).resolve().parents[1] / "baselines" / "digits-colors_unique_smoke.csv"


def _baseline_cases() -> list[Case]:
    def edited(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Setup:
        def setup(f: Path) -> list[str]:
            table = change(pd.read_csv(BASELINE, dtype={"seeds": str}))
            table.to_csv(f / "baseline.csv", index=False)
            return ["check", "--baseline", str(f / "baseline.csv"), "--out", str(f / "out")]
        return setup

    def cell(column: str, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
        def change(table: pd.DataFrame) -> pd.DataFrame:
            table[column] = table[column].astype(object)
            table.loc[0, column] = value
            return table
        return change

    rows = [
        ("duplicated row", lambda t: pd.concat([t, t.iloc[[0]]]), "duplicate"),
        ("duplicated row, other value", lambda t: pd.concat([t, t.iloc[[0]].assign(value=0.1)]), "duplicate"),
        ("value above 1", cell("value", 1.5), "[0, 1]"),
        ("negative value", cell("value", -0.2), "[0, 1]"),
        ("empty value", cell("value", None), "not a number"),
        ("negative spread", cell("spread", -0.1), "spread"),
        ("spread above 1", cell("spread", 2.0), "spread"),
        ("unknown method", cell("method", "ccca"), "did you mean"),
        ("unknown task", cell("task", "A->C"), "task"),
        ("metric not mAP", cell("metric", "accuracy"), "metric"),
    ]
    return [Case("baseline", name, edited(change), "error", text) for name, change, text in rows]


# ---------------------------------------------------------------------------------------- report
def _report_cases() -> list[Case]:
    def protocols(*extra: str) -> Setup:
        def setup(f: Path) -> list[str]:
            data = npz(f)
            _cli(run(data, f))
            _cli(run(data, f, *extra))
            return ["report", "--out", str(f / "out"), "--no-figures"]
        return setup

    def stale(f: Path) -> list[str]:
        _cli(run(npz(f, "one.npz"), f))
        _cli(run(npz(f, "two.npz", a=pairs(seed=3)["a"]), f))
        _cli(["report", "--out", str(f / "out"), "--no-figures", "--to", str(f / "report")])
        return ["report", "--out", str(f / "out"), "--no-figures", "--to", str(f / "report"), "--dataset", "one"]

    def no_stale(f: Path, out: str, err: str) -> bool:
        names = [p.name for p in (f / "report" / "tables").iterdir()]
        return bool(names) and not any("two" in n for n in names)

    def epochs(f: Path) -> list[str]:
        _cli(run(npz(f), f, "--set", "cmgans.batch_size=8", "--set", "cmgans.max_updates=2", methods="cmgans"))
        return ["report", "--out", str(f / "out"), "--no-figures"]

    def fraction_epochs(f: Path, out: str, err: str) -> bool:
        import re

        shown = next((f / "out" / "report" / "tables").glob("training*.md")).read_text()
        return re.search(r"\| 0\.\d+ \|", shown) is not None  # the epochs cell as the table shows it

    def sweep(f: Path) -> list[str]:
        _cli(run(npz(f), f, "--paired-fraction", "1,0.5"))
        return ["report", "--out", str(f / "out")]

    def sweep_named(f: Path, out: str, err: str) -> bool:  # every figure of one fraction says which
        page = (f / "out" / "report" / "index.html").read_text()
        return page.count("Paired fraction 1, the largest of the sweep (1, 0.5)") >= 2

    return [
        Case("report", "keep-self beside default", protocols("--keep-self"), "ok",
             check=lambda f, o, e: o.count("| cca") >= 2 and "keep_self" in o),
        Case("report", "split seed 7 beside 0", protocols("--split-seed", "7"), "ok",
             check=lambda f, o, e: o.count("| cca") >= 2 and "split_seed" in o),
        Case("report", "stale files of an earlier report", stale, "ok", check=no_stale),
        Case("report", "epochs below 1 shown as such", epochs, "ok", check=fraction_epochs),
        Case("report", "paired-fraction sweep figures", sweep, "ok", check=sweep_named),
    ]


# --------------------------------------------------------------------------------------- plugins
PLUGIN = '''
import numpy as np
from xmbench.methods.linear.cca import CCA

class Forgetful(CCA):
    """Stores its argument under another name."""
    name = "forgetful"
    def __init__(self, width=3, seed=0, device="cpu"):
        super().__init__(seed=seed, device=device)
        self.w = width

class Exploding(CCA):
    """Fails in its constructor."""
    name = "exploding"
    def __init__(self, seed=0, device="cpu"):
        raise RuntimeError("constructor blew up")

class FitFails(CCA):
    """Fails in fit."""
    name = "fit-fails"
    def _fit(self, train):
        raise RuntimeError("fit blew up")

class BadFacts(CCA):
    """Fails when its facts are read (manifest time)."""
    name = "bad-facts"
    def extra_results(self):
        raise RuntimeError("facts blew up")
'''


def _plugin_cases() -> list[Case]:
    def with_plugin(method: str) -> Setup:
        def setup(f: Path) -> list[str]:
            _install(f, "xmb_hostile", PLUGIN, [f"{m} = xmb_hostile:{c}" for m, c in (
                ("forgetful", "Forgetful"), ("exploding", "Exploding"), ("fit-fails", "FitFails"),
                ("bad-facts", "BadFacts"))])
            return run(npz(f), f, methods=f"cca,{method}")
        return setup

    def others_ran(f: Path, out: str, err: str) -> bool:
        return _map(f, "cca") > 0.5

    cases = [Case("plugins", f"plugin fails at {when}", with_plugin(method), "error", text, others_ran, True)
             for when, method, text in (("construction", "exploding", "constructor blew up"),
                                        ("get_params", "forgetful", "width"),
                                        ("fit", "fit-fails", "fit blew up"),
                                        ("manifest time", "bad-facts", "facts blew up"))]

    def broken(source: str) -> Setup:
        def setup(f: Path) -> list[str]:
            _install(f, "xmb_broken", source, ["bad = xmb_broken:Bad"])
            return ["list"]
        return setup

    cases += [
        Case("plugins", "plugin fails at import", broken("raise ImportError('needs torch-geometric')\n"), "warning",
             "needs torch-geometric", subprocess=True),
        Case("plugins", "plugin name with /", broken(
            "from xmbench.methods.linear.cca import CCA\nclass Bad(CCA):\n    name = '../bad'\n"), "warning", "name",
             subprocess=True),
        Case("plugins", "plugin not a method", broken("class Bad:\n    pass\n"), "warning", "not a subclass",
             subprocess=True),
    ]
    return cases


def _install(folder: Path, module: str, source: str, points: list[str]) -> None:
    """A fake installed distribution on PYTHONPATH (``folder/site``)."""
    site = folder / "site"
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[xmbench.methods]\n" + "\n".join(points) + "\n")


def cases() -> list[Case]:
    return [*_data_cases(), *_settings_cases(), *_config_cases(), *_baseline_cases(), *_report_cases(),
            *_plugin_cases()]


# ------------------------------------------------------------------------------------ running
def _cli(args: list[str]) -> tuple[int, str, str, str | None]:
    """(exit code, stdout, stderr, the traceback of an escaped exception) of ``xmbench ARGS`` here."""
    import warnings

    from xmbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv, escaped, code = sys.argv, None, 0
    sys.argv = ["xmbench", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception:  # noqa: BLE001 (what the battery looks for)
        code, escaped = 1, traceback.format_exc()
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue(), escaped


def _subprocess(args: list[str], folder: Path) -> tuple[int, str, str, str | None]:
    import os

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder / "site"), *sys.path]))
    done = subprocess.run([sys.executable, "-m", "xmbench", *args], capture_output=True, text=True, env=env,
                          timeout=600)
    return done.returncode, done.stdout, done.stderr, None


def try_case(case: Case, folder: Path) -> tuple[str, str]:
    """(verdict, what happened) of one case, its files written under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        args = case.setup(folder)
    except Exception:  # noqa: BLE001 (a setup step ran the CLI and it broke)
        return "traceback", traceback.format_exc().strip().splitlines()[-1]
    code, out, err, escaped = _subprocess(args, folder) if case.subprocess else _cli(args)
    lines = [line for line in err.splitlines() if line.strip()]
    if escaped or "Traceback (most recent call last)" in err or any(l.lstrip().startswith(("File \"", "warnings.warn")) for l in lines):
        return "traceback", (escaped or err).strip().splitlines()[-1]
    errors = [line for line in lines if line.startswith("error:")]
    warned = [line for line in lines if line.lower().startswith("warning")]
    text = case.text.lower()
    if case.expect == "error":
        if code == 0 and not (case.check and errors):
            return "silent", "exit 0"
        said = [line for line in [*errors, *lines] if text in line.lower()]
        if not said:
            return "misleading", (errors or lines or ["(nothing on stderr)"])[0][:160]
        if case.check is not None:  # a plugin case: the others must have run
            return ("clean", said[0][:160]) if case.check(folder, out, err) else ("silent", "the other methods did not run")
        ran = (folder / "out" / "runs").is_dir() and any((folder / "out" / "runs").iterdir())
        if ran and case.area not in ("baseline",):
            return "late", said[0][:160]
        return "clean", said[0][:160]
    if case.expect == "warning":  # the run goes on; a method that cannot work on such data may then fail
        said = [line for line in warned if text in line.lower()]
        if not said:
            return ("silent", "no warning") if not warned and code == 0 else ("misleading", (warned or lines)[0][:160])
        if len(said) > 1 and case.subprocess:
            return "misleading", f"{len(said)} warning lines"
        return "clean", said[0][:160]
    if code != 0:
        return "misleading", (errors or lines or [f"exit {code}"])[-1][:160]
    if case.check is not None and not case.check(folder, out, err):
        return "silent", "the check on its output failed"
    return "clean", "ok"


VERDICTS = ("clean", "traceback", "silent", "misleading", "late")


def battery(root: Path, only: str = "") -> pd.DataFrame:
    rows = []
    for i, case in enumerate(cases()):
        if only and only not in case.area:
            continue
        verdict, what = try_case(case, root / f"case{i:03d}")
        rows.append({"area": case.area, "case": case.name, "verdict": verdict, "what": what})
        print(f"{verdict:10s} {case.area:9s} {case.name}: {what}", file=sys.__stderr__, flush=True)
    return pd.DataFrame(rows)


def table(results: pd.DataFrame) -> pd.DataFrame:
    counts = pd.crosstab(results["area"], results["verdict"]).reindex(columns=list(VERDICTS), fill_value=0)
    counts.insert(0, "cases", counts.sum(axis=1))
    counts.loc["all"] = counts.sum()
    return counts


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="")
    parser.add_argument("--json", type=Path, default=None, help="write every case's verdict here")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = battery(Path(tmp), options.area)
    if options.json:
        options.json.write_text(json.dumps(found.to_dict("records"), indent=1))
    print(table(found).to_string())
