"""Two result sets compared: did a change help? (``xmbench compare OLD NEW``)

Each side is a results folder, an export file (``xmbench export``) or a baseline file
(``baselines/*.csv``). Rows are the overall
retrieval mAP (class ``all``, headline space, fully paired runs) per (dataset, pairing, features,
profile, method, task), the method matched by its name: where the two sides ran it with different
settings or implementation versions (its labels differ: ``cca[n_components=5]``,
``cca[version=unrecorded]``) the row says so (``settings``), and it is still compared, since that is
often the point.

Per row, on the replicates (seeds) both sides have: the mean paired difference new - old, its 95%
t confidence half-width, and a two-sided paired t-test (``report.stats.paired_test``). The p-values
of all tested rows are Holm-adjusted together (``report.stats.holm``, the report's procedure), so
``better`` / ``worse`` holds the family-wise error at ``ALPHA`` whatever the number of rows. A row
with fewer than 2 shared seeds (a baseline file holds one mean per row) cannot be tested: its
verdict is ``better`` / ``worse`` only when the difference exceeds the tolerance, else ``no
evidence``. A row *regresses* when its verdict is ``worse`` and it fell by more than the tolerance;
the command exits 1 when any row regresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xmbench.errors import XmbenchError
from xmbench.report.stats import holm, mean_ci, paired_test
from xmbench.results.schema import ALL_CLASSES, headline, label_method, with_legacy_columns
from xmbench.results.sets import is_export, read_source

KEY = ["dataset", "pairing", "features", "profile", "method", "task"]
METRIC = "mAP"
ALPHA = 0.05
BASELINE_SEED = -1  # a baseline file's value is one mean over its seeds: one pseudo-seed on that side


@dataclass(frozen=True)
class Comparison:
    """``table``: one row per key in both sides; ``only_old`` / ``only_new``: keys on one side only."""

    table: pd.DataFrame
    only_old: pd.DataFrame
    only_new: pd.DataFrame
    tolerance: float

    @property
    def regressions(self) -> pd.DataFrame:
        return self.table[self.table["regressed"]]


def read_side(path: Path | str) -> pd.DataFrame:
    """Per-seed overall mAP rows (``KEY``, seed, label, value) of a results folder, an export file
    (``xmbench export``) or a baseline file."""
    path = Path(path)
    if path.is_file() and not is_export(path):
        from xmbench.check import read_baseline  # the baseline reader, written once

        table, setting = read_baseline(path)
        rows = table[table["metric"] == METRIC]
        side = pd.DataFrame({
            "dataset": rows["dataset"].astype(str), "pairing": rows["pairing"].astype(str), "features": "",
            "profile": rows["profile"].astype(str), "method": rows["method"].map(label_method),
            "task": rows["task"].astype(str), "seed": BASELINE_SEED, "label": rows["method"],
            "value": rows["value"].astype(float)})
        side.attrs["seeds"] = setting.seeds  # the seeds its means are over: the other side is cut to them
        return side
    if not path.is_dir() and not is_export(path):
        raise XmbenchError(f"{str(path)!r} is neither a results folder, an export (.parquet) nor a baseline file")
    scores = headline(with_legacy_columns(read_source(path)))
    rows = scores[(scores["metric"] == METRIC) & (scores["class"] == ALL_CLASSES) & (scores["paired_fraction"] == 1.0)
                  & ~scores["task"].isin(["training", "model"])]
    rows = rows.assign(label=rows["method"], method=rows["method"].map(label_method))
    return rows[[*KEY, "seed", "label", "value"]].reset_index(drop=True)


def compare_sides(old: pd.DataFrame, new: pd.DataFrame, tolerance: float = 0.02) -> Comparison:
    """Compare two ``read_side`` tables; see the module docstring."""
    if not tolerance >= 0:
        raise XmbenchError(f"tolerance must be >= 0, got {tolerance}")
    old, new = _comparable_features(old, new)
    for this, other in ((old, "new"), (new, "old")):
        if "seeds" in this.attrs:  # a baseline file: compare with the same seeds' mean
            if other == "new":
                new = new[new["seed"].isin(this.attrs["seeds"])]
            else:
                old = old[old["seed"].isin(this.attrs["seeds"])]
    keys = {"old": set(map(tuple, old[KEY].to_numpy())), "new": set(map(tuple, new[KEY].to_numpy()))}
    both = sorted(keys["old"] & keys["new"])
    rows = []
    by_old, by_new = old.groupby(KEY), new.groupby(KEY)
    for key in both:
        a, b = by_old.get_group(key), by_new.get_group(key)
        rows.append((*key, *_row(a, b)))
    columns = [*KEY, "settings", "n", "old", "new", "change", "ci", "p"]
    table = pd.DataFrame(rows, columns=columns)
    table["p_holm"] = holm(table["p"].to_numpy()) if len(table) else []
    tested = table["p_holm"].notna()
    significant = tested & (table["p_holm"] < ALPHA)
    beyond = ~tested & (table["change"].abs() > tolerance)
    direction = np.where(table["change"] < 0, "worse", "better")
    table["verdict"] = np.where(significant | beyond, direction, "no evidence")
    table["regressed"] = (table["verdict"] == "worse") & (table["change"] < -tolerance)
    apart = {side: sorted(keys[side] - keys["new" if side == "old" else "old"]) for side in keys}
    return Comparison(table, pd.DataFrame(apart["old"], columns=KEY), pd.DataFrame(apart["new"], columns=KEY), tolerance)


def _comparable_features(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A baseline file does not record the feature source: it takes the other side's, for its settings."""
    if (old["features"] == "").all() and not (new["features"] == "").all():
        old = old.assign(features=new["features"].iloc[0]) if new["features"].nunique() == 1 else old
    if (new["features"] == "").all() and not (old["features"] == "").all():
        new = new.assign(features=old["features"].iloc[0]) if old["features"].nunique() == 1 else new
    return old, new


