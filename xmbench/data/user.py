"""A user's own paired data, from arrays, an ``.npz``, a ``.parquet`` or a folder with a YAML card.

Row i of ``a`` and row i of ``b`` are one pair. Each modality is features (n, d) or 28x28 images
(n, C, 28, 28) with values in [0, 1] or 0..255 (the thesis CNN extracts their features). Labels
are integers, one array for both modalities (``y``) or one each (``y_a``, ``y_b``). Optional:
``class_names`` (label k is ``class_names[k]``; without them the label values name the classes),
``split`` ("train"/"test" per row; without it a seeded stratified 70/30 split per data seed, as the
built-in datasets) and ``modality_names`` (two names; default ``a``, ``b``).

File forms: an ``.npz`` with those keys; a ``.parquet`` with feature columns ``a_*`` and ``b_*``
(in file order) and columns ``y`` or ``y_a``/``y_b`` and optional ``split``; a folder holding
``dataset.yaml`` (``data``: the npz or parquet file beside it; optional ``name``, ``description``,
``class_names``, ``modality_names``, ``citation``, ``license``). Everything is checked before
anything runs, one line per problem. The dataset's name is the card's or the file's stem; its
fingerprint (a hash of every array and name) enters the feature cache and the run keys, so two
files never share results.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import yaml
from sklearn.model_selection import train_test_split

from xmbench import strict_yaml
from xmbench.data.base import (DATASETS, CrossModalData, Dataset, LoadOptions, ModalitySpec, PairedSplit, SplitPlan,
                               class_name_problems)
from xmbench.data.fraction import training_pairs
from xmbench.data.sources import NPZ_MAGIC, read_npz
from xmbench.errors import XmbenchError, first_line
from xmbench.options import FeatureSource
from xmbench.preflight import safe_name, slug

TEST_FRACTION = 0.3  # as digits-colors: a seeded, stratified split where the data bring none
CARD = "dataset.yaml"
SUFFIXES = (".npz", ".parquet", ".yaml", ".yml")
ARRAY_KEYS = ("a", "b", "y", "y_a", "y_b", "class_names", "split", "modality_names")
CARD_KEYS = ("data", "name", "description", "class_names", "modality_names", "citation", "license")
IMAGE_SIZE = (28, 28)
UNKNOWN = "_unknown"  # a reader's list of unknown keys, reported by ``validate`` with the other problems


class UserDataError(XmbenchError):
    """The data break the format: one line per problem."""

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        super().__init__(f"{where}: {len(problems)} problem(s) with the data\n" + "\n".join(f"  - {p}" for p in problems))


def from_arrays(
    a: np.ndarray, b: np.ndarray, y: np.ndarray | None = None, *, y_a: np.ndarray | None = None,
    y_b: np.ndarray | None = None, class_names: Sequence[str] | None = None, split: Sequence[str] | None = None,
    modality_names: Sequence[str] = ("a", "b"), name: str = "arrays", description: str | None = None,
    source: str = "arrays given in Python", citation: str = "", license: str = "",
) -> type[Dataset]:
    """A dataset class for ``run_benchmark`` (``RunConfig(dataset=...)``) from in-memory arrays."""
    arrays = {"a": a, "b": b, "y": y, "y_a": y_a, "y_b": y_b, "class_names": class_names, "split": split,
              "modality_names": modality_names}
    return _dataset({k: v for k, v in arrays.items() if v is not None}, name, description, source, citation,
                    license, where=name)


def read_dataset(path: Path | str) -> type[Dataset]:
    """The dataset of a user's file or card folder, validated."""
    path = Path(path).expanduser()
    if not path.exists():
        raise XmbenchError(f"data file {str(path)!r} does not exist")
    card: dict[str, Any] = {}
    card_path = path
    if path.is_dir() or path.suffix in (".yaml", ".yml"):
        card_path = path / CARD if path.is_dir() else path
        card = _read_card(card_path)
        path = card_path.parent / str(card["data"])
        if not path.is_file():
            raise XmbenchError(f"{card_path}: data file {card['data']!r} is not in {card_path.parent}")
    if path.suffix == ".npz":
        arrays = _read_npz(path)
    elif path.suffix == ".parquet":
        arrays = _read_parquet(path)
    else:
        raise XmbenchError(f"{path}: not a user data file (valid: .npz, .parquet, or a folder with {CARD})")
    for key in ("class_names", "modality_names"):
        if key in card:
            if key in arrays and list(map(str, arrays[key])) != list(map(str, card[key])):
                raise UserDataError(str(path), [f"{key} differ between {CARD} and the data file"])
            arrays[key] = card[key]
    if card.get("name") is not None:
        name = safe_name(str(card["name"]), f"{card_path}: the card's name")
    else:  # a file's stem names the data: made safe for file names rather than refused
        name = slug(path.stem) or "data"
    return _dataset(arrays, name, card.get("description"), str(path),
                    str(card.get("citation", "")), str(card.get("license", "")), where=str(path))


