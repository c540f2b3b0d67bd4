"""The results schema: one long table, a row per (run, ..., task, class, metric)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

KEY_COLUMNS = ("run_id", "dataset", "pairing", "method", "seed", "profile", "paired_fraction")
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
    paired_fraction: float = 1.0
    validation_fraction: float = 0.1  # of the (kept) training pairs, held out for model selection
    model_selection: bool = True  # keep the best validation state and stop early (``paper``: off)

    @property
    def run_id(self) -> str:
        fields = asdict(self)
        fraction = ""
        if self.paired_fraction == 1.0:
            del fields["paired_fraction"]  # fully paired runs keep the ids they had before the option existed
        else:
            fraction = f"_pf{self.paired_fraction:g}"
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.dataset}_{self.pairing}_{self.method}_s{self.seed}_{self.profile}{fraction}_{digest}"
