"""Time to converge: ``xmbench run --methods all --profile quick`` on digits-colors, one replicate,
as it runs now (``--jobs`` auto: one worker process of one thread per core), against the same runs
as xmbench ran them before issue 36 (one after another in one process, at the process's thread
count: ``--jobs 1``), timed in the same session on a warm feature cache.

Run: pytest benchmarks/test_time_to_converge.py --benchmark-only -s   (about an hour on a 2-core CPU:
both sweeps train every method to convergence; ``XMBENCH_BENCH_METHODS=cca,cmgans`` times a subset)

Rows: one per method (its run's wall seconds, fit plus scoring; the updates it trained and the one
it kept; updates per second of training, validation excluded; validation's share of its fit time;
whether it converged), then the whole invocation's wall time and validation share. Targets: the
whole run at most 15 minutes, every trained run converged, each method's test average mAP within
.01 of the reference's (a GAN's numbers also move with the thread count, so a miss there is
reported, not asserted). After the run the measured costs are written to
``.benchmarks/method-costs.json``, in the form of the table ``xmbench run``'s estimate line reads
(its ``quick`` entries replace those of ``xmbench/methods/costs.json``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import pytest
from benchtools import seconds_text, speed_ratio, target_text

from xmbench.api import RunConfig, run_benchmark
from xmbench.estimate import measure_costs
from xmbench.executors import ExecutionConfig
from xmbench.methods import METHODS

DATASET, PROFILE, MAX_WALL_S, MAX_MAP_CHANGE = "digits-colors", "quick", 900.0, 0.01
COSTS_OUT = Path(".benchmarks") / "method-costs.json"


def _methods() -> tuple[str, ...]:
    chosen = os.environ.get("XMBENCH_BENCH_METHODS")
    return tuple(chosen.split(",")) if chosen else ("all",)


def _sweep(root: Path, name: str, cache: Path, jobs: int | None) -> dict:
    """One timed invocation; its wall time, and per method its manifest and average test mAP."""
    config = RunConfig(dataset=DATASET, methods=_methods(), profile=PROFILE, out=root / name, cache_dir=cache,
                       execution=ExecutionConfig(jobs=jobs))
    started = time.perf_counter()
    report = run_benchmark(config, log=lambda line: print(f"  [{name} {time.perf_counter() - started:6.0f} s] {line}"))
    wall = time.perf_counter() - started
    manifests = {m["key"]["method"]: m for m in map(json.loads, map(Path.read_text, (root / name / "runs").glob("*/manifest.json")))}
    scores = report.scores
    retrieval = scores[(scores["metric"] == "mAP") & (scores["class"] == "all") & scores["task"].isin(["A->B", "B->A", "A->A+B", "B->A+B"])]
    average = retrieval.groupby("method")["value"].mean().to_dict()
    return {"wall": wall, "failed": report.failed, "manifests": manifests, "average": average}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("time-to-converge")
    cache = root / "cache"
    warm = RunConfig(dataset=DATASET, methods=("cca",), profile=PROFILE, out=root / "warm", cache_dir=cache)
    run_benchmark(warm, log=lambda line: None)  # extracts the features, so neither sweep times that
    reference = _sweep(root, "reference", cache, jobs=1)
    measured = _sweep(root, "measured", cache, jobs=None)
    return {"reference": reference, "measured": measured}


def _trained(manifest: dict) -> tuple[int, int, bool] | None:
    """(updates trained, update kept, converged) of a trained run; None for closed form."""
    phases = manifest.get("training", {}).get("phases", [])
    if not phases:
        return None
    updates = sum(p["updates"] - p["first_update"] for p in phases)
    return updates, phases[-1]["selected_update"], all(p["converged"] for p in phases)


def test_time_to_converge_per_method_and_all(benchmark, record, sweeps) -> None:
    measured, reference = sweeps["measured"], sweeps["reference"]
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # the sweeps are timed by hand above
    threads = {m["execution"].get("torch_threads") for m in measured["manifests"].values()}
    jobs = {m["execution"].get("jobs", 1) for m in measured["manifests"].values()}
    misses: list[str] = []
    for method, manifest in sorted(measured["manifests"].items(), key=lambda item: -item[1]["timings"]["fit_s"]):
        timings = manifest["timings"]
        wall = timings["fit_s"] + timings["evaluate_s"]
        old = reference["manifests"].get(method)
        old_wall = old["timings"]["fit_s"] + old["timings"]["evaluate_s"] if old else float("nan")
        trained = _trained(manifest)
        change = measured["average"].get(method, float("nan")) - reference["average"].get(method, float("nan"))
        if trained is None:
            value = f"{seconds_text(wall)}; closed form"
            converged = True
        else:
            updates, kept, converged = trained
            rate = updates / max(timings["fit_s"] - timings["validation_s"], 1e-9)
            share = timings["validation_s"] / timings["fit_s"] if timings["fit_s"] else 0.0
            value = (f"{seconds_text(wall)}; {updates:,} updates, kept {kept:,}; {rate:,.0f} updates/s; "
                     f"validation {share:.0%}; {'converged' if converged else 'NOT converged'}")
        met = converged and abs(change) <= MAX_MAP_CHANGE
        if not met:
            misses.append(f"{method} (converged {converged}, average mAP change {change:+.3f})")
        record(benchmark="time to converge", measured=f"`{method}`, quick, digits-colors (wall: fit + scoring)",
               value=value, reference="the same run, --jobs 1 at the process's threads (xmbench before issue 36)",
               reference_value=seconds_text(old_wall),
               ratio=f"{speed_ratio(wall, old_wall)}; average mAP {change:+.3f}",
               target=target_text(f"converged, average mAP within {MAX_MAP_CHANGE}", met))
    fit = sum(m["timings"]["fit_s"] for m in measured["manifests"].values())
    validation = sum(m["timings"]["validation_s"] for m in measured["manifests"].values())
    record(benchmark="time to converge", measured=f"`xmbench run --methods {','.join(_methods())} --profile quick` on "
           f"{DATASET}, {len(measured['manifests'])} runs, {sorted(jobs)} jobs x {sorted(threads)} thread, warm cache",
           value=seconds_text(measured["wall"]), reference="the same invocation with --jobs 1",
           reference_value=seconds_text(reference["wall"]), ratio=speed_ratio(measured["wall"], reference["wall"]),
           target=target_text(f"<= {MAX_WALL_S / 60:.0f} min, no failed run",
                              measured["wall"] <= MAX_WALL_S and not measured["failed"]))
    record(benchmark="time to converge", measured="validation (model selection) share of the runs' fit time",
           value=f"{validation / fit:.1%}", reference="fit time", reference_value=seconds_text(fit),
           ratio=f"{seconds_text(validation)} validating", target="-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    on = (f"on {DATASET}, {os.cpu_count()}-core {platform.machine()} CPU, {'/'.join(map(str, sorted(threads)))} "
          f"thread per run (commit {commit or 'unknown'}, {time.strftime('%Y-%m-%d')})")
    COSTS_OUT.parent.mkdir(exist_ok=True)
    COSTS_OUT.write_text(json.dumps(measure_costs(measured["manifests"].values(), on), indent=1) + "\n")
    assert not measured["failed"] and not reference["failed"], (measured["failed"], reference["failed"])
    if _methods() == ("all",):
        assert sorted(measured["manifests"]) == sorted(METHODS.names())
    assert not misses or all("converged True" in miss for miss in misses), f"not converged: {misses}"
