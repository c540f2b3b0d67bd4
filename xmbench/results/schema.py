"""The results schema: one long table, a row per (run, ..., task, class, metric)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

KEY_COLUMNS = ("run_id", "dataset", "pairing", "method", "seed", "profile")
COLUMNS = (*KEY_COLUMNS, "task", "class", "metric", "value")
ALL_CLASSES = "all"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class RunKey:
    """Everything that identifies one run; equal keys are the same run (and are resumed/skipped)."""

    dataset: str
    pairing: str
    method: str
    seed: int
    profile: str
    split_seed: int = 0
    keep_self: bool = False

    @property
    def run_id(self) -> str:
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.dataset}_{self.pairing}_{self.method}_s{self.seed}_{self.profile}_{digest}"
