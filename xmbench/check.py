"""The mAP regression check: compare current scores with a committed baseline file.

A baseline is a CSV with one row per (dataset, pairing, profile, split seed, paired fraction,
method, task): the overall mAP, averaged over the seeds listed in its ``seeds`` column. It also
says which runs reproduce it, so ``xmbench check`` can run exactly those (finished runs are
read, not re-run) and compare.

An optional ``spread`` column holds, per row, the largest difference from the recorded value
measured on other processors and instruction sets (baselines/README.md says how it was measured).
A row regresses when it falls by more than ``tolerance + spread``: the value is known only to
within its spread across machines, and the tolerance applies beyond that. Rows without a spread
(0) get the plain tolerance, so a stable method's drop of more than the tolerance always fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xmbench import api
from xmbench.data import DATASETS
from xmbench.errors import XmbenchError, first_line
from xmbench.eval.retrieval import Task, TranslationTask
from xmbench.methods import METHODS
from xmbench.results.schema import ALL_CLASSES, headline, label_method
from xmbench.results.store import canonical_label
from xmbench.threads import limit_threads

SETTING = ["dataset", "pairing", "profile", "split_seed", "paired_fraction", "seeds"]
ROW = ["method", "task"]
BASELINE_COLUMNS = [*SETTING, *ROW, "metric", "value"]
METRIC = "mAP"


@dataclass(frozen=True)
class BaselineSetting:
    """The runs a baseline file was made from (one setting per file)."""

    dataset: str
    pairing: str
    profile: str
    split_seed: int
    paired_fraction: float
    seeds: tuple[int, ...]
    methods: tuple[str, ...]


@dataclass(frozen=True)
class CheckResult:
    """Rows of (method, task, baseline, current, change): worse beyond the tolerance, better beyond
    it, and baseline rows the current scores lack (a method that failed or was removed)."""

    regressions: pd.DataFrame
    improvements: pd.DataFrame
    missing: pd.DataFrame
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.regressions.empty and self.missing.empty


def read_baseline(path: Path) -> tuple[pd.DataFrame, BaselineSetting]:
    path = Path(path)
    if not path.is_file():
        raise XmbenchError(f"baseline file {str(path)!r} does not exist; create it with `xmbench check --update`")
    where = f"baseline file {str(path)!r}"
    remedy = "restore it from git or re-create it with `xmbench check --update`"
    try:
        table = pd.read_csv(path, dtype={"seeds": str})
    except (OSError, ValueError, UnicodeDecodeError) as error:  # pandas' EmptyDataError and ParserError are ValueErrors
        raise XmbenchError(f"{where} is not a readable CSV ({first_line(error)}); {remedy}") from None
    lacking = set(BASELINE_COLUMNS) - set(table.columns)
    if lacking or table.empty:
        raise XmbenchError(f"{where} lacks columns {sorted(lacking)} or rows; {remedy}")
    numbers = pd.to_numeric(table["value"], errors="coerce")
    if numbers.isna().any():
        row = int(numbers.isna().to_numpy().argmax())
        raise XmbenchError(f"{where}: value {table['value'].iloc[row]!r} on data row {row + 1} is not a number; {remedy}")
    table["value"] = numbers.astype(float)
    if "spread" in table:  # optional: a file without it is written back without it
        spread = pd.to_numeric(table["spread"], errors="coerce")
        if ((table["spread"].notna() & spread.isna()) | (spread < 0) | (spread > 1)).any():  # empty: no spread (0)
            raise XmbenchError(f"{where}: column spread must hold numbers in [0, 1] (or be empty); {remedy}")
        table["spread"] = spread.fillna(0.0).astype(float)
    _check_rows(table, where, remedy)
    # a method stored under an alias is checked under its model's one name, once
    table["method"] = table["method"].map(canonical_label)
    table = table.drop_duplicates(subset=[*SETTING, *ROW, "metric"], keep="first")
    settings = table[SETTING].drop_duplicates()
    if len(settings) != 1:
        raise XmbenchError(f"{where} mixes {len(settings)} settings; use one file per setting")
    first = settings.iloc[0]
    try:
        setting = BaselineSetting(
            dataset=str(first["dataset"]), pairing=str(first["pairing"]), profile=str(first["profile"]),
            split_seed=int(first["split_seed"]), paired_fraction=float(first["paired_fraction"]),
            seeds=tuple(int(s) for s in str(first["seeds"]).split()),
            methods=tuple(dict.fromkeys(table["method"])),
        )
    except ValueError as error:
        raise XmbenchError(f"{where} has a malformed setting ({first_line(error)}); {remedy}") from None
    return table, setting


TASKS = {task.value for task in (*Task, *TranslationTask)}


def _check_rows(table: pd.DataFrame, where: str, remedy: str) -> None:
    """Every row must be an mAP in [0, 1] of a known method and task, and no (method, task) twice: a
    baseline that is not one is refused, never compared as if valid."""
    def refuse(what: str, index: int) -> None:
        raise XmbenchError(f"{where}: {what} on data row {index + 1}; {remedy}")

    outside = ~table["value"].between(0, 1)
    if outside.any():
        refuse(f"mAP {table['value'][outside].iloc[0]!r} lies outside [0, 1]", int(outside.to_numpy().argmax()))
    other = table["metric"] != METRIC
    if other.any():
        refuse(f"metric {table['metric'][other].iloc[0]!r} is not {METRIC} (the check compares mAP only)",
               int(other.to_numpy().argmax()))
    unknown = ~table["task"].isin(TASKS)
    if unknown.any():
        refuse(f"task {table['task'][unknown].iloc[0]!r} is not a retrieval task (valid: {', '.join(sorted(TASKS))})",
               int(unknown.to_numpy().argmax()))
    for index, label in enumerate(table["method"]):
        try:
            METHODS.get(label_method(str(label)))
        except XmbenchError as error:
            refuse(str(error), index)
    repeated = table.duplicated(subset=[*SETTING, *ROW, "metric"], keep=False)
    if repeated.any():
        first = table[repeated].iloc[0]
        refuse(f"duplicate row for {first['method']} {first['task']} (a (method, task) may appear once)",
               int(repeated.to_numpy().argmax()))


def new_setting(
    dataset: str | None, pairing: str | None, profile: str, seeds: tuple[int, ...], methods: tuple[str, ...]
) -> BaselineSetting:
    """The setting of a baseline file that does not exist yet (split seed 0, fully paired)."""
    if not dataset:
        raise XmbenchError("a new baseline needs --dataset (and optionally --pairing, --profile, --seeds)")
    entry = DATASETS.get(dataset)
    return BaselineSetting(entry.name, entry.check_pairing(pairing), profile, 0, 1.0, seeds, methods)


def run_setting(setting: BaselineSetting, log=print, **run_options) -> tuple[api.RunReport, pd.DataFrame | None]:
    """Run (or read, when finished under ``out``) the setting's runs on one thread; returns the
    run report and the current scores as a baseline table (None when no run finished).
    ``run_options``: device, data_root, out, cache_dir, force (see ``api.RunConfig``)."""
    config = api.RunConfig(
        dataset=setting.dataset, methods=setting.methods, pairing=setting.pairing, seeds=setting.seeds,
        profile=setting.profile, split_seed=setting.split_seed, paired_fractions=(setting.paired_fraction,),
        **run_options,
    )
    with limit_threads(1):  # baselines are made and checked on one thread (see limit_threads)
        report = api.run_benchmark(config, log=log)
    return report, (baseline_from_scores(report.scores, setting) if not report.scores.empty else None)


def baseline_from_scores(scores: pd.DataFrame, setting: BaselineSetting) -> pd.DataFrame:
    """Overall mAP per method and task, mean over the setting's seeds, as a baseline table."""
    rows = _overall(scores, setting)
    table = rows.groupby(ROW, as_index=False, sort=False)["value"].mean()
    for column in SETTING:
        value = getattr(setting, column)
        table[column] = " ".join(map(str, value)) if column == "seeds" else value
    table["metric"] = METRIC
    return table[BASELINE_COLUMNS]


