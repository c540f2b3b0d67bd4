"""Three modalities of ten classes in aligned triples: an MNIST digit, a Fashion-MNIST item and a spoken
digit of the same class index; the VAE-associator paper's cascade experiment (its Table 4)."""

from __future__ import annotations

import numpy as np

from xmbench.data.base import DATASETS, LoadOptions, ModalitySpec, require_data_root
from xmbench.data.mnist_fashion import load_idx_dataset
from xmbench.data.mnist_speech import FSDD_FILE, FSDD_ORIGIN, SPEECH_PROVENANCE, SPEECH_SPEC, SpokenPairs, \
    image_partners, spoken_digits
from xmbench.data.multimodal import AlignedSplit, MultiModalData, MultiModalDataset


@DATASETS.register("mnist-fashion-speech")
class MnistFashionSpeech(MultiModalDataset):
    """MNIST digits, Fashion-MNIST items and spoken digits (MFCCs) in triples of one class index:
    2,700 train / 300 test triples.

    The spoken digits drive the triples, as in ``SpokenPairs``: every Free Spoken Digit Dataset clip
    gets a distinct MNIST image and a distinct Fashion-MNIST item of its class index, drawn with the
    data seed (MNIST first, then Fashion-MNIST; training images for training clips, test images for
    test clips); the test split is FSDD's official one. Each modality has its own frozen extractor,
    trained once per replicate and shared by every pair (``--modalities``) and every cascade link
    (``--cascade``), and every pair of a replicate has the same rows, so a direct route and a cascade
    are scored on the same test triples.

    Choice: the (fashion, mnist) pairs are the triples' 2,700, not mnist-fashion's 60,000, so each
    link of a cascade and the direct route train on the same number of pairs. The paper's cascade
    (Table 4) links associators trained on separate scenarios (F-MNIST <-> MNIST on all of MNIST)."""

    name = "mnist-fashion-speech"
    description = "MNIST digit x Fashion-MNIST item x spoken digit of one class index (three modalities)"
    pairings = ("by-class",)
    modality_names = ("mnist", "fashion", "speech")
    caveat = SpokenPairs.caveat
    source = f"MNIST and FashionMNIST in torchvision's layout and {FSDD_FILE} ({FSDD_ORIGIN}) under the data root"
    license = "MNIST: CC BY-SA 3.0; Fashion-MNIST: MIT; FSDD: CC BY-SA 4.0"
    citation = (
        "LeCun et al. (1998); Xiao et al. (2017); Jackson et al., Free Spoken Digit Dataset (2018); "
        "Cross-modal Variational Auto-encoder with Distributed Latent Spaces and Associators (2019)"
    )
    class_names = tuple(str(digit) for digit in range(10))

    @classmethod
    def _load_all(cls, pairing: str, options: LoadOptions) -> MultiModalData:
        root = require_data_root(options, cls.name)
        speech = spoken_digits(root, cls.name)  # first: it cannot be downloaded
        images = {name: load_idx_dataset(root, folder, options.allow_download, cls.name)
                  for name, folder in (("mnist", "MNIST"), ("fashion", "FashionMNIST"))}
        rng = np.random.default_rng(options.data_seed)

        def split(part: str) -> AlignedSplit:
            x, y = {"speech": speech[f"x_{part}"]}, {"speech": speech[f"y_{part}"]}
            for name in ("mnist", "fashion"):
                x[name], y[name] = image_partners(images[name], part, speech[f"y_{part}"], rng)
            return AlignedSplit({name: x[name] for name in cls.modality_names},
                                {name: y[name] for name in cls.modality_names})

        train, test = split("train"), split("test")
        return MultiModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec("mnist", (1, 28, 28)), ModalitySpec("fashion", (1, 28, 28)), SPEECH_SPEC),
            class_names=cls.class_names,
            train=train,
            test=test,
            provenance={"source": f"idx-files + {FSDD_FILE}", "n_train": len(train), "n_test": len(test)}
            | SPEECH_PROVENANCE,
        )
