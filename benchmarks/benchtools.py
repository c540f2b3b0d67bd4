"""What the benchmark files share: synthetic pairs shaped like the default dataset, best-of-rounds
timing, and the wording of table cells."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from xmbench.data.base import PairedSplit
from xmbench.features.cnn import FEATURE_DIM

N_CLASSES = 10


def planted_features(n: int, seed: int = 0) -> PairedSplit:
    """Non-negative (post-ReLU, like CNN features) FEATURE_DIM-d pairs with a class signal per side."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % N_CLASSES
    a = np.maximum(rng.normal(size=(N_CLASSES, FEATURE_DIM))[y] + rng.normal(size=(n, FEATURE_DIM)), 0)
    b = np.maximum(rng.normal(size=(N_CLASSES, FEATURE_DIM))[y] + rng.normal(size=(n, FEATURE_DIM)), 0)
    return PairedSplit(a.astype(np.float32), b.astype(np.float32), y, y)


def planted_images(n: int, seed: int = 0) -> PairedSplit:
    """uint8 digit-like (1 channel) and colour-like (3 channels) 28x28 images, brightness by class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % N_CLASSES
    a = np.clip(y[:, None, None, None] * 20 + rng.integers(0, 60, (n, 1, 28, 28)), 0, 255).astype(np.uint8)
    b = np.clip(rng.integers(0, 256, (N_CLASSES, 3, 1, 1))[y] + rng.integers(0, 20, (n, 3, 28, 28)), 0, 255)
    return PairedSplit(a, b.astype(np.uint8), y, y)


def best_of(rounds: int, run: Callable[[], object]) -> float:
    """Fastest of ``rounds`` timed calls, in seconds (the least disturbed by a busy machine)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def speed_ratio(seconds: float, reference_seconds: float) -> str:
    """How many times faster (or slower) than the reference, the direction in words."""
    if seconds <= reference_seconds:
        return f"{reference_seconds / seconds:.1f}x faster"
    return f"{seconds / reference_seconds:.1f}x slower"


def seconds_text(seconds: float) -> str:
    """A duration with a unit that keeps it readable (3 significant digits)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:,.0f} s"


def target_text(target: str, met: bool) -> str:
    return f"{target} ({'met' if met else 'MISSED'})"
