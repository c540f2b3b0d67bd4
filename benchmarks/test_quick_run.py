"""A full ``quick`` run of every registered method on the default dataset, from scratch: what
``xmbench run --methods all --profile quick`` does (dataset load, feature extraction into an
empty cache, recognition classifiers, then fit, embed, score and store each method).

Run: pytest benchmarks/test_quick_run.py --benchmark-only -s
Timed once (it takes minutes). Reference: the methods' own work, the sum over runs of fit_s +
evaluate_s from each run's manifest; the ratio wall / that sum is the harness overhead (features,
recognizers, storing). Per-method fit and evaluate times are printed. Target on a 2-core CPU: the
whole run under 300 s, and no run fails.
"""

from __future__ import annotations

import json
import time

from benchtools import seconds_text, target_text
from xmbench.api import RunConfig, run_benchmark
from xmbench.methods import METHODS

DATASET, PROFILE, MAX_SECONDS = "digits-colors", "quick", 300.0


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
    timings = {m["key"]["method"]: m["timings"] for m in manifests if m.get("status") == "ok"}
    methods_seconds = sum(t["fit_s"] + t["evaluate_s"] for t in timings.values())
    stages = next(iter(timings.values()), {})
    print("  per method: fit / evaluate")
    for method, t in sorted(timings.items(), key=lambda item: -item[1]["fit_s"]):
        print(f"    {method:<18} {t['fit_s']:7.1f} s / {t['evaluate_s']:5.1f} s")
    print(
        f"  shared stages: load {stages.get('load_s', float('nan')):.1f} s, features {stages.get('features_s', float('nan')):.1f} s, "
        f"recognizers {stages.get('recognizers_s', float('nan')):.1f} s"
        f"\n  wall {wall:.1f} s; methods' fit + evaluate {methods_seconds:.1f} s; harness overhead ratio "
        f"{wall / methods_seconds:.2f} (target wall < {MAX_SECONDS:.0f} s)"
    )
    record(
        benchmark="full quick run", measured=f"`xmbench run --methods all --profile {PROFILE}` on {DATASET}, "
        f"{len(timings)} methods, cold feature cache (once)",
        value=seconds_text(wall), reference="sum of the runs' fit_s + evaluate_s (manifests)",
        reference_value=seconds_text(methods_seconds), ratio=f"wall is {wall / methods_seconds:.2f}x the methods' own time",
        target=target_text(f"< {MAX_SECONDS:.0f} s, no failed run", wall < MAX_SECONDS and not report.failed),
    )
    assert not report.failed, f"failed runs: {report.failed}"
    assert sorted(timings) == sorted(METHODS.names())
    assert wall < MAX_SECONDS, f"the quick run of all methods took {wall:.0f} s >= {MAX_SECONDS:.0f} s"
