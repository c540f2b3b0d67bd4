"""Per trained method: a fixed number of updates on CUDA (separate runs, and with ``--ensemble`` for
the methods that support it) against the same updates on this machine's CPU; one markdown table.

Run: python benchmarks/gpu_timings.py [--updates 100] [--methods all] [--out gpu-timings.md]
(``benchmarks/gpu_check.sh`` runs it on a CUDA machine). Without CUDA it times the CPU only and
says so: that is how CI-less machines test it.

Each fit is the method's ``quick`` profile with its budget fixed at ``--updates`` (split evenly
between the two phases of vae-assoc and varalign) and model selection off, on synthetic planted
pairs shaped like digits-colors (196-d features; uint8 28x28 images for syncgan-image), 2,000
pairs, timed as a whole fit (set-up included) after one untimed warm-up fit of a few updates on
that device (CUDA context, kernels). CPU: torch's default threads (every core). Ensemble: the
``--ensemble`` seeds (default 3) as one ensemble against the same seeds fitted one after another.
"""

from __future__ import annotations

import argparse
import inspect
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchtools import planted_features, planted_images  # noqa: E402

from xmbench.devices import describe_device, resolve_device, synchronize  # noqa: E402
from xmbench.methods import METHODS  # noqa: E402
from xmbench.methods.ensemble import run_as_ensemble  # noqa: E402

PAIRS = 2_000
PHASED_BUDGETS = {"vae-assoc": ("intra_updates", "cross_updates"), "varalign": ("vae_updates", "align_updates")}


def budget(name: str, updates: int) -> dict:
    """The constructor arguments that fix ``name``'s training at ``updates`` updates, selection off."""
    cls = METHODS.get(name)
    fixed = {"model_selection": False} if "model_selection" in inspect.signature(cls).parameters else {}
    if name in PHASED_BUDGETS:
        return fixed | {param: max(1, updates // 2) for param in PHASED_BUDGETS[name]}
    return fixed | {"max_updates": updates}


def trained_methods(chosen: str) -> list[str]:
    names = METHODS.names() if chosen == "all" else chosen.split(",")
    return [n for n in names if "max_updates" in inspect.signature(METHODS.get(n)).parameters or n in PHASED_BUDGETS]


def fit_seconds(name: str, updates: int, device: torch.device, seeds: tuple[int, ...], ensemble: bool) -> float:
    cls = METHODS.get(name)
    data = planted_images(PAIRS) if cls.input_kind == "images" else planted_features(PAIRS)
    methods = [cls.from_profile("quick", seed=seed, device=str(device), **budget(name, updates)) for seed in seeds]
    synchronize(device)
    started = time.perf_counter()
    if ensemble:
        results = run_as_ensemble([lambda m=m: m.fit(data) for m in methods])
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
    else:
        for method in methods:
            method.fit(data)
    synchronize(device)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--ensemble", type=int, default=3, help="seeds per ensemble")
    parser.add_argument("--out", type=Path, default=Path("gpu-timings.md"))
    args = parser.parse_args()
    cpu_device, gpu_device = torch.device("cpu"), resolve_device("auto")  # xmbench's device choice: a GPU if any
    gpu = gpu_device.type != "cpu"
    seeds = tuple(range(args.ensemble))
    header = (f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {platform.node()}; CPU: {torch.get_num_threads()} threads; "
              f"CUDA: {describe_device(gpu_device) if gpu else 'not available (CPU columns only)'}; torch "
              f"{torch.__version__}; {args.updates} updates per fit, {PAIRS:,} planted pairs")
    lines = [header, "", "| method | CPU s | CUDA s | CUDA speed-up | CUDA, "
             f"{len(seeds)} seeds one by one, s | CUDA, --ensemble of {len(seeds)}, s | ensemble speed-up |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in trained_methods(args.methods):
        for device in [cpu_device] + ([gpu_device] if gpu else []):  # untimed warm-up: allocators, kernels, context
            fit_seconds(name, 2, device, (0,), ensemble=False)
        cpu = fit_seconds(name, args.updates, cpu_device, (0,), ensemble=False)
        row = [name, f"{cpu:.2f}"]
        if gpu:
            on_gpu = fit_seconds(name, args.updates, gpu_device, (0,), ensemble=False)
            row += [f"{on_gpu:.2f}", f"{cpu / on_gpu:.1f}x"]
            if METHODS.get(name).supports_ensemble:
                separate = fit_seconds(name, args.updates, gpu_device, seeds, ensemble=False)
                together = fit_seconds(name, args.updates, gpu_device, seeds, ensemble=True)
                row += [f"{separate:.2f}", f"{together:.2f}", f"{separate / together:.1f}x"]
            else:
                row += ["-", "no ensemble support", "-"]
        else:
            row += ["-"] * 5
        lines.append("| " + " | ".join(row) + " |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    main()
