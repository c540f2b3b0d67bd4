"""The results schema: one long table, a row per (run, ..., task, class, metric)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from collections.abc import Iterable
from typing import Any

import numpy as np

from xmbench.data import DATASETS
from xmbench.options import FeatureSource, Profile
from xmbench.seeding import derive_seed


def settings_label(method: str, settings: Iterable[tuple[str, Any]]) -> str:
    """``cmgans`` or ``cmgans[lr=1e-05]``: how tables and figures name a method run with settings."""
    parts = [f"{name}={_text(value)}" for name, value in settings]
    return f"{method}[{','.join(parts)}]" if parts else method


def label_method(label: str) -> str:
    """The method a ``settings_label`` names: ``cca`` for ``cca[n_components=50]``."""
    return label.split("[", 1)[0]


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "/".join(_text(v) for v in value)
    return str(value)


KEY_COLUMNS = ("run_id", "dataset", "pairing", "method", "seed", "vary", "profile", "paired_fraction", "features")
# ``space``: the latent space a retrieval row was scored in ("A", "B") for methods with one space per
# modality; empty for the headline row (one space, shared or chosen on validation) and non-retrieval rows
COLUMNS = (*KEY_COLUMNS, "task", "space", "class", "metric", "value")
ALL_CLASSES = "all"
MANIFEST_VERSION = 2  # 2: seeds are replicates (data seed, method seed), scores have vary and space
# runs stored before a column existed: what it meant then (seeds varied only the method)
LEGACY_COLUMNS = {"paired_fraction": 1.0, "vary": "method", "space": "", "features": "supervised"}


def with_legacy_columns(scores):
    """``scores`` with every ``LEGACY_COLUMNS`` column present and its empty cells filled: what rows
    stored before the column existed meant. The one place that decides it, for the store and for
    tables handed to the report directly. ``features``: a dataset that ships features (wikipedia)
    had only the source ``given``, every other one only ``supervised``."""
    filled = {column: scores[column].replace("", legacy).fillna(legacy) if column in scores else legacy
              for column, legacy in LEGACY_COLUMNS.items() if column != "features"}
    given = scores["dataset"].map(_ships_features).astype(bool) if "dataset" in scores else False
    legacy = np.where(given, FeatureSource.GIVEN.value, LEGACY_COLUMNS["features"])
    if "features" in scores:
        stored = scores["features"]
        missing = stored.isna() | (stored == "")
        filled["features"] = stored.where(~missing, legacy)
    else:
        filled["features"] = legacy
    return scores.assign(**filled)


def _ships_features(dataset: object) -> bool:
    return dataset in DATASETS and not DATASETS.get(dataset).has_images


def headline(scores):
    """The headline rows of a scores table (``space`` empty): one per (run, task, class, metric),
    without the per-space retrieval rows of methods with one latent space per modality."""
    return scores[scores["space"] == ""] if "space" in scores else scores


DEFAULT_VALIDATION_FRACTION = 0.1  # a RunKey's when none is given (runs stored before paper's default became 0)


def dataset_name(label: str) -> str:
    """The registered dataset of a ``dataset`` column value (``RunKey.dataset_label``): the label less
    a user file's fingerprint (``@...``) and a pair of modalities (``[...]``)."""
    return label.split("[", 1)[0].split("@", 1)[0]


