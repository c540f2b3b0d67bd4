"""The results folder: ``<out>/runs/<run_id>/`` holds ``scores.csv``, ``training.csv``,
``embeddings.npz`` (test embeddings and labels) and ``manifest.json``.

Each file is written atomically and the manifest last, so a run counts as finished only when its
manifest says ``"status": "ok"``; a crash or Ctrl-C leaves earlier runs intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xmbench.errors import XmbenchError
from xmbench.features.cache import atomic_write_bytes
from xmbench.results.schema import COLUMNS, KEY_COLUMNS, LEGACY_COLUMNS, RunKey

EMBEDDINGS = "embeddings.npz"


class ResultsStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def run_dir(self, key: RunKey) -> Path:
        return self.root / "runs" / key.run_id

    def is_complete(self, key: RunKey) -> bool:
        manifest = self.read_manifest(self.run_dir(key))
        return manifest is not None and manifest.get("status") == "ok"

    def write_run(
        self, key: RunKey, scores: pd.DataFrame | None, training: pd.DataFrame | None, manifest: dict[str, Any]
    ) -> None:
        folder = self.run_dir(key)
        if scores is not None:
            missing = set(COLUMNS) - set(scores.columns)
            if missing:
                raise ValueError(f"scores lack columns {sorted(missing)}")
            _write_csv(folder / "scores.csv", scores[list(COLUMNS)])
        if training is not None and len(training):
            _write_csv(folder / "training.csv", training)
        text = json.dumps(manifest, indent=2, sort_keys=True, default=str).encode()
        atomic_write_bytes(folder / "manifest.json", lambda handle: handle.write(text))

    def write_embeddings(self, key: RunKey, embeddings: dict[str, np.ndarray], y_a: np.ndarray, y_b: np.ndarray) -> None:
        """The test embeddings a run was scored on (keys as ``eval.protocol.embedding_key``) and the
        test labels, for precision-recall curves and maps of the common space."""
        arrays = {f"emb_{name}": np.asarray(value, dtype=np.float32) for name, value in embeddings.items()}
        arrays |= {"y_a": np.asarray(y_a), "y_b": np.asarray(y_b)}
        atomic_write_bytes(self.run_dir(key) / EMBEDDINGS, lambda handle: np.savez_compressed(handle, **arrays))

    def load_embeddings(self, run_id: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None:
        """(embeddings by key, y_a, y_b) of a finished run, or None when it stored none."""
        path = self.root / "runs" / run_id / EMBEDDINGS
        if not path.exists():
            return None
        with np.load(path) as stored:
            embeddings = {name[4:]: stored[name] for name in stored.files if name.startswith("emb_")}
            return embeddings, stored["y_a"], stored["y_b"]

    @staticmethod
    def read_manifest(folder: Path) -> dict[str, Any] | None:
        path = folder / "manifest.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # a torn or corrupt manifest means the run is not finished

    def manifests(self) -> list[dict[str, Any]]:
        folders = sorted((self.root / "runs").glob("*/")) if (self.root / "runs").is_dir() else []
        return [m for m in (self.read_manifest(f) for f in folders) if m is not None]

    def load_scores(self) -> pd.DataFrame:
        """The long table of every finished run (one row per run key x task x class x metric)."""
        frames = []
        for manifest in self.manifests():
            path = self.root / "runs" / manifest["run_id"] / "scores.csv"
            if manifest.get("status") == "ok" and path.exists():
                frames.append(pd.read_csv(path, keep_default_na=False, dtype={"class": str}))
        if not frames:
            raise XmbenchError(f"no finished runs under {self.root}; run `xmbench run` first")
        table = pd.concat(frames, ignore_index=True)
        for column, legacy in LEGACY_COLUMNS.items():  # runs stored before the column existed
            table[column] = table[column].replace("", legacy).fillna(legacy) if column in table else legacy
        # keep the last row per key: a re-run with --force replaces, never duplicates
        return table.drop_duplicates(subset=[*KEY_COLUMNS, "task", "space", "class", "metric"], keep="last")

    def load_training(self) -> pd.DataFrame:
        frames = []
        for manifest in self.manifests():
            path = self.root / "runs" / manifest["run_id"] / "training.csv"
            if manifest.get("status") == "ok" and path.exists():
                frame = pd.read_csv(path)
                frame.insert(0, "run_id", manifest["run_id"])
                frame.insert(1, "method", manifest["key"]["method"])
                frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    text = frame.to_csv(index=False, float_format="%.10g").encode()
    atomic_write_bytes(path, lambda handle: handle.write(text))
