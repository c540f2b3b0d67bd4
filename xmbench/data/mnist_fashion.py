"""MNIST digit class i paired with Fashion-MNIST class i (SyncGAN paper, Table 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xmbench.data.base import (
    DATASETS,
    CrossModalData,
    Dataset,
    LoadOptions,
    ModalitySpec,
    PairedSplit,
    require_data_root,
)
from xmbench.data.sources import find_idx, missing, read_idx, try_download

FASHION_CLASSES = (
    "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot",
)
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_idx_dataset(root: Path, folder: str, allow_download: bool, dataset: str) -> dict[str, np.ndarray]:
    """``root/<folder>/raw`` in torchvision's layout (gzipped or not); downloads via torchvision if allowed."""
    raw = root / folder / "raw"
    if find_idx(raw, FILES["train"][0]) is None and allow_download:
        from torchvision import datasets

        try_download(folder, lambda: getattr(datasets, folder)(str(root), train=True, download=True))
    out = {}
    for split, (images, labels) in FILES.items():
        image_path, label_path = find_idx(raw, images), find_idx(raw, labels)
        if image_path is None or label_path is None:
            raise missing(dataset, root, f"{folder}/raw/{images}(.gz) and {labels}(.gz)")
        out[f"x_{split}"], out[f"y_{split}"] = read_idx(image_path), read_idx(label_path).astype(np.int64)
    return out


def pair_within_class(y_a: np.ndarray, y_b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For every A instance, the index of a B instance of the same class.

    B instances of a class are shuffled and used in turn (cycled when A has more instances), so
    each B instance is used about equally often.
    """
    partner = np.empty(len(y_a), dtype=np.int64)
    for label in np.unique(y_a):
        slots = np.flatnonzero(y_a == label)
        pool = rng.permutation(np.flatnonzero(y_b == label))
        if len(pool) == 0:
            raise ValueError(f"class {label} has no instance in the second modality")
        partner[slots] = pool[np.arange(len(slots)) % len(pool)]
    return partner


@DATASETS.register("mnist-fashion")
class MnistFashion(Dataset):
    """MNIST digits (A) paired by class with Fashion-MNIST items (B): 60,000 train / 10,000 test pairs.

    Every MNIST instance gets a Fashion-MNIST instance of the same class index, drawn with the split
    seed; the official MNIST train/test split is kept.
    """

    name = "mnist-fashion"
    description = "MNIST digit class i x Fashion-MNIST class i (SyncGAN Table 1)"
    pairings = ("by-class",)
    source = "MNIST and FashionMNIST in torchvision's layout under the data root"
    license = "MNIST: CC BY-SA 3.0; Fashion-MNIST: MIT"
    citation = "LeCun et al. (1998); Xiao, Rasul, Vollgraf (2017); Chen, Chen, Hu, SyncGAN"

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        root = require_data_root(options, cls.name)
        digits = load_idx_dataset(root, "MNIST", options.allow_download, cls.name)
        fashion = load_idx_dataset(root, "FashionMNIST", options.allow_download, cls.name)
        rng = np.random.default_rng(options.data_seed)

        def split(part: str) -> PairedSplit:
            y_a, y_b = digits[f"y_{part}"], fashion[f"y_{part}"]
            partner = pair_within_class(y_a, y_b, rng)
            return PairedSplit(digits[f"x_{part}"][:, None], fashion[f"x_{part}"][partner][:, None], y_a, y_b[partner])

        train, test = split("train"), split("test")
        return CrossModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec("mnist", (1, 28, 28)), ModalitySpec("fashion", (1, 28, 28))),
            class_names=tuple(f"{d}/{f}" for d, f in enumerate(FASHION_CLASSES)),
            train=train,
            test=test,
            provenance={"source": "idx-files", "n_train": len(train), "n_test": len(test)},
        )
