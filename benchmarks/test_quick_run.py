"""A full ``quick`` run of every registered method on the default dataset, from scratch: what
``xmbench run --methods all --profile quick`` does (dataset load, feature extraction into an
empty cache, recognition classifiers, then fit with validation and model selection, embed, score
and store each method).

Run: pytest benchmarks/test_quick_run.py --benchmark-only -s
Timed once (it takes minutes). Reference: the same runs without their validation, i.e. the sum
over runs of fit_s - validation_s + evaluate_s from each run's manifest (the training loop times
every validation, so both are measured in the same run); the ratio wall / that sum is the cost of
validation plus the harness's own overhead (features, recognizers, storing). Per-method fit,
validation and evaluate times are printed. Targets on a 2-core CPU: the whole run under 300 s
with no failed run, and validation at most 10% of the fit time.
"""

from __future__ import annotations

import json
import time

from benchtools import seconds_text, target_text
from xmbench.api import RunConfig, run_benchmark
from xmbench.methods import METHODS

DATASET, PROFILE, MAX_SECONDS, MAX_VALIDATION_SHARE = "digits-colors", "quick", 300.0, 0.10


def test_quick_run_all_methods(benchmark, record, tmp_path) -> None:
    config = RunConfig(
        dataset=DATASET, methods=("all",), profile=PROFILE, out=tmp_path / "results", cache_dir=tmp_path / "cache"
    )
    started = time.perf_counter()

    def log(line: str) -> None:
        print(f"  [{time.perf_counter() - started:6.1f} s] {line}")

    print(f"\nxmbench run --dataset {DATASET} --methods all --profile {PROFILE} (device {config.device}):")
    report = benchmark.pedantic(run_benchmark, args=(config,), kwargs={"log": log}, rounds=1, iterations=1)
    wall = benchmark.stats.stats.min
    manifests = [json.loads(path.read_text()) for path in sorted((tmp_path / "results" / "runs").glob("*/manifest.json"))]
    ok = [m for m in manifests if m.get("status") == "ok"]
    timings = {m["key"]["method"]: m["timings"] for m in ok}
    updates = {m["key"]["method"]: sum(p["updates"] - p["first_update"] for p in m["training"]["phases"]) for m in ok}
    fit = sum(t["fit_s"] for t in timings.values())
    validation = sum(t["validation_s"] for t in timings.values())
    without_validation = sum(t["fit_s"] - t["validation_s"] + t["evaluate_s"] for t in timings.values())
    stages = next(iter(timings.values()), {})
    print("  per method: fit (of which validation) / evaluate, updates")
    for method, t in sorted(timings.items(), key=lambda item: -item[1]["fit_s"]):
        share = t["validation_s"] / t["fit_s"] if t["fit_s"] else 0.0
        print(f"    {method:<18} {t['fit_s']:7.1f} s ({t['validation_s']:5.1f} s, {share:4.0%}) / {t['evaluate_s']:5.1f} s,"
              f" {updates[method]} updates")
    print(
        f"  shared stages: load {stages.get('load_s', float('nan')):.1f} s, features {stages.get('features_s', float('nan')):.1f} s, "
        f"recognizers {stages.get('recognizers_s', float('nan')):.1f} s"
        f"\n  wall {wall:.1f} s; without validation {without_validation:.1f} s; validation {validation:.1f} s = "
        f"{validation / fit:.1%} of fit time (targets: wall < {MAX_SECONDS:.0f} s, validation <= {MAX_VALIDATION_SHARE:.0%})"
    )
    record(
        benchmark="full quick run", measured=f"`xmbench run --methods all --profile {PROFILE}` on {DATASET}, "
        f"{len(timings)} methods, cold feature cache, model selection on (once)",
        value=seconds_text(wall), reference="the same runs without validation (fit_s - validation_s + evaluate_s)",
        reference_value=seconds_text(without_validation), ratio=f"wall is {wall / without_validation:.2f}x",
        target=target_text(f"< {MAX_SECONDS:.0f} s, no failed run", wall < MAX_SECONDS and not report.failed),
    )
    record(
        benchmark="full quick run", measured="validation (model selection) share of the runs' fit time",
        value=f"{validation / fit:.1%}", reference="fit time", reference_value=seconds_text(fit),
        ratio=f"{seconds_text(validation)} validating", target=target_text(
            f"<= {MAX_VALIDATION_SHARE:.0%}", validation / fit <= MAX_VALIDATION_SHARE),
    )
    assert not report.failed, f"failed runs: {report.failed}"
    assert sorted(timings) == sorted(METHODS.names())
    assert validation / fit <= MAX_VALIDATION_SHARE, f"validation took {validation / fit:.1%} of the fit time"
    assert wall < MAX_SECONDS, f"the quick run of all methods took {wall:.0f} s >= {MAX_SECONDS:.0f} s"