def merge_update(baseline: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The baseline with the rows of the methods in ``current`` replaced by ``current``'s and every
    other method's rows kept (an update of some methods never drops the others), in the
    baseline's method order (methods new to it last), so the file's diff shows only what changed."""
    order = list(dict.fromkeys([*baseline["method"], *current["method"]]))
    kept = baseline[~baseline["method"].isin(set(current["method"]))]
    table = pd.concat([kept, current], ignore_index=True)
    return table.sort_values("method", key=lambda m: m.map(order.index), kind="stable").reset_index(drop=True)


def write_baseline(path: Path, table: pd.DataFrame) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.6f")


def compare(baseline: pd.DataFrame, current: pd.DataFrame, tolerance: float) -> CheckResult:
    """Baseline vs current (both baseline tables): a change below ``-tolerance`` is a regression."""
    if not tolerance >= 0:
        raise XmbenchError(f"tolerance must be >= 0, got {tolerance}")
    spread = baseline["spread"] if "spread" in baseline else pd.Series(0.0, index=baseline.index)
    merged = baseline[[*ROW, "value"]].assign(spread=spread.fillna(0.0).to_numpy()).merge(
        current[[*ROW, "value"]], on=ROW, how="left", suffixes=("_baseline", "_current")
    )
    merged = merged.rename(columns={"value_baseline": "baseline", "value_current": "current"})
    merged["change"] = merged["current"] - merged["baseline"]
    merged["allowed"] = tolerance + merged["spread"]  # the row's value is known to within its spread
    merged = merged.drop(columns="spread")
    missing = merged[merged["current"].isna()].reset_index(drop=True)
    present = merged[merged["current"].notna()]
    return CheckResult(
        regressions=present[present["change"] < -present["allowed"]].reset_index(drop=True),
        improvements=present[present["change"] > present["allowed"]].reset_index(drop=True),
        missing=missing[[*ROW, "baseline"]],
        tolerance=tolerance,
    )


def _overall(scores: pd.DataFrame, setting: BaselineSetting) -> pd.DataFrame:
    scores = headline(scores)
    mask = (
        (scores["metric"] == METRIC) & (scores["class"] == ALL_CLASSES)
        & (scores["dataset"] == setting.dataset) & (scores["pairing"] == setting.pairing)
        & (scores["profile"] == setting.profile) & (scores["paired_fraction"] == setting.paired_fraction)
        & scores["seed"].isin(setting.seeds) & scores["method"].isin(setting.methods)
    )
    return scores[mask]