@dataclass(frozen=True)
class RunKey:
    """Everything that identifies one run; equal keys are the same run (and are resumed/skipped)."""

    dataset: str
    pairing: str
    method: str
    seed: int
    profile: str
    split_seed: int = 0
    keep_self: bool = False
    paired_fraction: float = 1.0
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION  # of the (kept) training pairs, held out for model selection
    model_selection: bool = True  # keep the best validation state and stop early (``paper``: off)
    vary: str = "data"  # what a seed re-draws: "data" (the whole experiment) or "method" (init noise only)
    features: str = "supervised"  # the feature source (``FeatureSource``); never enters the seeds
    # the method's ``--set`` values, sorted (param, value) pairs; () = its profile as it is
    settings: tuple[tuple[str, Any], ...] = ()
    # a user dataset's content hash (``xmbench.data.user``): two files of one name never share results
    data_fingerprint: str = ""
    # datasets of three or more modalities: the pair a run trains on ("speech,mnist"), or a cascade's
    # route ("speech,fashion,mnist": one model per link, translations composed); "" for two-modality data
    modalities: str = ""
    # the implementation's version (``CrossModalMethod.version``); None: a run stored before
    # versions were recorded ("unrecorded"). Two versions are never the same run nor one label.
    method_version: int | None = None

    def __post_init__(self) -> None:  # a key read back from JSON has lists where it had tuples
        pairs = tuple((name, tuple(v) if isinstance(v, list) else v) for name, v in self.settings)
        object.__setattr__(self, "settings", pairs)

    @property
    def method_label(self) -> str:
        """The method's name, with its settings when it has any (``cmgans[lr=1e-05]``): the ``method``
        column of the scores, so tables never average runs of different settings. A validation
        fraction or model selection other than the profile's default is a setting too
        (``cca[n_components=50,model_selection=off]``): both change what the method is trained on
        or which state is scored. So do a split seed other than 0 (other data) and ``keep_self``
        (another retrieval protocol): every difference that changes what a number measures is in
        the label."""
        return settings_label(self.method, self._label_parts())

    def label_for(self, current_version: int | None) -> str:
        """``method_label`` as read by code whose implementation of the method is ``current_version``
        (None: not registered here): a run of another version, or of an unrecorded one, says so
        (``cca[version=unrecorded]``), so tables and comparisons never pool two implementations."""
        if self.method_version == current_version:  # also both None: a method unknown here, run unversioned
            return self.method_label
        version = "unrecorded" if self.method_version is None else self.method_version
        return settings_label(self.method, [*self._label_parts(), ("version", version)])

    def _label_parts(self) -> list[tuple[str, Any]]:
        training = []
        if self.split_seed != 0:  # other data draws: never the same replicates as split seed 0's
            training.append(("split_seed", self.split_seed))
        if self.keep_self:  # another retrieval protocol (queries stay in their galleries)
            training.append(("keep_self", "on"))
        if self.validation_fraction != Profile(self.profile).default_validation_fraction:
            training.append(("validation_fraction", self.validation_fraction))
        if self.model_selection != Profile(self.profile).selects_models(self.validation_fraction):
            training.append(("model_selection", "on" if self.model_selection else "off"))
        if len(self.route) > 2:  # a cascade: the modalities its translations pass through
            training.append(("via", "+".join(self.route[1:-1])))
        return [*self.settings, *training]

    @property
    def route(self) -> tuple[str, ...]:
        """The modalities of ``modalities``, in order; () for a two-modality dataset."""
        return tuple(self.modalities.split(",")) if self.modalities else ()

    @property
    def dataset_label(self) -> str:
        """The ``dataset`` column: the name, with a user dataset's fingerprint (``mine@3f2a9c1b``), so
        two files of one name with different contents are never tabled or averaged as one."""
        label = f"{self.dataset}@{self.data_fingerprint[:8]}" if self.data_fingerprint else self.dataset
        # a pair of a dataset of three or more modalities: its two ends (a cascade and the direct
        # route it is compared with share it, and differ by the method's via=)
        return f"{label}[{self.route[0]},{self.route[-1]}]" if self.route else label

    @property
    def data_seed(self) -> int:
        """The seed of everything random about the data: split (where the dataset has no official
        one), partner draws, validation split, extractor, recognizers. With ``vary="data"`` each seed
        is a replicate with its own data; with ``vary="method"`` the data are fixed by the split seed.
        The method never enters it, so every method of a replicate sees identical data."""
        if self.vary == "method":
            return self.split_seed
        return derive_seed(self.split_seed, "data-replicate", self.seed) >> 32  # 31 bits: any RNG takes it

    @property
    def method_seed(self) -> int:
        """The seed of the method's own randomness (init, batch order, ...). Without the method's name,
        so runs of two methods paired by seed share their seeds as well as their data."""
        return derive_seed(self.seed, self.dataset, self.pairing, "method")

    @property
    def run_id(self) -> str:
        fields = asdict(self)
        fraction = ""
        if self.paired_fraction == 1.0:
            del fields["paired_fraction"]  # fully paired runs keep the ids they had before the option existed
        else:
            fraction = f"_pf{self.paired_fraction:g}"
        source = ""
        if FeatureSource.parse(self.features).implicit:
            del fields["features"]  # runs of the sources that existed before the option keep their ids
        else:
            source = f"_{self.features}"
        changed = ""
        if self.method_version is None:
            del fields["method_version"]  # runs stored before versions keep their ids (read as unrecorded)
        for name, suffix in (("settings", "_set"), ("data_fingerprint", ""), ("modalities", "")):
            if getattr(self, name):
                changed += suffix
            else:
                del fields[name]  # runs without them keep the ids they had before these fields existed
        route = f"_{'-'.join(self.route)}" if self.route else ""
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]
        return (f"{self.dataset}{route}_{self.pairing}_{self.method}_s{self.seed}_{self.profile}{fraction}{source}"
                f"{changed}_{digest}")
