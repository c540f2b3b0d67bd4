"""The thesis's synesthesia dataset: EMNIST letters A B C E H K M O P U paired with colours."""

from __future__ import annotations


from xmbench.data import colors, emnist
from xmbench.data.base import (
    DATASETS,
    CrossModalData,
    Dataset,
    LoadOptions,
    ModalitySpec,
    PairedSplit,
    require_data_root,
)


@DATASETS.register("letters-colors")
class LettersColors(Dataset):
    """Letter images paired with colour images by the thesis's Table 1 (unique) or Table 2 (non-unique).

    Each letter instance is paired with one colour image of its class's colour; a pair's class is
    the letter class, so under ``non-unique`` the O and P colour instances are identical images
    with different labels. Data: torchvision's EMNIST letters split under the data root
    (48,000 train / 8,000 test for these classes), else the ByClass archive (6,780 / 1,700).
    """

    name = "letters-colors"
    description = "EMNIST letters (grapheme) x colour images, the thesis's synesthesia setting"
    pairings = colors.pairings()
    source = "EMNIST letters via torchvision, or the EMNIST ByClass test archive in the data root"
    license = "EMNIST: research data, cite Cohen et al. (2017)"
    citation = "Cohen, Afshar, Tapson, van Schaik (2017), EMNIST: an extension of MNIST to handwritten letters"

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        root = require_data_root(options, cls.name)
        arrays, provenance = emnist.load_letters(root, options.allow_download, options.data_seed)

        jitter_rng = colors.jitter_generator(cls.name, options.data_seed)

        def split(part: str) -> PairedSplit:
            x, y = arrays[f"x_{part}"][:, None], arrays[f"y_{part}"]
            return PairedSplit(x, colors.colour_images(y, pairing, jitter_rng), y, y)

        train, test = split("train"), split("test")
        provenance |= {"n_train": len(train), "n_test": len(test)}
        return CrossModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec("letter", (1, 28, 28)), colors.COLOUR_MODALITY),
            class_names=colors.class_names(emnist.LETTERS, pairing),
            train=train,
            test=test,
            provenance=provenance,
        )


