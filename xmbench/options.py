"""String-valued options. Every parse error lists the valid values."""

from __future__ import annotations

from enum import Enum

from xmbench.errors import XmbenchError


class StrOption(str, Enum):
    """A string enum whose ``parse`` names every valid value on failure."""

    @classmethod
    def parse(cls, value: str | StrOption) -> StrOption:
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(member.value for member in cls)
            raise XmbenchError(f"invalid {cls.label()} {value!r}; valid: {valid}") from None

    @classmethod
    def label(cls) -> str:
        return cls.__name__.lower()

    def __str__(self) -> str:
        return self.value


class Profile(StrOption):
    """How much compute a method gets: CI seconds, CPU minutes, or the published protocol."""

    SMOKE = "smoke"
    QUICK = "quick"
    PAPER = "paper"

    @property
    def caveat(self) -> str:
        """What every table and figure of this profile must say about its numbers ("" if nothing)."""
        return "smoke: CI-sized, not converged" if self is Profile.SMOKE else ""

    @property
    def default_validation_fraction(self) -> float:
        """The share of the training pairs held out for model selection unless one is asked for:
        0.1 for ``smoke`` and ``quick``; none for ``paper``, whose published schedules train on every
        training pair and keep the last state."""
        return 0.0 if self is Profile.PAPER else 0.1

    def selects_models(self, validation_fraction: float) -> bool:
        """Model selection's default (``--model-selection auto``): on for ``smoke`` and ``quick``,
        off for ``paper`` (the papers train fixed schedules); off without a validation split."""
        return self is not Profile.PAPER and validation_fraction > 0


class Modality(StrOption):
    """The two modalities of every dataset; each dataset names them (e.g. A = letter, B = colour)."""

    A = "a"
    B = "b"

    @property
    def other(self) -> Modality:
        return Modality.B if self is Modality.A else Modality.A


class Vary(StrOption):
    """What ``--seeds`` re-draws: the whole experiment (data and method), or the method only."""

    DATA = "data"
    METHOD = "method"


class FeatureSource(StrOption):
    """What the frozen per-modality features of image modalities are (``--features``).

    ``supervised``: the thesis CNN trained on the class labels (the thesis and VAE-paper protocol);
    ``unsupervised``: the same CNN trunk trained without labels, as a convolutional autoencoder;
    ``pixels``: PCA of the raw inputs, fitted on the training split; ``raw``: the inputs themselves,
    flattened and scaled to [0, 1] (deep CCA's published input on split MNIST: 392 pixels per half);
    ``given``: the dataset ships features (no image modality), the only source such a dataset has.
    """

    SUPERVISED = "supervised"
    UNSUPERVISED = "unsupervised"
    PIXELS = "pixels"
    RAW = "raw"
    GIVEN = "given"

    @classmethod
    def label(cls) -> str:
        return "feature source"

    @property
    def implicit(self) -> bool:
        """The sources runs had before the option existed: their run ids stay as they were (a
        dataset has only one of the two, so ids stay unique)."""
        return self in (FeatureSource.SUPERVISED, FeatureSource.GIVEN)
