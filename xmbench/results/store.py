"""The results folder: ``<out>/runs/<run_id>/`` holds ``scores.csv``, ``training.csv``,
``embeddings.npz`` (test embeddings and labels) and ``manifest.json``.

A run is written into a staging folder beside its final one, manifest last, then renamed into
place, so a run counts as finished only when its manifest says ``"status": "ok"``, and a crash or
Ctrl-C leaves earlier runs intact. The manifest records the SHA-256 of every file written with it
(``files``): a run whose files are missing, cut or changed, or whose manifest is not a manifest, is
*damaged*: reported (one warning line per run, and a count), never read, and re-computed by the next
``run``. A re-run (``--force``) replaces the earlier result only when it succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xmbench.errors import XmbenchError, first_line
from xmbench.files import atomic_write_bytes, remove_leftovers, sha256_file
from xmbench.results.facts import facts_table, with_facts
from xmbench.results.schema import COLUMNS, KEY_COLUMNS, RunKey, label_method, with_legacy_columns

EMBEDDINGS = "embeddings.npz"
MANIFEST = "manifest.json"
STAGING = ".staging.tmp"  # suffix of a run folder being written (cleaned up once its writer is gone)
REPLACED = ".replaced.tmp"  # suffix of the earlier result while a re-run moves into place


class DamagedRun(Exception):
    """A run folder whose manifest or files cannot be trusted; the message says why."""


class ResultsStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._reported: set[str] = set()  # damaged runs already warned about
        runs = self.root / "runs"
        if runs.is_dir():
            self._recover_replaced(runs)
            remove_leftovers(runs, f".*{STAGING}")
            remove_leftovers(runs, f".*{REPLACED}")
            remove_leftovers(runs, "*/.*.tmp")

    def run_dir(self, key: RunKey) -> Path:
        return self.root / "runs" / key.run_id

    def is_complete(self, key: RunKey) -> bool:
        """True for a finished, intact run; a damaged one is reported once and counts as not finished."""
        return self._finished(self.run_dir(key)) is not None

    def write_run(
        self, key: RunKey, scores: pd.DataFrame | None, training: pd.DataFrame | None, manifest: dict[str, Any],
        embeddings: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None = None,
    ) -> bool:
        """Write one run (``embeddings``: as ``load_embeddings`` returns). A failed run never replaces a
        finished one: returns False and writes nothing then; True when the run was written."""
        final = self.run_dir(key)
        if manifest.get("status") != "ok" and self._finished(final) is not None:
            return False
        staging = final.with_name(f".{key.run_id}.xmb{os.getpid()}{STAGING}")
        shutil.rmtree(staging, ignore_errors=True)
        files = {}
        if scores is not None:
            missing = set(COLUMNS) - set(scores.columns)
            if missing:
                raise ValueError(f"scores lack columns {sorted(missing)}")
            files["scores.csv"] = _write_csv(staging / "scores.csv", scores[list(COLUMNS)])
        if training is not None and len(training):
            files["training.csv"] = _write_csv(staging / "training.csv", training)
        if embeddings is not None:
            files[EMBEDDINGS] = _write_embeddings(staging / EMBEDDINGS, *embeddings)
        text = json.dumps(manifest | {"files": files}, indent=2, sort_keys=True, default=str).encode()
        atomic_write_bytes(staging / MANIFEST, lambda handle: handle.write(text))
        if final.exists():
            replaced = final.with_name(f".{key.run_id}.xmb{os.getpid()}{REPLACED}")
            os.replace(final, replaced)
            os.replace(staging, final)
            shutil.rmtree(replaced, ignore_errors=True)
        else:
            os.replace(staging, final)
        return True

    def load_embeddings(self, run_id: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None:
        """(embeddings by key, y_a, y_b) of a finished run, or None when it stored none (or they are damaged)."""
        path = self.root / "runs" / run_id / EMBEDDINGS
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                embeddings = {name[4:]: stored[name] for name in stored.files if name.startswith("emb_")}
                return embeddings, stored["y_a"], stored["y_b"]
        except Exception as error:  # whatever the corruption: no figure from it, one line saying so
            warnings.warn(f"run {run_id}: {EMBEDDINGS} is unreadable ({first_line(error)}); its figures are left out",
                          stacklevel=2)
            return None

    @staticmethod
    def read_manifest(folder: Path) -> dict[str, Any] | None:
        """The manifest as stored (finished or failed run), or None when absent or not a manifest."""
        try:
            return _manifest(Path(folder))
        except DamagedRun:
            return None

    def read_run_manifest(self, run_id: str) -> dict[str, Any] | None:
        """The stored manifest of run ``run_id`` (``read_manifest`` of its folder)."""
        return self.read_manifest(self.root / "runs" / run_id)

    def manifests(self) -> list[dict[str, Any]]:
        """Manifests of every finished, intact run; damaged runs are reported and left out."""
        return [m for m in (self._finished(f) for f in self._folders()) if m is not None]

    def load_scores(self) -> pd.DataFrame:
        """The long table of every finished run (one row per run key x task x class x metric)."""
        return self._load()[0]

    def load_results(self) -> pd.DataFrame:
        """``load_scores`` with each run's facts (``results.facts``: version, seeds, timings, size,
        device) as columns: what the report's cost columns and ``xmbench export`` read."""
        scores, manifests = self._load()
        return with_facts(scores, facts_table(manifests))

    def _load(self) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        frames, manifests, damaged = [], [], 0
        for folder in self._folders():
            manifest = self._finished(folder)
            if manifest is None:
                damaged += folder.name in self._reported
                continue
            path = folder / "scores.csv"
            if path.exists():
                frames.append(_labelled(pd.read_csv(path, keep_default_na=False, dtype={"class": str}), manifest))
                manifests.append(manifest)
        if damaged:
            warnings.warn(f"{damaged} damaged run(s) under {self.root} left out; `xmbench run` re-computes them",
                          stacklevel=2)
        if not frames:
            raise XmbenchError(f"no finished runs under {self.root}; run `xmbench run` first")
        table = pd.concat(frames, ignore_index=True)
        table = canonical_methods(with_legacy_columns(table))  # runs stored before a column or a rename
        # keep the last row per key: a re-run with --force replaces, never duplicates
        return table.drop_duplicates(subset=[*KEY_COLUMNS, "task", "space", "class", "metric"], keep="last"), manifests

    def load_training(self) -> pd.DataFrame:
        frames = []
        for manifest in self.manifests():
            path = self.root / "runs" / manifest["run_id"] / "training.csv"
            if path.exists():
                frame = pd.read_csv(path)
                frame.insert(0, "run_id", manifest["run_id"])
                frame.insert(1, "method", manifest["key"]["method"])
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # ------------------------------------------------------------------------------ internals
    def _folders(self) -> list[Path]:
        runs = self.root / "runs"
        return sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")) if runs.is_dir() else []

    def _finished(self, folder: Path) -> dict[str, Any] | None:
        """The manifest of a finished, intact run; None for an absent, failed or damaged one (a
        damaged one gives one warning line, the first time it is met)."""
        try:
            manifest = _manifest(folder)
            if manifest is None or manifest["status"] != "ok":
                return None
            _verify(folder, manifest)
            return manifest
        except DamagedRun as damage:
            if folder.name not in self._reported:
                self._reported.add(folder.name)
                warnings.warn(f"run {folder.name} is damaged ({damage}); it counts as not finished "
                              "and `xmbench run` re-computes it", stacklevel=3)
            return None

    @staticmethod
    def _recover_replaced(runs: Path) -> None:
        """A writer killed between its two renames left the earlier result aside: put it back."""
        for replaced in runs.glob(f".*{REPLACED}"):
            run_id = replaced.name[1:].split(".xmb")[0]
            if not (runs / run_id).exists():
                try:
                    os.replace(replaced, runs / run_id)
                except OSError:
                    pass


