"""Synesthetic colour pairings (thesis Tables 1-2) and the colour-image modality.

The thesis lists colour names but its Fig. 2 (the RGB values) did not survive; xmbench uses the
CSS/X11 named-colour values below. Each colour instance is a 3x28x28 image filled with its RGB
value, exactly as the thesis describes, so all instances of one colour are identical.
"""

from __future__ import annotations

import numpy as np

from xmbench.data.base import ModalitySpec

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

# Position k is the colour of the k-th grapheme class (A B C E H K M O P U, or digits 0-9).
PAIRINGS = {
    "unique": ("red", "green", "yellow", "cyan", "pink", "orange", "purple", "brown", "blue", "gray"),
    # Table 2: O and P (positions 7 and 8) are both blue.
    "non-unique": ("red", "green", "yellow", "cyan", "pink", "orange", "purple", "blue", "blue", "gray"),
}

COLOUR_MODALITY = ModalitySpec(name="colour", input_shape=(3, 28, 28))
IMAGE_SIZE = 28


def colour_images(labels: np.ndarray, pairing: str) -> np.ndarray:
    """(n,) class labels -> (n, 3, 28, 28) uint8 images of each class's colour under ``pairing``."""
    palette = np.array([RGB[name] for name in PAIRINGS[pairing]], dtype=np.uint8)
    pixels = palette[np.asarray(labels)]  # (n, 3)
    return np.broadcast_to(pixels[:, :, None, None], (len(labels), 3, IMAGE_SIZE, IMAGE_SIZE)).copy()


def class_names(graphemes: tuple[str, ...], pairing: str) -> tuple[str, ...]:
    """Names like 'O/blue' so per-class tables show both sides of the synesthetic pair."""
    return tuple(f"{g}/{c}" for g, c in zip(graphemes, PAIRINGS[pairing], strict=True))
