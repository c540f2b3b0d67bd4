"""Seeds derived from names, so results do not depend on the order runs happen in."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator

import numpy as np
import torch


def derive_seed(base: int, *keys: object) -> int:
    """A 63-bit seed from a base seed and any labels (dataset, method, repetition, ...)."""
    text = "\x1f".join([str(int(base)), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def numpy_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


_GLOBAL_RNG = threading.RLock()  # held while a block draws from torch's global generator


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Build modules under a fixed seed without leaking into (or depending on) the global RNG.

    torch's layer constructors draw initial weights from the global generator; forking it keeps
    the caller's random state untouched. One block at a time per process: the members of an
    ensemble (``methods.ensemble``) build their networks in threads, which share that generator.
    """
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
