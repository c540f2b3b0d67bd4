"""Synesthetic colour pairings (thesis Tables 1-2) and the colour-image modality.

The thesis lists colour names but its Fig. 2 (the RGB values) did not survive; xmbench uses the
CSS/X11 named-colour values below. Each colour instance is a 3x28x28 image filled with its RGB
value, exactly as the thesis describes, so all instances of one colour are identical.

Each pairing also comes jittered (``unique-jitter``, ``non-unique-jitter``; not in the thesis): every
colour instance gets its own RGB value, the class colour plus an independent uniform integer offset
in [-``JITTER``, ``JITTER``] per channel (clipped to 0-255), drawn from the replicate's data seed.
The images stay flat, but a colour class becomes a continuous distribution instead of one point,
which a GAN can be asked to model (a 10-point distribution is degenerate for a generator).
``JITTER`` = 24 keeps the classes apart: the closest two distinct class colours (brown/gray,
purple/brown) differ by 86 in one channel, more than the 48 two jitters can close. Classes that
share a colour (``non-unique``'s O and P) stay indistinguishable, as without jitter.
"""

from __future__ import annotations

import numpy as np

from xmbench.data.base import ModalitySpec
from xmbench.errors import XmbenchError
from xmbench.seeding import derive_seed

RGB = {
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "pink": (255, 192, 203),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "brown": (165, 42, 42),
    "blue": (0, 0, 255),
    "gray": (128, 128, 128),
}

JITTER = 24
JITTERED = "-jitter"  # pairing suffix: per-instance colour jitter
# Position k is the colour of the k-th grapheme class (A B C E H K M O P U, or digits 0-9).
PAIRINGS = {
    "unique": ("red", "green", "yellow", "cyan", "pink", "orange", "purple", "brown", "blue", "gray"),
    # Table 2: O and P (positions 7 and 8) are both blue.
    "non-unique": ("red", "green", "yellow", "cyan", "pink", "orange", "purple", "blue", "blue", "gray"),
}

COLOUR_MODALITY = ModalitySpec(name="colour", input_shape=(3, 28, 28))
IMAGE_SIZE = 28


def pairings() -> tuple[str, ...]:
    """The thesis's pairings, then each with per-instance jitter."""
    return (*PAIRINGS, *(name + JITTERED for name in PAIRINGS))


def jitter_generator(dataset: str, data_seed: int) -> np.random.Generator:
    """The generator of a replicate's colour jitter (train split drawn first, then test)."""
    return np.random.default_rng(derive_seed(data_seed, dataset, "colour-jitter"))


def colour_images(labels: np.ndarray, pairing: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """(n,) class labels -> (n, 3, 28, 28) uint8 images of each class's colour under ``pairing``;
    a jittered pairing offsets each instance's colour (draws from ``rng``, required then)."""
    base = pairing.removesuffix(JITTERED)
    palette = np.array([RGB[name] for name in PAIRINGS[base]], dtype=np.int16)
    pixels = palette[np.asarray(labels)]  # (n, 3)
    if pairing != base:
        if rng is None:
            raise XmbenchError(f"colour pairing {pairing!r} jitters each instance: pass the replicate's jitter generator")
        pixels = pixels + rng.integers(-JITTER, JITTER + 1, size=pixels.shape)
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return np.broadcast_to(pixels[:, :, None, None], (len(labels), 3, IMAGE_SIZE, IMAGE_SIZE)).copy()


def class_names(graphemes: tuple[str, ...], pairing: str) -> tuple[str, ...]:
    """Names like 'O/blue' so per-class tables show both sides of the synesthetic pair."""
    return tuple(f"{g}/{c}" for g, c in zip(graphemes, PAIRINGS[pairing.removesuffix(JITTERED)], strict=True))
