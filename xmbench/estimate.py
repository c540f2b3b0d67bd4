"""What an invocation will cost, said before it starts: each run's wall time from its method's
measured cost (``methods/costs.json``: fit and scoring seconds, updates and budget of measured
runs, per method and profile) and the invocation's plan (runs, replicates, jobs).

Two numbers per run: *typical*, the measured mean fit time plus scoring (trained methods stop
when their validation curve flattens), and *at most*, the measured seconds per update times the
whole budget (a run that never stops early) plus scoring. The wall time schedules the runs of each
replicate longest first on the jobs (replicates run one after another), plus a measured allowance
per replicate for loading, features and recognizers. The costs are those of the machine and
dataset that measured them (``measured_on``); another CPU, dataset or ``--set`` budget moves them,
which the line says.

``measure_costs`` makes the table from a results folder; ``benchmarks/test_time_to_converge.py``
writes it after its run (``.benchmarks/method-costs.json``), and a maintainer copies it here.
"""

from __future__ import annotations

import heapq
import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from xmbench.results.schema import RunKey

COSTS_FILE = Path(__file__).resolve().parent / "methods" / "costs.json"


@dataclass(frozen=True)
class RunCost:
    """The measured cost of one method at one profile (means over the measured runs)."""

    fit_s: float  # fitting, validation included
    evaluate_s: float  # scoring the test split
    updates: float | None  # updates trained (None: closed form)
    budget: float | None  # the updates the profile allows (None: closed form)
    shared_s: float = 0.0  # the replicate's load, features and recognizers, paid once per replicate

    @property
    def typical_s(self) -> float:
        return self.fit_s + self.evaluate_s

    @property
    def at_most_s(self) -> float:
        scale = self.budget / self.updates if self.updates and self.budget else 1.0
        return self.fit_s * max(scale, 1.0) + self.evaluate_s


@dataclass(frozen=True)
class Estimate:
    runs: int
    jobs: int
    typical_s: float
    at_most_s: float
    unmeasured: tuple[str, ...]  # "method (profile)" without a measured cost
    measured_on: str
    with_settings: int = 0  # runs with --set values, estimated at their profile's defaults

    def line(self) -> str:
        parts = [f"estimate: {self.runs} run(s), {self.jobs} at a time"]
        if self.typical_s > 0:
            parts.append(f"about {duration(self.typical_s)} (at most {duration(self.at_most_s)} if no run stops early)")
        if self.unmeasured:
            parts.append(f"not counted, no measured cost: {', '.join(self.unmeasured)}")
        if self.with_settings:
            parts.append(f"{self.with_settings} run(s) with --set values counted as at their profile's defaults")
        if self.typical_s > 0:
            parts.append(f"from costs measured {self.measured_on}")
        return "; ".join(parts)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@cache
def read_costs(path: Path = COSTS_FILE) -> dict[str, Any]:
    """The measured costs: {"measured_on": str, "costs": {profile: {method: RunCost fields}}}."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"measured_on": "", "costs": {}}


def run_cost(key: RunKey, table: dict[str, Any] | None = None) -> RunCost | None:
    """The measured cost of ``key``'s method at its profile, or None where none was measured."""
    table = read_costs() if table is None else table
    entry = table.get("costs", {}).get(key.profile, {}).get(key.method)
    return None if entry is None else RunCost(**entry)


def estimate(keys: Sequence[RunKey], jobs: int, table: dict[str, Any] | None = None) -> Estimate:
    """The wall time of running ``keys`` ``jobs`` at a time, replicate after replicate."""
    table = read_costs() if table is None else table
    replicates: dict[tuple[int, str], list[RunCost]] = {}
    unmeasured: dict[str, None] = {}
    for key in keys:
        cost = run_cost(key, table)
        if cost is None:
            unmeasured[f"{key.method} ({key.profile})"] = None
        else:
            replicates.setdefault((key.data_seed, key.modalities), []).append(cost)
    typical = sum(_schedule([c.typical_s for c in costs], jobs) + max(c.shared_s for c in costs)
                  for costs in replicates.values())
    at_most = sum(_schedule([c.at_most_s for c in costs], jobs) + max(c.shared_s for c in costs)
                  for costs in replicates.values())
    return Estimate(len(keys), jobs, typical, at_most, tuple(unmeasured), table.get("measured_on", ""),
                    sum(1 for key in keys if key.settings))


def longest_first(keys: Sequence[RunKey], table: dict[str, Any] | None = None) -> list[RunKey]:
    """``keys`` with the dearest runs first (unmeasured ones last, in their order), so that with
    several jobs no long run starts when the others are done; the order changes no number."""
    table = read_costs() if table is None else table
    cost = {key: run_cost(key, table) for key in keys}
    return sorted(keys, key=lambda key: -(cost[key].typical_s if cost[key] else 0.0))


def _schedule(seconds: Iterable[float], jobs: int) -> float:
    """The makespan of the tasks on ``jobs`` workers, longest first (what the pool does)."""
    workers = [0.0] * max(jobs, 1)
    for task in sorted(seconds, reverse=True):
        heapq.heappush(workers, heapq.heappop(workers) + task)
    return max(workers)


def measure_costs(manifests: Iterable[dict[str, Any]], measured_on: str) -> dict[str, Any]:
    """The costs table from finished runs' manifests: per profile and method, the means over runs."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for manifest in manifests:
        if manifest.get("status") == "ok":
            key = manifest["key"]
            groups.setdefault((key["profile"], key["method"]), []).append(manifest)
    costs: dict[str, dict[str, Any]] = {}
    for (profile, method), runs in sorted(groups.items()):
        phases = [run.get("training", {}).get("phases", []) for run in runs]
        trained = all(phases)
        timings = [run["timings"] for run in runs]
        costs.setdefault(profile, {})[method] = {
            "fit_s": round(statistics.fmean(t["fit_s"] for t in timings), 3),
            "evaluate_s": round(statistics.fmean(t["evaluate_s"] for t in timings), 3),
            "updates": round(statistics.fmean(sum(p["updates"] - p["first_update"] for p in ph) for ph in phases), 1)
            if trained else None,
            "budget": round(statistics.fmean(sum(p["budget"] for p in ph) for ph in phases), 1) if trained else None,
            "shared_s": round(statistics.fmean(sum(t.get(s, 0.0) for s in ("load_s", "features_s", "recognizers_s"))
                                               for t in timings), 3),
        }
    return {"measured_on": measured_on, "costs": costs}