def _manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DamagedRun(f"{MANIFEST} is not readable JSON: {first_line(error)}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("key"), dict) \
            or manifest.get("run_id") != folder.name or "status" not in manifest:
        raise DamagedRun(f"{MANIFEST} is not a manifest of run {folder.name}")
    return manifest


def _verify(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest names is there with the bytes it was written with; runs stored
    before manifests named their files are checked for a readable scores table."""
    files = manifest.get("files")
    if files is None:
        try:
            pd.read_csv(folder / "scores.csv", nrows=1)
        except Exception as error:
            raise DamagedRun(f"scores.csv is unreadable: {first_line(error)}") from None
        return
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            raise DamagedRun(f"{name} is missing")
        if sha256_file(path) != digest:
            raise DamagedRun(f"{name} differs from what the run wrote (cut or changed since)")



def _write_embeddings(path: Path, embeddings: dict[str, np.ndarray], y_a: np.ndarray, y_b: np.ndarray) -> str:
    """The test embeddings a run was scored on (keys as ``eval.protocol.embedding_key``) and the
    test labels, for precision-recall curves and maps of the common space; returns its SHA-256."""
    arrays = {f"emb_{name}": np.asarray(value, dtype=np.float32) for name, value in embeddings.items()}
    arrays |= {"y_a": np.asarray(y_a), "y_b": np.asarray(y_b)}
    atomic_write_bytes(path, lambda handle: np.savez_compressed(handle, **arrays))
    return sha256_file(path)


def _write_csv(path: Path, frame: pd.DataFrame) -> str:
    """Write ``frame``; returns the file's SHA-256."""
    text = frame.to_csv(index=False, float_format="%.10g").encode()
    atomic_write_bytes(path, lambda handle: handle.write(text))
    return sha256_file(path)


def _labelled(scores: pd.DataFrame, manifest: dict[str, Any]) -> pd.DataFrame:
    """A run's scores with the dataset and method labels this version gives its key (``RunKey``): a run
    stored before a label carried the split seed, ``keep_self`` or a data fingerprint is tabled apart
    from runs that differ in them, like a new one. A key this version cannot read keeps its labels."""
    try:
        key = RunKey(**manifest["key"])
        labels = {"dataset": key.dataset_label, "method": key.label_for(current_version(key.method))}
    except (TypeError, ValueError):
        return scores
    return scores.assign(**{column: value for column, value in labels.items() if column in scores})


def current_version(method: str) -> int | None:
    """The version of ``method``'s implementation here; None when it is not registered (a plugin
    not installed): its runs then carry their recorded version in their label."""
    from xmbench.methods import METHODS  # the registry imports every method: only when needed

    name = METHODS.canonical(method)
    return METHODS.get(name).version if name in METHODS else None


def canonical_label(label: str) -> str:
    """A method label with an alias (``cmgans-no-ws[lr=0.001]``) under its model's one name
    (``cmgans-sc-only[lr=0.001]``); other labels unchanged."""
    from xmbench.methods import METHODS  # the registry imports every method: only when needed

    base = label_method(label)
    return METHODS.canonical(base) + label[len(base):]


def canonical_methods(table: pd.DataFrame) -> pd.DataFrame:
    """Runs stored under a method alias (``cmgans-no-ws``) are tabled under the one name of their
    model (``cmgans-sc-only``; settings labels keep their settings). Where the same replicate was
    also run under that name, the alias's copy is dropped: one model is never counted twice."""
    renamed = table["method"].map(canonical_label)
    is_alias = renamed != table["method"]
    if not is_alias.any():
        return table
    table = table.assign(method=renamed)
    keys = [c for c in KEY_COLUMNS if c != "run_id"] + ["task", "space", "class", "metric"]
    twins = pd.MultiIndex.from_frame(table.loc[~is_alias, keys])
    return table[~(is_alias & pd.MultiIndex.from_frame(table[keys]).isin(twins))]
