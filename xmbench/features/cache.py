"""A content-addressed on-disk cache for extracted features.

An entry is ``<key>.npz`` plus ``<key>.json`` holding the key's inputs and the npz's SHA-256.
A missing, unreadable, stale or checksum-failing entry is rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from xmbench.files import atomic_write_bytes, remove_leftovers, sha256_file


def cache_key(inputs: dict[str, Any]) -> str:
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    env = os.environ.get("XMBENCH_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "xmbench"


class FeatureCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if self.root.is_dir():
            remove_leftovers(self.root)  # of writers that were interrupted

    def load(self, inputs: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        key = cache_key(inputs)
        data_path, meta_path = self.root / f"{key}.npz", self.root / f"{key}.json"
        if not data_path.exists() and not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError(f"its .json holds {type(meta).__name__}, not an entry")
            if meta["inputs"] != json.loads(json.dumps(inputs, default=str)):
                raise ValueError("stale entry: its inputs differ from this run's")
            if sha256_file(data_path) != meta["sha256"]:
                raise ValueError("checksum mismatch")
            with np.load(data_path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            info = dict(meta["info"])
        except Exception as error:  # whatever the corruption (zip, zlib, JSON, shape): rebuild, never use
            warnings.warn(f"feature cache entry {key} is unusable ({error}); rebuilding it", stacklevel=2)
            return None
        return arrays, info

    def save(self, inputs: dict[str, Any], arrays: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        key = cache_key(inputs)
        data_path = self.root / f"{key}.npz"
        atomic_write_bytes(data_path, lambda handle: np.savez(handle, **arrays))
        meta = {"inputs": inputs, "sha256": sha256_file(data_path), "info": info}
        text = json.dumps(meta, indent=2, sort_keys=True, default=str).encode()
        atomic_write_bytes(self.root / f"{key}.json", lambda handle: handle.write(text))