def _read_card(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise XmbenchError(f"{path.parent}: a user data folder needs a {CARD} card")
    try:
        card = strict_yaml.load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise XmbenchError(f"{path}: not readable YAML ({first_line(error)})") from None
    if not isinstance(card, dict):
        raise XmbenchError(f"{path}: the card must be a mapping with at least `data: FILE`")
    problems = [_unknown(key, CARD_KEYS) for key in card if key not in CARD_KEYS]
    if "data" not in card:
        problems.append("missing key 'data' (the .npz or .parquet file beside the card)")
    if problems:
        raise UserDataError(str(path), problems)
    return card


def _read_npz(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            start = handle.read(len(NPZ_MAGIC))
    except OSError as error:
        raise XmbenchError(f"{path}: not readable ({error.strerror or type(error).__name__})") from None
    if start != NPZ_MAGIC:  # numpy would try it as a pickle and talk about allow_pickle
        raise XmbenchError(f"{path}: not an npz archive (it does not start like a zip file); "
                           "write it with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
    except (OSError, ValueError, EOFError) as error:
        raise XmbenchError(f"{path}: not a readable npz archive ({first_line(error)})") from None
    arrays: dict[str, Any] = read_npz(path, keys, "arrays a, b and labels y (or y_a, y_b)", "see README, Your own data")
    for key in keys:
        if key not in ARRAY_KEYS:
            arrays.setdefault(UNKNOWN, []).append(_unknown(key, ARRAY_KEYS))
            del arrays[key]
    return arrays


def _read_parquet(path: Path) -> dict[str, Any]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 (pyarrow's errors have no common base)
        raise XmbenchError(f"{path}: not a readable parquet file ({first_line(error)})") from None
    arrays: dict[str, Any] = {}
    for column in map(str, frame.columns):
        if column in ("y", "y_a", "y_b"):
            values = frame[column]  # a missing label (nullable Int64, None) reads as NaN, which validate names
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            arrays[column] = values.to_numpy(dtype=float, na_value=np.nan) if numeric and values.isna().any() else values.to_numpy()
        elif column == "split":
            arrays[column] = frame[column].to_numpy()
        elif not column.startswith(("a_", "b_")):
            arrays.setdefault(UNKNOWN, []).append(_unknown(column, ("a_*", "b_*", "y", "y_a", "y_b", "split")))
    for side in ("a", "b"):
        columns = [c for c in frame.columns if str(c).startswith(f"{side}_")]
        if columns:
            arrays[side] = frame[columns].to_numpy()
    return arrays


def _unknown(key: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    return f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else f" (valid: {', '.join(valid)})")


def validate(arrays: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], list[str]]:
    """The checked arrays (labels as 0..K-1, split as a test mask) and every problem found."""
    problems: list[str] = list(arrays.get(UNKNOWN, []))
    out: dict[str, Any] = {}
    for side in ("a", "b"):
        if side not in arrays:
            problems.append(f"missing key {side!r} (the features or images of modality {side.upper()})")
            continue
        x = np.asarray(arrays[side])
        if x.dtype.kind not in "biuf":
            problems.append(f"{side}: expected numbers, got dtype {x.dtype}")
        elif x.ndim == 2 and x.shape[1] == 0:
            problems.append(f"{side}: no features (shape {x.shape}): give at least one column")
        elif x.ndim == 2 or (x.ndim == 4 and x.shape[2:] == IMAGE_SIZE):
            if x.ndim == 4 and np.isfinite(x).all() and x.size and (x.min() < 0 or x.max() > 255):
                problems.append(f"{side}: image values must lie in [0, 1] or 0..255, got {x.min():g}..{x.max():g}")
            if not np.isfinite(x).all():
                problems.append(f"{side}: {int((~np.isfinite(x)).any(axis=tuple(range(1, x.ndim))).sum())} row(s) "
                                "contain NaN or inf")
            elif x.ndim == 2 and x.size:
                problems += _scale_problems(side, x)
            out[side] = x
        else:
            problems.append(f"{side}: expected (n, d) features or (n, C, 28, 28) images, got shape {x.shape}")
    if "y" in arrays and ("y_a" in arrays or "y_b" in arrays):
        problems.append("labels given twice: use y (both modalities) or y_a and y_b, not both")
    labels = {side: arrays.get(f"y_{side}", arrays.get("y")) for side in ("a", "b")}
    if any(v is None for v in labels.values()):
        problems.append("missing labels: give y (both modalities) or both y_a and y_b")
        labels = {}
    for side, y in labels.items():
        y = np.asarray(y)
        missing = _missing(y)
        if missing.any():
            problems.append(f"labels of {side}: {int(missing.sum())} missing value(s) (NaN or None), first in row "
                            f"{int(missing.argmax())}: every pair needs its class")
            labels = {}
            break
        if y.ndim != 1 or y.dtype.kind not in "iub" and not (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)):
            problems.append(f"labels of {side}: expected a 1-D array of integers, got {y.dtype} of shape {y.shape}")
            labels = {}
            break
    rows = {k: len(np.asarray(v)) for k, v in [*out.items(), *(("labels", v) for v in labels.values())]}
    if "split" in arrays:
        rows["split"] = len(np.asarray(arrays["split"]))
    aligned = len(set(rows.values())) <= 1
    if not aligned:
        problems.append("row counts differ: " + ", ".join(f"{k}={v}" for k, v in rows.items()))
    if not labels or len(labels["a"]) != len(labels["b"]):
        return out, problems
    if len(labels["a"]) == 0:
        problems.append("no rows: the data hold 0 pairs")
        return out, problems
    y_a, y_b = (np.asarray(labels[s]).astype(np.int64) for s in ("a", "b"))
    values = np.unique(np.concatenate([y_a, y_b]))
    names = arrays.get("class_names")
    if names is not None:
        names = [str(n) for n in np.asarray(names).ravel()]
        if values.min() < 0 or values.max() >= len(names):
            problems.append(f"labels run from {values.min()} to {values.max()}, but there are {len(names)} "
                            "class_names (label k names class_names[k])")
            return out, problems
        classes = np.arange(len(names))
    else:
        names, classes = [str(v) for v in values], values
    out["y_a"], out["y_b"] = np.searchsorted(classes, y_a), np.searchsorted(classes, y_b)
    out["class_names"] = np.asarray(names)
    problems += class_name_problems(names)
    present = np.unique(out["y_a"])
    if len(present) < 2:
        problems.append(f"fewer than 2 classes ({len(present)}): retrieval mAP needs at least 2")
    if "split" in arrays and aligned:
        split = np.asarray(arrays["split"]).astype(str)
        bad = sorted(set(split) - {"train", "test"})
        if bad:
            problems.append(f"split: values must be 'train' or 'test', got {', '.join(repr(str(v)) for v in bad[:3])}")
        else:
            out["is_test"] = split == "test"
            for part, mask in (("test", out["is_test"]), ("train", ~out["is_test"])):
                lacking = [names[k] for k in present if not (out["y_a"][mask] == k).any()]
                if lacking:
                    problems.append(f"class(es) with no {part} item: {', '.join(lacking[:5])}"
                                    + (" ..." if len(lacking) > 5 else ""))
    elif "split" not in arrays:
        counts = np.bincount(out["y_a"], minlength=len(names))
        few = [names[k] for k in present if counts[k] < 2]
        if few:
            problems.append(f"class(es) with fewer than 2 items cannot be split into train and test: {', '.join(few[:5])}")
    modality_names = [str(n) for n in np.asarray(arrays.get("modality_names", ("a", "b"))).ravel()]
    if len(modality_names) != 2 or modality_names[0] == modality_names[1]:
        problems.append(f"modality_names: expected two different names, got {modality_names}")
    out["modality_names"] = np.asarray(modality_names)
    return out, problems


FLOAT32_SAFE = 1e18  # methods compute in float32: squares of larger values overflow it (3.4e38), of smaller underflow


def _scale_problems(side: str, x: np.ndarray) -> list[str]:
    """Features a float32 method cannot train on as they are: beyond float32's range, or of a scale
    whose squares over- or underflow it (a loss then diverges for a reason no learning rate fixes)."""
    peak = float(np.max(np.abs(x)))
    if peak > np.finfo(np.float32).max:
        return [f"{side}: values reach {peak:.3g}, beyond float32's range ({np.finfo(np.float32).max:.3g}), the "
                "precision every method computes in; rescale the features (e.g. standardise them)"]
    if peak > FLOAT32_SAFE or 0 < peak < 1 / FLOAT32_SAFE:
        return [f"{side}: values reach at most {peak:.3g}; methods compute in float32, where squares of values of "
                f"this scale {'overflow' if peak > 1 else 'underflow'}: rescale the features (e.g. standardise them)"]
    return []


def _missing(y: np.ndarray) -> np.ndarray:
    """Rows whose label is missing: NaN in a float array, None or NaN in an object array."""
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in y.ravel()], bool)
    return np.zeros(y.shape, bool)


