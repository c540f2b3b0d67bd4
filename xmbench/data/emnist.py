"""EMNIST letter images for the thesis's ten classes, from either supported source.

EMNIST stores images transposed relative to MNIST; ``upright`` fixes that once, here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xmbench.data.sources import missing, read_npz, try_download

LETTERS = ("A", "B", "C", "E", "H", "K", "M", "O", "P", "U")
BYCLASS_ARCHIVE = Path("EMNIST") / "emnist_byclass_test_letters.npz"
BYCLASS_TEST_PER_CLASS = 170  # of the 848 images per class kept (K has the fewest: 848)


def upright(images: np.ndarray) -> np.ndarray:
    """(n, 28, 28) raw EMNIST orientation -> upright letters (a transpose of each image)."""
    return np.ascontiguousarray(images.transpose(0, 2, 1))


def load_letters(root: Path, allow_download: bool, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """Upright uint8 images and labels 0..9 (index into LETTERS) for train and test.

    Sources, in order: torchvision's EMNIST ``letters`` split under ``root`` (downloaded only when
    allowed); else the EMNIST ByClass letter archive ``EMNIST/emnist_byclass_test_letters.npz``.
    """
    arrays = _from_torchvision(root, allow_download)
    if arrays is not None:
        return arrays, {"source": "torchvision-emnist-letters", "split": "official"}
    archive = root / BYCLASS_ARCHIVE
    if not archive.is_file():
        raise missing("letters-colors", root, f"EMNIST/raw (torchvision layout) or {BYCLASS_ARCHIVE}")
    return _from_byclass_archive(archive, seed), {
        "source": "emnist-byclass-test-archive",
        "split": f"seeded balanced split, {BYCLASS_TEST_PER_CLASS} test per class",
    }


def _from_torchvision(root: Path, allow_download: bool) -> dict[str, np.ndarray] | None:
    from torchvision.datasets import EMNIST

    def make(train: bool, download: bool) -> EMNIST:
        return EMNIST(str(root), split="letters", train=train, download=download)

    try:
        splits = {"train": make(True, False), "test": make(False, False)}
    except RuntimeError:  # torchvision: "Dataset not found"
        if not allow_download:
            return None
        downloaded = try_download("EMNIST letters", lambda: {"train": make(True, True), "test": make(False, True)})
        if downloaded is None:
            return None
        splits = downloaded
    wanted = np.array([ord(c) - ord("A") + 1 for c in LETTERS])  # torchvision letters labels: 1 = A
    out = {}
    for split, ds in splits.items():
        targets = ds.targets.numpy()
        keep = np.isin(targets, wanted)
        out[f"x_{split}"] = upright(ds.data.numpy()[keep])
        out[f"y_{split}"] = np.searchsorted(wanted, targets[keep]).astype(np.int64)
    return out


def _from_byclass_archive(path: Path, seed: int) -> dict[str, np.ndarray]:
    """Merge upper and lower case (as the letters split does), then a balanced, seeded split.

    Every class keeps 848 images (the count of K, the rarest), 678 train and 170 test:
    6,780 training and 1,700 test images in all.
    """
    arrays = read_npz(path, ("x", "y", "mapping"), "the EMNIST ByClass arrays x, y and mapping")
    x, y, mapping = arrays["x"], arrays["y"], arrays["mapping"]
    letter_of = np.array([str(m).upper() for m in mapping])[y]
    per_class = min(int((letter_of == letter).sum()) for letter in LETTERS)
    rng = np.random.default_rng(seed)
    train_idx, test_idx, train_y, test_y = [], [], [], []
    for label, letter in enumerate(LETTERS):
        chosen = rng.permutation(np.flatnonzero(letter_of == letter))[:per_class]
        test_idx.append(chosen[:BYCLASS_TEST_PER_CLASS])
        train_idx.append(chosen[BYCLASS_TEST_PER_CLASS:])
        test_y.append(np.full(BYCLASS_TEST_PER_CLASS, label))
        train_y.append(np.full(per_class - BYCLASS_TEST_PER_CLASS, label))
    train, test = np.concatenate(train_idx), np.concatenate(test_idx)
    return {
        "x_train": upright(x[train]),
        "y_train": np.concatenate(train_y).astype(np.int64),
        "x_test": upright(x[test]),
        "y_test": np.concatenate(test_y).astype(np.int64),
    }
