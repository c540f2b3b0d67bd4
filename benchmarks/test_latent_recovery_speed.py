"""SyncGAN latent recovery (Eq. 3: z minimising ||G(z) - x||^2 by Adam steps) per 1,000 samples, as
xmbench runs it (all rows' latents optimised together, in chunks of ``recovery_batch``), against
recovering each sample on its own with the same number of steps.

Run: pytest benchmarks/test_latent_recovery_speed.py --benchmark-only -s
Models: ``syncgan`` (paper networks, 196-d planted-class features, the default dataset's width)
and ``syncgan-image`` (paper networks, uint8 28x28 images: 1 and 3 channels), each trained for
FIT_EPOCHS epoch only: recovery costs the same whatever the weights. Steps: the paper profile's
recovery_steps (500) for features; the quick profile's (100) for images, because 500 steps on
1,000 images plus the reference take several minutes on 2 cores (the cost is linear in the steps).
Timed: ``SyncGAN._recover`` on 1,000 rows of modality a (what ``embed`` and ``translate`` run;
``embed`` memoises its last input, so it cannot be timed repeatedly); best of 3 for features, once
for images. Reference: the same recovery with ``recovery_batch = 1``, i.e. recovering one sample
at a time with the same steps; timed on the first 20 samples (5 images) and scaled to 1,000. Both
must reach the same mean reconstruction error on those samples (within 1%): the latents are equal
in exact arithmetic, but float rounding, which differs between batch sizes, is amplified over
hundreds of Adam steps (several tenths in z after 500 steps). Target: none.
"""

from __future__ import annotations

import time

import pytest
import torch

from benchtools import planted_features, planted_images, seconds_text, speed_ratio
from xmbench.methods import METHODS

N_SAMPLES, FIT_EPOCHS, FIT_BATCHES, MAX_ERROR_GAP = 1_000, 1, 4, 0.01
# per input kind: the profile whose recovery_steps are timed, rounds of the batched recovery, and
# samples the one-at-a-time reference is timed on (500 steps on 1,000 images take over 2 minutes)
SETTINGS = {"features": ("paper", 3, 20), "images": ("quick", 1, 5)}


def reconstruction_error(method, z: torch.Tensor, x: torch.Tensor) -> float:
    """Mean over samples of ||G_a(z) - x||^2: what recovery minimises."""
    with torch.no_grad():
        return float((method.networks_.generators["a"](z) - x).pow(2).flatten(1).sum(1).mean())


@pytest.mark.parametrize("name", [name for name in METHODS.names() if getattr(METHODS.get(name), "_recover", None)])
def test_latent_recovery_per_1000_samples(name, benchmark, record) -> None:
    cls = METHODS.get(name)
    profile, rounds, naive_samples = SETTINGS[cls.input_kind]
    steps = cls.from_profile(profile).recovery_steps
    method = cls.from_profile("paper", seed=0, device="cpu", epochs=FIT_EPOCHS, recovery_steps=steps)
    planted = planted_images if cls.input_kind == "images" else planted_features
    method.fit(planted(FIT_BATCHES * method.batch_size))
    samples = method._to_model("a", planted(N_SAMPLES, seed=1).a)

    recovered = benchmark.pedantic(lambda: method._recover("a", samples), rounds=rounds, iterations=1)
    batched = benchmark.stats.stats.min
    subset, chunk = samples[:naive_samples], method.recovery_batch
    method.recovery_batch = 1  # the reference: the same recovery, one sample per chunk
    started = time.perf_counter()
    one_by_one = method._recover("a", subset)
    naive_subset = time.perf_counter() - started
    method.recovery_batch = chunk
    together = method._recover("a", subset)
    errors = [reconstruction_error(method, z, subset) for z in (one_by_one, together)]
    gap = abs(errors[0] - errors[1]) / errors[1]
    naive = naive_subset * N_SAMPLES / naive_samples
    print(
        f"\n{name} latent recovery, {method.recovery_steps} Adam steps ({profile} profile, lr {method.recovery_lr}), "
        f"inputs {tuple(samples.shape[1:])}:"
        f"\n  xmbench, {N_SAMPLES} samples in chunks of {chunk} (best of {rounds}): {batched:.2f} s"
        f"\n  one sample at a time: {naive_subset:.2f} s for {naive_samples} samples, scaled to {N_SAMPLES}: {naive:.1f} s"
        f"\n  ratio: batched is {speed_ratio(batched, naive)}"
        f"\n  on those {naive_samples} samples: mean squared error one at a time {errors[0]:.4g}, batched {errors[1]:.4g} "
        f"(gap {gap:.1e}); max |z difference| {(one_by_one - together).abs().max():.1e} (float rounding, amplified by Adam)"
    )
    record(
        benchmark="latent recovery per 1,000",
        measured=f"`{name}`: recover {N_SAMPLES:,} samples, {method.recovery_steps} steps ({profile} profile), "
        f"chunks of {chunk}",
        value=seconds_text(batched),
        reference=f"one sample at a time, same steps (timed on {naive_samples}, scaled to {N_SAMPLES:,})",
        reference_value=seconds_text(naive), ratio=speed_ratio(batched, naive),
    )
    assert recovered.shape == (N_SAMPLES, method.latent_dim)
    assert gap <= MAX_ERROR_GAP, f"one-at-a-time recovery reaches error {errors[0]}, batched {errors[1]}"