def _row(a: pd.DataFrame, b: pd.DataFrame) -> tuple:
    labels = (sorted(set(a["label"])), sorted(set(b["label"])))
    settings = "same" if labels[0] == labels[1] else f"old {', '.join(labels[0])}; new {', '.join(labels[1])}"
    old_by_seed, new_by_seed = a.groupby("seed")["value"].mean(), b.groupby("seed")["value"].mean()
    common = old_by_seed.index.intersection(new_by_seed.index)
    if len(common) >= 2:
        change, half, n = mean_ci(new_by_seed[common] - old_by_seed[common])
        return (settings, n, float(old_by_seed[common].mean()), float(new_by_seed[common].mean()),
                change, half, paired_test(new_by_seed, old_by_seed).p)
    # one value a side (a baseline file, or no shared seed): the means, untested
    old_mean, new_mean = float(old_by_seed.mean()), float(new_by_seed.mean())
    return settings, len(common), old_mean, new_mean, new_mean - old_mean, np.nan, np.nan


def markdown(result: Comparison) -> str:
    """The comparison as markdown: the rows in both sides, then the rows of one side only."""
    table = result.table
    lines = [f"| {' | '.join(KEY)} | settings | n | old | new | change (95% CI) | p (Holm) | verdict |",
             "|" + "---|" * (len(KEY) + 7)]
    for row in table.itertuples(index=False):
        change = f"{row.change:+.4f}" + (f" ± {row.ci:.4f}" if np.isfinite(row.ci) else "")
        p = f"{row.p_holm:.3g}" if np.isfinite(row.p_holm) else "untested"
        verdict = f"**{row.verdict}**" if row.regressed else row.verdict
        cells = [str(getattr(row, k)) for k in KEY]
        lines.append(f"| {' | '.join(cells)} | {row.settings} | {row.n} | {row.old:.4f} | {row.new:.4f} | {change} | {p} | {verdict} |")
    notes = [f"\n- change = new - old, paired over the n seeds both sides have; verdicts from paired t-tests, Holm over "
             f"the {int(table['p_holm'].notna().sum())} tested rows (family-wise alpha {ALPHA}); untested rows "
             f"(n < 2) are better / worse only beyond the tolerance {result.tolerance:g}.",
             f"- regressed (bold): worse and fell by more than {result.tolerance:g}: {len(result.regressions)} row(s)."]
    for side, keys in (("old", result.only_old), ("new", result.only_new)):
        if len(keys):
            listed = "; ".join("/".join(str(v) for v in key) for key in keys.itertuples(index=False))
            notes.append(f"- only in {side} ({len(keys)}): {listed}")
    return "\n".join(lines + notes)
