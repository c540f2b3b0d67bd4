"""Result sets: results folders and columnar exports, read as one long table.

A *source* is a results folder (``<out>/runs/<run_id>/``) or a Parquet file written by ``xmbench
export``: the long scores table (``schema.COLUMNS``) with each run's facts (``facts.RUN_FACTS``)
as columns, one row per (run, task, space, class, metric). Both read to the same table, so a report
or a comparison from the file equals the one from the folder it was exported from.

Several sources (a sweep run on several machines) merge by run id. A run id names everything a
result depends on (``RunKey``), so a run found in several sources is one run: where its scores are
identical it counts once; where they differ (another machine's floating point, another library)
the first source's copy is kept and one warning line per run names both sources and the largest
difference, so no number is averaged with its own twin or dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xmbench.errors import XmbenchError, first_line
from xmbench.files import atomic_write_bytes
from xmbench.preflight import writable_folder
from xmbench.results.facts import RUN_FACTS
from xmbench.results.schema import COLUMNS
from xmbench.results.store import ResultsStore

EXPORT_SUFFIXES = (".parquet", ".pq")
ROW_KEY = ["task", "space", "class", "metric"]


@dataclass
class ResultSet:
    """``table``: scores with run facts; ``stores``: the folders among the sources (training curves
    and embeddings for the figures; an export holds scores and facts only)."""

    table: pd.DataFrame
    stores: list[ResultsStore] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def load_training(self) -> pd.DataFrame:
        """Training curves of the table's runs, each from the first folder holding it."""
        frames, seen = [], set()
        for store in self.stores:
            frame = store.load_training()
            if frame.empty:
                continue
            frame = frame[~frame["run_id"].isin(seen)]
            seen |= set(frame["run_id"])
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def load_embeddings(self, run_id: str):  # noqa: ANN201 (as ResultsStore.load_embeddings)
        return next((e for e in (s.load_embeddings(run_id) for s in self._holding(run_id)) if e is not None), None)

    def read_run_manifest(self, run_id: str) -> dict | None:
        return next((m for m in (s.read_run_manifest(run_id) for s in self._holding(run_id)) if m is not None), None)

    def _holding(self, run_id: str) -> list[ResultsStore]:
        return [store for store in self.stores if (store.root / "runs" / run_id).is_dir()]


def is_export(path: Path) -> bool:
    return Path(path).suffix.lower() in EXPORT_SUFFIXES


def read_source(path: Path | str) -> pd.DataFrame:
    """The scores-with-facts table of one results folder or one export file."""
    path = Path(path)
    if is_export(path):
        return read_export(path)
    if path.is_file():
        raise XmbenchError(f"{str(path)!r} is a file, neither a results folder nor an export (.parquet)")
    return ResultsStore(path).load_results()  # a missing folder: "no finished runs under ..."


def load_results(sources: Sequence[Path | str]) -> ResultSet:
    """Every source read and merged (see the module docstring)."""
    if not sources:
        raise XmbenchError("no results given")
    tables = [(str(source), read_source(source)) for source in sources]
    stores = [ResultsStore(Path(s)) for s in sources if not is_export(Path(s))]
    return ResultSet(merge(tables), stores, [name for name, _ in tables])


def merge(tables: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One table from (source name, table) pairs: each run id once, from the first source holding
    it; a run whose scores differ between sources gives one warning line."""
    if len(tables) == 1:
        return tables[0][1]
    kept: dict[str, tuple[str, pd.DataFrame]] = {}
    parts = []
    for name, table in tables:
        for run_id, rows in table.groupby("run_id", sort=False):
            if run_id not in kept:
                kept[run_id] = (name, rows)
                parts.append(rows)
                continue
            first_name, first = kept[run_id]
            difference = _score_difference(first, rows)
            if difference is not None:
                warnings.warn(f"run {run_id} differs between {first_name} and {name} ({difference}); "
                              f"kept {first_name}'s", stacklevel=2)
    return pd.concat(parts, ignore_index=True)


def _score_difference(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    """None when the two copies of a run hold the same scores, else what differs."""
    left, right = (frame.set_index(ROW_KEY)["value"].sort_index() for frame in (a, b))
    if not left.index.equals(right.index):
        return f"{len(left.index.symmetric_difference(right.index))} score row(s) in one copy only"
    values = left.to_numpy(float), right.to_numpy(float)
    if np.array_equal(*values, equal_nan=True):
        return None
    return f"largest score difference {np.nanmax(np.abs(values[0] - values[1])):.3g}"


def write_export(table: pd.DataFrame, path: Path) -> Path:
    """``table`` (scores with facts) as one Parquet file, written atomically."""
    path = Path(path)
    if not is_export(path):
        raise XmbenchError(f"{str(path)!r}: an export is a Parquet file; name it *.parquet")
    writable_folder(path.parent, "the export's folder (--to)")
    columns = [*COLUMNS, *RUN_FACTS]
    frame = table[columns].reset_index(drop=True)
    atomic_write_bytes(path, lambda handle: frame.to_parquet(handle, index=False))
    return path


def read_export(path: Path) -> pd.DataFrame:
    """An export file back as the table it was written from; anything else is one clear error."""
    if not path.is_file():
        raise XmbenchError(f"{str(path)!r}: no such file")
    try:
        table = pd.read_parquet(path)
    except Exception as error:  # pyarrow's errors for a file that is not Parquet are many
        raise XmbenchError(f"{str(path)!r} is not a readable Parquet file ({first_line(error)})") from None
    missing = [column for column in (*COLUMNS, *RUN_FACTS) if column not in table]
    if missing:
        raise XmbenchError(f"{str(path)!r} is not an xmbench export: it lacks the column(s) {', '.join(missing)}")
    if table.empty:
        raise XmbenchError(f"{str(path)!r} holds no runs")
    table["class"] = table["class"].astype(str)
    return table.astype({c: RUN_FACTS[c] for c in RUN_FACTS})
