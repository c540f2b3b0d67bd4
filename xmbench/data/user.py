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

from xmbench.data.base import DATASETS, CrossModalData, Dataset, LoadOptions, ModalitySpec, PairedSplit
from xmbench.data.sources import read_npz
from xmbench.errors import XmbenchError, first_line
from xmbench.options import FeatureSource

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
    return _dataset(arrays, str(card.get("name") or path.stem), card.get("description"), str(path),
                    str(card.get("citation", "")), str(card.get("license", "")), where=str(path))


def _read_card(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise XmbenchError(f"{path.parent}: a user data folder needs a {CARD} card")
    try:
        card = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
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
        if column in ("y", "y_a", "y_b", "split"):
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
        elif x.ndim == 2 or (x.ndim == 4 and x.shape[2:] == IMAGE_SIZE):
            if x.ndim == 4 and np.isfinite(x).all() and (x.min() < 0 or x.max() > 255):
                problems.append(f"{side}: image values must lie in [0, 1] or 0..255, got {x.min():g}..{x.max():g}")
            if not np.isfinite(x).all():
                problems.append(f"{side}: {int((~np.isfinite(x)).any(axis=tuple(range(1, x.ndim))).sum())} row(s) "
                                "contain NaN or inf")
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
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        arrays = cls.arrays
        if "is_test" in arrays:
            is_test = arrays["is_test"]
        else:
            _, test = train_test_split(np.arange(len(arrays["y_a"])), test_size=TEST_FRACTION,
                                       stratify=arrays["y_a"], random_state=options.data_seed)
            is_test = np.isin(np.arange(len(arrays["y_a"])), test)
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
    checked, problems = validate(arrays)
    if problems:
        raise UserDataError(where, problems)
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
        "default_features": FeatureSource.SUPERVISED.value,
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
