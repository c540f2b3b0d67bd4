"""scikit-learn's handwritten digits paired with colours: the default, offline dataset."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from xmbench.data import colors
from xmbench.data.base import DATASETS, CrossModalData, Dataset, LoadOptions, ModalitySpec, PairedSplit

TEST_FRACTION = 0.3


def upsample_digits(images: np.ndarray) -> np.ndarray:
    """(n, 8, 8) values 0..16 -> (n, 1, 28, 28) uint8, so the thesis's 28x28 CNN applies unchanged."""
    x = torch.from_numpy(images.astype(np.float32) / 16.0)[:, None]
    x = torch.nn.functional.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


@DATASETS.register("digits-colors")
class DigitsColors(Dataset):
    """Digits 0-9 (1,797 8x8 images shipped with scikit-learn, upsampled to 28x28) paired with colours.

    Digit k takes the colour of the thesis's k-th letter class, so ``unique`` follows Table 1 and
    ``non-unique`` makes digits 7 and 8 both blue (the positions of O and P in Table 2).
    Split: seeded, stratified, 70 % train (1,257 pairs) / 30 % test (540 pairs).
    """

    name = "digits-colors"
    description = "scikit-learn digits (grapheme) x colour images, thesis colour tables"
    pairings = colors.pairings()
    source = "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)"
    license = "CC BY 4.0 (UCI)"
    citation = "Alpaydin & Kaynak (1998), UCI Optical Recognition of Handwritten Digits"

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        digits = load_digits()
        y = digits.target.astype(np.int64)
        train_idx, test_idx = train_test_split(
            np.arange(len(y)), test_size=TEST_FRACTION, stratify=y, random_state=options.data_seed
        )
        images = upsample_digits(digits.images)

        jitter_rng = colors.jitter_generator(cls.name, options.data_seed)

        def split(idx: np.ndarray) -> PairedSplit:
            return PairedSplit(images[idx], colors.colour_images(y[idx], pairing, jitter_rng), y[idx], y[idx])

        graphemes = tuple(str(d) for d in range(10))
        return CrossModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec("digit", (1, 28, 28)), colors.COLOUR_MODALITY),
            class_names=colors.class_names(graphemes, pairing),
            train=split(np.sort(train_idx)),
            test=split(np.sort(test_idx)),
            provenance={"source": "sklearn-digits", "n_train": len(train_idx), "n_test": len(test_idx)},
        )
