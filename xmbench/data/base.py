"""Containers every dataset returns, and the dataset base class and registry."""

from __future__ import annotations

import functools
import hashlib
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from xmbench.errors import XmbenchError
from xmbench.options import FeatureSource, Modality
from xmbench.registry import Registry


@dataclass(frozen=True)
class ModalitySpec:
    """What one modality is: a display name and, for raw images, the input shape for the extractor.

    ``extractor_channels`` overrides the extractor's channel count (``ExtractorConfig.channels``)
    for this modality only, for inputs the thesis's 4-channel CNN cannot classify well; the
    features are then ``extractor_channels`` x 7 x 7 wide.
    """

    name: str
    input_shape: tuple[int, ...] | None = None  # (C, H, W) for images; None when already features
    extractor_channels: int | None = None

    @property
    def needs_extractor(self) -> bool:
        return self.input_shape is not None


@dataclass(frozen=True)
class PairedSplit:
    """Row i of ``a`` and row i of ``b`` form one cross-modal pair; each side has its own labels."""

    a: np.ndarray
    b: np.ndarray
    y_a: np.ndarray
    y_b: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.a)
        if not (len(self.b) == len(self.y_a) == len(self.y_b) == n):
            raise XmbenchError(
                f"paired split has mismatched lengths: a={len(self.a)}, b={len(self.b)}, "
                f"y_a={len(self.y_a)}, y_b={len(self.y_b)}"
            )

    def __len__(self) -> int:
        return len(self.a)

    def x(self, modality: Modality | str) -> np.ndarray:
        return self.a if Modality.parse(modality) is Modality.A else self.b

    def y(self, modality: Modality | str) -> np.ndarray:
        return self.y_a if Modality.parse(modality) is Modality.A else self.y_b


@dataclass(frozen=True)
class UnpairedFeatures:
    """Training samples whose pairing was withheld: row i of ``a`` and row i of ``b`` are unrelated.

    No labels: they stand for data collected without annotation (``--paired-fraction`` < 1).
    """

    a: np.ndarray
    b: np.ndarray

    def x(self, modality: Modality | str) -> np.ndarray:
        return self.a if Modality.parse(modality) is Modality.A else self.b


@dataclass(frozen=True)
class CrossModalData:
    """A loaded dataset: train and test pairs of two modalities plus what describes them."""

    name: str
    pairing: str
    modalities: tuple[ModalitySpec, ModalitySpec]
    class_names: tuple[str, ...]
    train: PairedSplit
    test: PairedSplit
    provenance: dict[str, object] = field(default_factory=dict)

    def spec(self, modality: Modality | str) -> ModalitySpec:
        return self.modalities[0 if Modality.parse(modality) is Modality.A else 1]

    @functools.cached_property
    def sha256(self) -> str:
        """A hash of every array the load returned (inputs and labels of both splits, with dtype
        and shape): the bytes every feature and score is computed from. Two copies of a dataset
        with equal contents hash equal wherever they live; any changed value changes it."""
        digest = hashlib.sha256()
        for split in (self.train, self.test):
            for array in (split.a, split.b, split.y_a, split.y_b):
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class LoadOptions:
    """What a dataset loader may use: where data lives, whether it may download, and the data seed
    of the replicate (``RunKey.data_seed``): it draws the train/test split where the dataset has no
    official one and any partner draws; an official split never depends on it."""

    data_root: Path | None = None
    allow_download: bool = False
    data_seed: int = 0