FEW_ITEMS = 5  # a class with fewer pairs gets 1 or 2 test items: its per-class mAP is nearly a coin
NEAR_CONSTANT = 1e-6  # relative spread below which a modality carries nothing float32 can resolve


def quality_warnings(checked: Mapping[str, np.ndarray]) -> list[str]:
    """Data that run but may mislead: a constant modality, pairs repeated (so test items copy training
    items), classes with very few pairs. One line each."""
    lines = []
    for side in ("a", "b"):
        x = checked[side].reshape(len(checked[side]), -1).astype(np.float64)
        spread, peak = float(np.max(np.ptp(x, axis=0))), float(np.max(np.abs(x)))
        if spread <= NEAR_CONSTANT * max(peak, np.finfo(np.float64).tiny):
            what = "constant (every row is the same)" if spread == 0 else \
                f"nearly constant (rows differ by at most {spread:.2g} on values up to {peak:.2g})"
            lines.append(f"modality {side} is {what}: no method can learn from it; expect chance-level mAP or "
                         "failed runs")
    rows = np.ascontiguousarray(np.concatenate([checked[s].reshape(len(checked[s]), -1).astype(np.float64)
                                                for s in ("a", "b")], axis=1))
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    if "is_test" in checked:
        is_test = checked["is_test"]
        copied = int(np.isin(keys[is_test], keys[~is_test]).sum())
        if copied:
            lines.append(f"{copied} of {int(is_test.sum())} test pairs also appear in the training split (identical "
                         "rows): retrieval on them measures memory, not generalisation")
    else:
        repeated = len(keys) - len(np.unique(keys))
        if repeated:
            lines.append(f"{repeated} pair(s) appear more than once: the seeded split puts copies in both train and "
                         "test, so retrieval on them measures memory, not generalisation")
    counts = np.bincount(checked["y_a"], minlength=len(checked["class_names"]))
    few = [f"{checked['class_names'][k]} ({counts[k]})" for k in np.flatnonzero((counts > 0) & (counts < FEW_ITEMS))]
    if few:
        lines.append(f"class(es) with few items (fewer than {FEW_ITEMS} pairs): {', '.join(few[:5])}"
                     + (" ..." if len(few) > 5 else "") + "; their per-class mAP rests on one or two test items")
    return lines


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """A hash of every checked array (values, dtype and shape), in a fixed order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


class UserDataset(Dataset):
    """A user's paired data (see ``xmbench.data.user``): built by ``from_arrays`` or ``read_dataset``."""

    pairings = ("pairs",)
    arrays: ClassVar[dict[str, np.ndarray]] = {}
    fingerprint: ClassVar[str] = ""

    @classmethod
    def _test_mask(cls, data_seed: int) -> np.ndarray:
        """The test rows: the data's ``split``, or a stratified 30% drawn from the data seed."""
        arrays = cls.arrays
        if "is_test" in arrays:
            return arrays["is_test"]
        _, test = train_test_split(np.arange(len(arrays["y_a"])), test_size=TEST_FRACTION,
                                   stratify=arrays["y_a"], random_state=data_seed)
        return np.isin(np.arange(len(arrays["y_a"])), test)

    @classmethod
    def split_problems(cls, pairing: str, plans: Sequence[SplitPlan]) -> list[str]:
        """Draws every planned run's test, paired-subset and validation splits on the labels alone (the
        same functions and seeds a run uses) and reports each that fails or leaves a class fewer than
        2 training pairs."""
        problems: dict[str, None] = {}
        y = cls.arrays["y_a"]
        names = cls.arrays["class_names"]
        hint = "give more pairs per class, a `split`, or other --paired-fraction / --validation-fraction"
        for plan in dict.fromkeys(plans):
            try:
                is_test = cls._test_mask(plan.data_seed)
            except ValueError as error:  # sklearn: fewer test or train rows than classes
                problems[f"the seeded {TEST_FRACTION:.0%} test split of {len(y)} pairs ({len(np.unique(y))} classes) "
                         f"fails: {error}; {hint}"] = None
                continue
            train = np.flatnonzero(~is_test)
            labels = PairedSplit(np.empty((len(train), 0)), np.empty((len(train), 0)), y[train], y[train])
            try:
                _, held = training_pairs(labels, plan.data_seed, cls.name, pairing, plan.paired_fraction,
                                         plan.validation_fraction)
            except XmbenchError as error:
                problems[f"{error}; {hint}"] = None
                continue
            counts = np.bincount(held.train.y_a, minlength=len(names))
            short = [f"{names[k]} ({counts[k]})" for k in np.unique(y[train]) if counts[k] < 2]
            if short:
                problems[f"class(es) keep fewer than 2 training pairs after the test split (paired fraction "
                         f"{plan.paired_fraction:g}, validation fraction {plan.validation_fraction:g}): "
                         f"{', '.join(short[:5])}; {hint}"] = None
        return list(problems)

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        arrays = cls.arrays
        is_test = cls._test_mask(options.data_seed)
        names = [str(n) for n in arrays["modality_names"]]

        def split(mask: np.ndarray) -> PairedSplit:
            return PairedSplit(arrays["a"][mask], arrays["b"][mask], arrays["y_a"][mask], arrays["y_b"][mask])

        return CrossModalData(
            name=cls.name, pairing=pairing,
            modalities=tuple(ModalitySpec(n, arrays[s].shape[1:] if arrays[s].ndim == 4 else None)
                             for n, s in zip(names, "ab", strict=True)),
            class_names=tuple(str(c) for c in arrays["class_names"]),
            train=split(~is_test), test=split(is_test),
            provenance={"source": cls.source, "fingerprint": cls.fingerprint, "n_train": int((~is_test).sum()),
                        "n_test": int(is_test.sum()), "split": "given" if "is_test" in arrays else "seeded, stratified"},
        )


