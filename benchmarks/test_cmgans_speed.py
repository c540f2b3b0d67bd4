"""CM-GANs training speed: iterations per second of the paper-sized model on CPU, against a plain
autoencoder step of the same width timed in the same run.

Run: pytest benchmarks/test_cmgans_speed.py --benchmark-only -s
One CM-GANs iteration (Algorithm 1) = 1 discriminator update + K=5 generator updates, each
generator update covering both modalities' autoencoders and all four discriminators. The reference
is one forward/backward/Adam step of a single 196 -> 512 -> 512 -> 512 -> 196 autoencoder
(Linear + BatchNorm + ReLU, batch 128). Both are timed best-of-rounds, so a busy machine does not
fail the check. Target: one iteration costs <= 30 reference steps (about 15 is expected from the
arithmetic: 5 x two autoencoders plus discriminators); a per-batch host round trip, a rebuilt
module or a Python loop over rows would break it.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from xmbench.data.base import PairedSplit
from xmbench.methods.cmgans import CMGANs
from xmbench.seeding import seeded_init

DIM, HIDDEN, BATCH, K, N_CLASSES = 196, 512, 128, 5, 10
ITERATIONS_PER_EPOCH, EPOCHS = 16, 2
REFERENCE_STEPS, REFERENCE_ROUNDS = 40, 5
MAX_RATIO = 30.0


def synthetic_pairs() -> PairedSplit:
    rng = np.random.default_rng(0)
    n = BATCH * ITERATIONS_PER_EPOCH
    y = np.arange(n) % N_CLASSES
    a = np.maximum(rng.normal(size=(N_CLASSES, DIM))[y] + rng.normal(size=(n, DIM)), 0).astype(np.float32)
    b = np.maximum(rng.normal(size=(N_CLASSES, DIM))[y] + rng.normal(size=(n, DIM)), 0).astype(np.float32)
    return PairedSplit(a, b, y, y)


def reference_step_seconds() -> float:
    """Best-of-rounds time of one plain autoencoder training step of the same width."""

    def block(d_in: int, d_out: int) -> list[nn.Module]:
        return [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU()]

    with seeded_init(0):
        model = nn.Sequential(*block(DIM, HIDDEN), *block(HIDDEN, HIDDEN), *block(HIDDEN, HIDDEN), nn.Linear(HIDDEN, DIM))
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-4)
    x = torch.as_tensor(synthetic_pairs().a[:BATCH])
    best = np.inf
    for _ in range(REFERENCE_ROUNDS):
        start = time.perf_counter()
        for _ in range(REFERENCE_STEPS):
            loss = nn.functional.mse_loss(model(x), x)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        best = min(best, time.perf_counter() - start)
    return best / REFERENCE_STEPS


def test_cmgans_training_iterations_per_second(benchmark) -> None:
    train = synthetic_pairs()

    def train_paper_sized() -> CMGANs:
        return CMGANs(hidden=HIDDEN, batch_size=BATCH, k_generator=K, epochs=EPOCHS).fit(train)

    method = benchmark.pedantic(train_paper_sized, rounds=3, iterations=1, warmup_rounds=1)
    iteration = benchmark.stats.stats.min / (EPOCHS * ITERATIONS_PER_EPOCH)
    reference = reference_step_seconds()
    ratio = iteration / reference
    print(
        f"\nCM-GANs (hidden {HIDDEN}, batch {BATCH}, K={K}, {DIM}-d features, CPU threads {torch.get_num_threads()}):"
        f"\n  CM-GANs training iteration (1 D + {K} G updates): {iteration * 1e3:.1f} ms = {1 / iteration:.1f} it/s"
        f"\n  reference: plain autoencoder step {DIM}-{HIDDEN}-{HIDDEN}-{HIDDEN}-{DIM}: "
        f"{reference * 1e3:.2f} ms = {1 / reference:.1f} steps/s"
        f"\n  ratio: one iteration costs {ratio:.1f} reference steps (limit {MAX_RATIO:.0f})"
        f"\n  => {6_800 // BATCH * iteration:.2f} s per epoch of 6,800 pairs ({6_800 // BATCH} iterations)"
    )
    assert len(method.history_) == EPOCHS
    assert ratio <= MAX_RATIO, f"one CM-GANs iteration costs {ratio:.1f} autoencoder steps > {MAX_RATIO}"
