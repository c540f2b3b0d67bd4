"""Split MNIST: the left and right halves of one MNIST image are a pair (deep CCA's benchmark)."""

from __future__ import annotations

import numpy as np

from xmbench.data.base import DATASETS, CrossModalData, Dataset, LoadOptions, ModalitySpec, PairedSplit, require_data_root
from xmbench.data.mnist_fashion import load_idx_dataset
from xmbench.options import FeatureSource

HALF = 14  # columns of each view: 28 x 14


def split_halves(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) uint8 images -> (n, 1, 28, 14) left and right halves, contiguous copies."""
    return (np.ascontiguousarray(images[:, None, :, :HALF]), np.ascontiguousarray(images[:, None, :, HALF:]))


@DATASETS.register("mnist-halves")
class MnistHalves(Dataset):
    """View A: the left half (28 x 14) of an MNIST digit; view B: the right half of the same image.
    Pairs are instances (60,000 train / 10,000 test, the official split; the harness carves the
    validation split from train); classes are the digits, used only to score retrieval.

    The two-view benchmark of deep CCA (Andrew et al., ICML 2013) and the multi-view papers after
    it, which publish the total canonical correlation of the top 50 dimensions on the test split
    (``eval.correlation``). Those papers feed raw pixels, so this dataset's default feature source
    is ``pixels`` (PCA to 196 of the 392 pixels of a view; see ``features.pixels``).
    """

    name = "mnist-halves"
    description = "left x right half of the same MNIST image (deep CCA's split MNIST), official split"
    pairings = ("instance",)
    source = "MNIST in torchvision's layout under the data root"
    license = "MNIST: CC BY-SA 3.0"
    citation = "LeCun et al. (1998); Andrew, Arora, Bilmes, Livescu, Deep Canonical Correlation Analysis, ICML 2013"
    default_features = FeatureSource.PIXELS.value

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        root = require_data_root(options, cls.name)
        digits = load_idx_dataset(root, "MNIST", options.allow_download, cls.name)

        def split(part: str) -> PairedSplit:
            left, right = split_halves(digits[f"x_{part}"])
            labels = digits[f"y_{part}"]
            return PairedSplit(left, right, labels, labels.copy())

        train, test = split("train"), split("test")
        return CrossModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec("left", (1, 28, HALF)), ModalitySpec("right", (1, 28, HALF))),
            class_names=tuple(str(d) for d in range(10)),
            train=train,
            test=test,
            provenance={"source": "idx-files", "n_train": len(train), "n_test": len(test), "view_columns": HALF},
        )
