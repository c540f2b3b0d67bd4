"""A content-addressed on-disk cache for extracted features.

An entry is ``<key>.npz`` plus ``<key>.json`` holding the key's inputs and the npz's SHA-256.
A missing, unreadable, stale or checksum-failing entry is rebuilt, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def cache_key(inputs: dict[str, Any]) -> str:
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    env = os.environ.get("XMBENCH_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "xmbench"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FeatureCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def load(self, inputs: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        key = cache_key(inputs)
        data_path, meta_path = self.root / f"{key}.npz", self.root / f"{key}.json"
        if not data_path.exists() and not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta["inputs"] != json.loads(json.dumps(inputs, default=str)):
                raise ValueError("stale entry: its inputs differ from this run's")
            if _sha256(data_path) != meta["sha256"]:
                raise ValueError("checksum mismatch")
            with np.load(data_path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, KeyError) as error:
            warnings.warn(f"feature cache entry {key} is unusable ({error}); rebuilding it", stacklevel=2)
            return None
        return arrays, meta["info"]

    def save(self, inputs: dict[str, Any], arrays: dict[str, np.ndarray], info: dict[str, Any]) -> None:
        key = cache_key(inputs)
        data_path = self.root / f"{key}.npz"
        atomic_write_bytes(data_path, lambda handle: np.savez(handle, **arrays))
        meta = {"inputs": inputs, "sha256": _sha256(data_path), "info": info}
        text = json.dumps(meta, indent=2, sort_keys=True, default=str).encode()
        atomic_write_bytes(self.root / f"{key}.json", lambda handle: handle.write(text))
