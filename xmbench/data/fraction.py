"""Withholding the pairing of part of the training data (``--paired-fraction``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import XmbenchError


def check_fraction(fraction: float) -> float:
    fraction = float(fraction)
    if not 0 < fraction <= 1:
        raise XmbenchError(f"paired fraction must lie in (0, 1], got {fraction:g}")
    return fraction


@dataclass(frozen=True)
class WithheldPairing:
    """The training pairs a run may use, the unpaired rest, and which rows stayed paired."""

    paired: PairedSplit
    unpaired: UnpairedFeatures | None
    paired_index: np.ndarray  # sorted rows of the full training split that kept their pairing

    @property
    def fingerprint(self) -> str:
        """A short hash of ``paired_index``: equal for every method that saw the same pairs."""
        return hashlib.sha256(np.ascontiguousarray(self.paired_index, dtype=np.int64).tobytes()).hexdigest()[:16]


def withhold_pairing(train: PairedSplit, fraction: float, seed: int) -> WithheldPairing:
    """Keep a class-stratified ``fraction`` of the training pairs; the rest become unpaired, unlabelled data.

    The subset depends only on ``seed`` and the data, never on the method, so every method of a
    run trains on the same pairs. Stratifying by class keeps every class represented at small
    fractions (a random subset of 1% could miss one). The unpaired rows of each modality are
    shuffled independently, so their order carries no trace of the withheld pairing.
    """
    fraction = check_fraction(fraction)
    if fraction == 1:
        return WithheldPairing(train, None, np.arange(len(train)))
    rng = np.random.default_rng(seed)
    try:
        paired, rest = train_test_split(
            np.arange(len(train)), train_size=fraction, stratify=train.y_a,
            random_state=int(rng.integers(2**32)),
        )
    except ValueError as error:  # sklearn: fewer pairs than classes, or a class with one member
        raise XmbenchError(f"paired fraction {fraction:g} of {len(train)} training pairs: {error}") from None
    paired = np.sort(paired)
    subset = PairedSplit(train.a[paired], train.b[paired], train.y_a[paired], train.y_b[paired])
    unpaired = UnpairedFeatures(train.a[rng.permutation(rest)], train.b[rng.permutation(rest)])
    return WithheldPairing(subset, unpaired, paired)
