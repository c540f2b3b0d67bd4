"""Would channels-last memory or ``torch.compile`` make syncgan-image's update cheaper on the CPU?
syncgan-image dominates a converged ``quick`` run of every method (about 15 of its 16 minutes on
a 2-core CPU), and its update is convolution-bound. Timed here: one Algorithm-1-shaped update of
its networks (D_a and D_b on real and generated images, S on real pairs, both generators against D
and S; batch 64, (1, 28, 28) and (3, 28, 28) images, fused Adam) at one thread, as a worker of
``--jobs`` runs it, against the same update with the networks and images as xmbench uses them.

Run: pytest benchmarks/test_syncgan_image_levers.py --benchmark-only -s   (about a minute)
"""

from __future__ import annotations

import time

import pytest
import torch
from benchtools import seconds_text, speed_ratio

from xmbench.methods.gan.syncgan_nets import image_networks
from xmbench.threads import limit_threads

BATCH, LATENT, ROUNDS, WARM_UP = 64, 64, 30, 5


def _update_loop(variant: str):
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    nets = image_networks({"a": 1, "b": 3}, LATENT, 32, 256, 0.2)
    images = {"a": torch.rand(BATCH, 1, 28, 28, generator=generator), "b": torch.rand(BATCH, 3, 28, 28, generator=generator)}
    if variant == "channels-last":
        nets = nets.to(memory_format=torch.channels_last)
        images = {m: x.contiguous(memory_format=torch.channels_last) for m, x in images.items()}
    if variant == "torch.compile":
        for m in "ab":
            nets.generators[m] = torch.compile(nets.generators[m], dynamic=False)
            nets.discriminators[m] = torch.compile(nets.discriminators[m], dynamic=False)
        nets.synchronizer = torch.compile(nets.synchronizer, dynamic=False)
    optimizer = torch.optim.Adam(nets.parameters(), 1e-3, fused=True)

    def noise() -> torch.Tensor:
        return torch.randn(BATCH, LATENT, generator=generator)

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def update() -> None:
        d_loss = 0
        for m in "ab":
            with torch.no_grad():
                fake = nets.generators[m](noise())
            d_loss = d_loss + nets.discriminate(m, images[m]).mean() - nets.discriminate(m, fake).mean()
        step(d_loss)
        step(nets.synchronizer(images["a"], images["b"]).mean())
        g_loss = sum(nets.discriminate(m, nets.generators[m](noise())).mean() for m in "ab")
        step(g_loss + nets.synchronizer(nets.generators["a"](noise()), nets.generators["b"](noise())).mean())

    return update


def _seconds_per_update(variant: str) -> tuple[float, float]:
    """(seconds per update, seconds of the warm-up, compilation included) at one thread."""
    with limit_threads(1):
        update = _update_loop(variant)
        started = time.perf_counter()
        for _ in range(WARM_UP):
            update()
        warm = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(ROUNDS):
            update()
        return (time.perf_counter() - started) / ROUNDS, warm


@pytest.mark.parametrize("variant", ["channels-last", "torch.compile"])
def test_syncgan_image_update_levers(benchmark, record, variant) -> None:
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)  # timed by hand: a warm-up, then the mean of ROUNDS
    reference, _ = _seconds_per_update("as xmbench runs it")
    try:
        seconds, warm = _seconds_per_update(variant)
    except Exception as error:  # noqa: BLE001 (torch.compile needs a C++ compiler; say so in the table)
        record(benchmark="syncgan-image update (1 thread)", measured=f"{variant}: failed ({type(error).__name__})",
               value="-", reference="contiguous, eager", reference_value=seconds_text(reference), ratio="-")
        return
    record(benchmark="syncgan-image update (1 thread)",
           measured=f"one update, {variant} (mean of {ROUNDS} after {WARM_UP} warm-up: {seconds_text(warm)})",
           value=seconds_text(seconds), reference="the same update, contiguous, eager (as xmbench runs it)",
           reference_value=seconds_text(reference), ratio=speed_ratio(seconds, reference))
