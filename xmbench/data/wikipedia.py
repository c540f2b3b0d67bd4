"""Rasiwasia et al.'s Wikipedia image/text documents as precomputed features (no extractor)."""

from __future__ import annotations

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
from xmbench.data.sources import missing, read_npz
from xmbench.errors import XmbenchError

ARCHIVE = "wikipedia/wiki_sift128_lda10.npz"
OFFICIAL_SIZES = {"train": 2173, "test": 693}


@DATASETS.register("wikipedia")
class Wikipedia(Dataset):
    """2,866 Wikipedia documents: 128-d SIFT bag-of-words images (A), 10-d LDA texts (B), 10 categories.

    The official 2,173 / 693 split; a document's image and text form one pair.
    """

    name = "wikipedia"
    description = "Wikipedia image/text documents, SIFT-128 / LDA-10 features, official split"
    pairings = ("documents",)
    source = "ACM-MM'10 features (wikipedia/wiki_sift128_lda10.npz under the data root)"
    license = "research dataset, no licence stated; cite Rasiwasia et al. (2010)"
    citation = "Rasiwasia et al. (2010), A new approach to cross-modal multimedia retrieval, ACM MM"
    has_images = False  # ships SIFT / LDA features: the feature source is ``given``

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        root = require_data_root(options, cls.name)
        path = root / ARCHIVE
        if not path.is_file():
            raise missing(cls.name, root, ARCHIVE)
        keys = ["categories"] + [f"{kind}_{part}" for part in OFFICIAL_SIZES for kind in ("img", "txt", "y")]
        arrays = read_npz(path, keys, "the arrays " + ", ".join(keys))

        def split(part: str) -> PairedSplit:
            y = arrays[f"y_{part}"].astype(np.int64) - 1  # categories are 1..10 in the files
            if len(y) != OFFICIAL_SIZES[part]:
                raise XmbenchError(f"{path}: {part} has {len(y)} documents, expected {OFFICIAL_SIZES[part]}")
            img = arrays[f"img_{part}"].astype(np.float32)
            txt = arrays[f"txt_{part}"].astype(np.float32)
            return PairedSplit(img, txt, y, y)

        return CrossModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec("image"), ModalitySpec("text")),
            class_names=tuple(str(c) for c in arrays["categories"]),
            train=split("train"),
            test=split("test"),
            provenance={"source": ARCHIVE, "n_train": OFFICIAL_SIZES["train"], "n_test": OFFICIAL_SIZES["test"]},
        )
