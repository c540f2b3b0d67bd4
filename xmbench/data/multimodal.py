"""Datasets of three or more modalities whose items come in aligned tuples (row i of every modality is one
class-matched tuple); a run trains on one pair of them (``--modalities``) or composes two pairs into a
cascade (``--cascade``)."""

from __future__ import annotations

import functools
import hashlib
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from xmbench.data.base import CrossModalData, Dataset, LoadOptions, ModalitySpec, PairedSplit
from xmbench.errors import XmbenchError


@dataclass(frozen=True)
class AlignedSplit:
    """One split of every modality: ``x[name]`` row i and ``y[name]`` row i of each modality belong to tuple i."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        lengths = {name: len(self.x[name]) for name in self.x} | {f"y_{name}": len(self.y[name]) for name in self.y}
        if set(self.x) != set(self.y) or len(set(lengths.values())) > 1:
            raise XmbenchError(f"aligned split has mismatched modalities or lengths: {lengths}")

    def __len__(self) -> int:
        return len(next(iter(self.x.values())))

    def pair(self, first: str, second: str) -> PairedSplit:
        return PairedSplit(self.x[first], self.x[second], self.y[first], self.y[second])


@dataclass(frozen=True)
class MultiModalData:
    """A loaded dataset of N >= 3 modalities; ``pair`` is the two-modality view every method trains on."""

    name: str
    pairing: str
    modalities: tuple[ModalitySpec, ...]
    class_names: tuple[str, ...]
    train: AlignedSplit
    test: AlignedSplit
    provenance: dict[str, object] = field(default_factory=dict)

    def spec(self, name: str) -> ModalitySpec:
        return next(spec for spec in self.modalities if spec.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.modalities)

    @functools.cached_property
    def sha256(self) -> str:
        """A hash of every array of every modality (as ``CrossModalData.sha256``): the bytes the
        frozen features of all pairs are computed from."""
        digest = hashlib.sha256()
        for split in (self.train, self.test):
            for name in self.names:
                for array in (split.x[name], split.y[name]):
                    array = np.ascontiguousarray(array)
                    digest.update(f"{name}{array.dtype.str}{array.shape}".encode())
                    digest.update(array.tobytes())
        return digest.hexdigest()

    def pair(self, first: str, second: str) -> CrossModalData:
        """The (first, second) view: A is ``first``, B is ``second``; same rows, same classes. The
        provenance names the pair, so a pair's features are never mistaken for another's."""
        return CrossModalData(
            name=self.name, pairing=self.pairing, modalities=(self.spec(first), self.spec(second)),
            class_names=self.class_names, train=self.train.pair(first, second), test=self.test.pair(first, second),
            provenance=self.provenance | {"modalities": [first, second], "of": list(self.names)},
        )


class MultiModalDataset(Dataset):
    """A registered dataset of three or more modalities (``modality_names``). ``load`` gives the pair of
    its first two modalities, so everything that takes a two-modality dataset takes it; the runner
    loads every modality once per replicate (``load_all``) and takes the pairs it needs."""

    modality_names: ClassVar[tuple[str, ...]]

    @classmethod
    def load_all(cls, pairing: str | None, options: LoadOptions) -> MultiModalData:
        data = cls._load_all(cls.check_pairing(pairing), options)
        if data.names != cls.modality_names:
            raise XmbenchError(f"dataset {cls.name!r} loaded modalities {data.names}, not {cls.modality_names}")
        return data

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        return cls.load_all(pairing, options).pair(*cls.modality_names[:2])

    @classmethod
    @abstractmethod
    def _load_all(cls, pairing: str, options: LoadOptions) -> MultiModalData: ...


def modality_names(dataset: type[Dataset]) -> tuple[str, ...]:
    """The modalities ``--modalities`` and ``--cascade`` may name; () for two-modality datasets (whose
    names are known only once loaded)."""
    return tuple(getattr(dataset, "modality_names", ()))


def parse_route(text: str | Sequence[str], dataset: type[Dataset], option: str, length: int | None = None) -> tuple[str, ...]:
    """``speech,mnist`` -> ("speech", "mnist"), checked against the dataset's modalities: each a modality
    of it, none twice, ``length`` of them (or at least 3: a cascade) ; one line when not."""
    names = modality_names(dataset)
    if not names:
        raise XmbenchError(f"{option} applies to datasets of three or more modalities (such as mnist-fashion-speech); "
                           f"{dataset.name!r} has two")
    route = tuple(part.strip() for part in (text.split(",") if isinstance(text, str) else text))
    unknown = [part for part in route if part not in names]
    if unknown:
        raise XmbenchError(f"{option}: {dataset.name!r} has no modality {unknown[0]!r}; it has {', '.join(names)}")
    if len(set(route)) != len(route):
        raise XmbenchError(f"{option} {','.join(route)} names a modality twice")
    if length is not None and len(route) != length:
        raise XmbenchError(f"{option} takes {length} modalities (such as {','.join(names[:length])}), not {len(route)}")
    if length is None and len(route) < 3:
        raise XmbenchError(f"{option} takes a route of three or more modalities (such as {','.join(names)}): "
                           "source, the modalities it passes through, target")
    return route