def _dataset(arrays: Mapping[str, Any], name: str, description: str | None, source: str, citation: str,
             license: str, where: str) -> type[Dataset]:
    name = safe_name(name, f"{where}: the data's name")
    checked, problems = validate(arrays)
    if problems:
        raise UserDataError(where, problems)
    warnings = tuple(f"{where}: {line}" for line in quality_warnings(checked))
    for side in ("a", "b"):
        x = checked[side]
        checked[side] = x.astype(np.float32) if x.ndim == 2 else _as_uint8_images(x)
    if name in DATASETS:
        raise XmbenchError(f"{where}: name {name!r} is a built-in dataset's; name the data otherwise "
                           f"(the card's `name`)")
    has_images = any(checked[s].ndim == 4 for s in "ab")
    attributes = {
        "name": name, "arrays": checked, "fingerprint": fingerprint(checked), "source": source,
        "description": description or f"user data ({len(checked['y_a'])} pairs, {len(checked['class_names'])} classes)",
        "license": license or "the user's", "citation": citation, "has_images": has_images,
        "default_features": FeatureSource.SUPERVISED.value, "data_warnings": warnings,
        "__doc__": f"User data {name!r} from {source}.",
    }
    return type(f"UserDataset_{name}", (UserDataset,), attributes)


def _as_uint8_images(x: np.ndarray) -> np.ndarray:
    """Images as the built-in datasets hold them, uint8 0..255: values in [0, 1] are scaled."""
    if x.dtype == np.uint8:
        return x
    scale = 255.0 if float(np.max(x)) <= 1.0 else 1.0
    return np.clip(np.round(x.astype(np.float64) * scale), 0, 255).astype(np.uint8)


def looks_like_path(entry: str) -> bool:
    """True for a ``--dataset`` value that names a file or folder rather than a registered dataset."""
    return entry.endswith(SUFFIXES) or "/" in entry or Path(entry).expanduser().is_dir()


def resolve_dataset(entry: str | type[Dataset]) -> type[Dataset]:
    """A Dataset class given directly, a registered name, or a user data path."""
    if isinstance(entry, type):
        if not issubclass(entry, Dataset):
            raise XmbenchError(f"{entry!r} is not a Dataset class")
        return entry
    if entry in DATASETS or not looks_like_path(entry):
        return DATASETS.get(entry)
    return read_dataset(entry)
