"""What a run trains on: withholding the pairing of part of the training data
(``--paired-fraction``) and carving the validation split out of the pairs (``--validation-fraction``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import XmbenchError
from xmbench.seeding import derive_seed


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
        return fingerprint(self.paired_index)


def check_validation_fraction(fraction: float) -> float:
    fraction = float(fraction)
    if not 0 <= fraction <= 0.5:
        raise XmbenchError(f"validation fraction must lie in [0, 0.5], got {fraction:g}")
    return fraction


def fingerprint(index: np.ndarray) -> str:
    """A short hash of row indices: equal for every method that saw the same rows."""
    return hashlib.sha256(np.ascontiguousarray(index, dtype=np.int64).tobytes()).hexdigest()[:16]


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
    subset = _rows(train, paired)
    unpaired = UnpairedFeatures(train.a[rng.permutation(rest)], train.b[rng.permutation(rest)])
    return WithheldPairing(subset, unpaired, paired)


@dataclass(frozen=True)
class ValidationSplit:
    """Training pairs split into the pairs a method trains on and the validation pairs that model
    selection scores (``index``: sorted rows of the given pairs that went to validation)."""

    train: PairedSplit
    validation: PairedSplit | None
    index: np.ndarray


MAX_VALIDATION_PAIRS = 2000  # selects as precisely as more (mAP's standard error ~0.005), scored in a second


def carve_validation(pairs: PairedSplit, fraction: float, seed: int) -> ValidationSplit:
    """Hold out a class-stratified ``fraction`` of ``pairs`` (by the A label) for validation, at
    least one pair per class and at most ``MAX_VALIDATION_PAIRS`` (every validation embeds and
    ranks the whole split: 10% of MNIST's 60,000 pairs would cost SyncGAN's latent recovery about
    40 s per evaluation, and the capped rest trains), drawn with ``seed`` alone (the harness derives
    it from the data, never from the method, so every method of a run is selected on the same
    pairs). ``fraction`` 0 keeps every pair for training and gives no validation split."""
    fraction = check_validation_fraction(fraction)
    if fraction == 0:
        return ValidationSplit(pairs, None, np.arange(0))
    n_classes = len(np.unique(pairs.y_a))
    size = max(min(int(np.ceil(fraction * len(pairs))), MAX_VALIDATION_PAIRS), n_classes)
    try:
        train, held = train_test_split(
            np.arange(len(pairs)), test_size=size, stratify=pairs.y_a,
            random_state=int(np.random.default_rng(seed).integers(2**32)),
        )
    except ValueError as error:  # sklearn: a class with one pair, or too few pairs left to train on
        raise XmbenchError(
            f"validation fraction {fraction:g} of {len(pairs)} training pairs ({n_classes} classes): {error}"
        ) from None
    train, held = np.sort(train), np.sort(held)
    return ValidationSplit(_rows(pairs, train), _rows(pairs, held), held)


def training_pairs(train: PairedSplit, data_seed: int, dataset: str, pairing: str, paired_fraction: float,
                   validation_fraction: float) -> tuple[WithheldPairing, ValidationSplit]:
    """What one run trains and selects on: the pairs that keep their pairing under ``paired_fraction``
    (the rest unpaired), then the validation split carved from them. Both are data, drawn from the
    replicate's data seed, never the method's, so every method of a replicate sees the same pairs;
    the runner and the checks made before a run (``Dataset.split_problems``) call this one function."""
    subset_seed = derive_seed(data_seed, dataset, pairing, "paired-subset", paired_fraction)
    withheld = withhold_pairing(train, paired_fraction, subset_seed)
    held = carve_validation(withheld.paired, validation_fraction, derive_seed(data_seed, dataset, pairing, "validation"))
    return withheld, held


def _rows(pairs: PairedSplit, index: np.ndarray) -> PairedSplit:
    return PairedSplit(pairs.a[index], pairs.b[index], pairs.y_a[index], pairs.y_b[index])