class Dataset(ABC):
    """A registered dataset. Class attributes are its metadata record; ``load`` is lazy I/O."""

    name: ClassVar[str]
    description: ClassVar[str]
    pairings: ClassVar[tuple[str, ...]]
    source: ClassVar[str]
    license: ClassVar[str]
    citation: ClassVar[str]

    # the feature source when --features is not given: ``supervised`` for image datasets (the
    # thesis and VAE-paper protocol); a dataset whose published protocol is another source says so
    default_features: ClassVar[str] = FeatureSource.SUPERVISED.value
    has_images: ClassVar[bool] = True  # False: every modality is shipped as features (``given``)
    # what a reader must know before comparing its numbers with a paper's (a stand-in modality, ...):
    # ``xmbench list`` and every report table built on the dataset say it
    caveat: ClassVar[str] = ""

    @classmethod
    def default_pairing(cls) -> str:
        return cls.pairings[0]

    @classmethod
    def check_pairing(cls, pairing: str | None) -> str:
        if pairing is None:
            return cls.default_pairing()
        if pairing not in cls.pairings:
            raise XmbenchError(
                f"pairing {pairing!r} does not apply to dataset {cls.name!r}; "
                f"valid: {', '.join(cls.pairings)}"
            )
        return pairing

    @classmethod
    def check_features(cls, source: str | None) -> FeatureSource:
        """The feature source of a run: ``source``, or the dataset's default; ``given`` and only
        ``given`` for a dataset without image modalities."""
        has_images = cls.has_images
        if source is None:
            return FeatureSource.parse(cls.default_features if has_images else FeatureSource.GIVEN.value)
        chosen = FeatureSource.parse(source)
        if has_images and chosen is FeatureSource.GIVEN:
            raise XmbenchError(f"dataset {cls.name!r} has image modalities; --features given applies to datasets "
                               "that ship features; valid here: supervised, unsupervised, pixels, raw")
        if not has_images and chosen is not FeatureSource.GIVEN:
            raise XmbenchError(f"dataset {cls.name!r} ships its features (no image modality): --features "
                               f"{chosen.value} does not apply; valid here: given")
        return chosen

    # one line each about data that will run but may mislead (a constant modality, test items that
    # copy training items): known before anything loads, printed as warnings by ``run``
    data_warnings: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def split_problems(cls, pairing: str, plans: Sequence[SplitPlan]) -> list[str]:
        """Every way the splits of the planned runs would fail (too few items of a class for the test,
        validation or paired-subset split), found before anything loads or trains; one line each.
        Datasets whose labels are known before loading check it (user data); others return []."""
        return []

    @classmethod
    def load(cls, pairing: str | None, options: LoadOptions) -> CrossModalData:
        data = cls._load(cls.check_pairing(pairing), options)
        problems = class_name_problems(data.class_names)
        if problems:
            raise XmbenchError(f"dataset {cls.name!r}: " + "; ".join(problems))
        return data


@dataclass(frozen=True)
class SplitPlan:
    """What decides a run's splits: the replicate's data seed and the fractions it trains with."""

    data_seed: int
    paired_fraction: float
    validation_fraction: float


RESERVED_CLASS = "all"  # the class column's value on the results' overall rows (results.schema.ALL_CLASSES)


def class_name_problems(names: Sequence[str]) -> list[str]:
    """A class name must be non-empty, unique and never the overall row's name, or per-class and
    overall scores would share a key in the results table."""
    problems = []
    reserved = [n for n in names if str(n).strip().casefold() == RESERVED_CLASS]
    if reserved:
        problems.append(f"class name {reserved[0]!r} is reserved for the overall row of the results; rename the class")
    if any(not str(n).strip() for n in names):
        problems.append("a class name is empty; give every class a name")
    counts = Counter(str(n) for n in names)
    repeated = sorted(n for n, c in counts.items() if c > 1)
    if repeated:
        problems.append(f"duplicate class name(s): {', '.join(map(repr, repeated[:5]))}; give each class its own name")
    return problems

    @classmethod
    @abstractmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData: ...


DATASETS: Registry[type[Dataset]] = Registry("dataset", group="xmbench.datasets", base=Dataset)


def require_data_root(options: LoadOptions, dataset: str) -> Path:
    if options.data_root is None:
        raise XmbenchError(
            f"dataset {dataset!r} reads files from a data root: pass --data-root DIR "
            "or set XMBENCH_DATA_ROOT"
        )
    root = Path(options.data_root).expanduser()
    if not root.is_dir():
        raise XmbenchError(f"data root {str(root)!r} is not a directory")
    return root
