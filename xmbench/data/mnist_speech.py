"""Images of ten classes (A: MNIST digits, or Fashion-MNIST items) paired by class with spoken digits of
the Free Spoken Digit Dataset (B); spoken digits stand in for the VAE-associator paper's Google Speech
Commands (GSC), which is not available here."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from xmbench.data import audio
from xmbench.data.base import (
    DATASETS,
    CrossModalData,
    Dataset,
    LoadOptions,
    ModalitySpec,
    PairedSplit,
    require_data_root,
)
from xmbench.data.mnist_fashion import FASHION_CLASSES, load_idx_dataset, pair_within_class
from xmbench.data.sources import read_npz
from xmbench.errors import DataUnavailableError, XmbenchError

FSDD_FILE = "FSDD/fsdd_8k.npz"
FSDD_ORIGIN = "github.com/Jakobovski/free-spoken-digit-dataset"
FSDD_KEYS = ("audio", "offsets", "label", "take", "sample_rate")
FSDD_LAYOUT = (
    "an npz with audio (int16, all recordings concatenated), offsets (n+1 clip boundaries), "
    f"label (n digits 0-9), take (n repetition indices), sample_rate ({audio.SAMPLE_RATE})"
)
TEST_TAKES = 5  # takes 0-4 of every speaker and digit: FSDD's official test split
N_CLASSES = 10
# The thesis's 4-channel CNN reaches only ~61% on held-out takes 5-9 (10 epochs, trained on takes
# 10-49); 8 channels ~80%, 16 ~92%, 32 ~95% at twice the time of 16. Speech features: 16 x 7 x 7.
SPEECH_EXTRACTOR_CHANNELS = 16


def read_fsdd(root: Path, dataset: str = "mnist-speech") -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(int16 clips, labels (n,) int64, takes (n,) int64) from ``root/FSDD/fsdd_8k.npz``, validated."""
    path = root / FSDD_FILE
    if not path.is_file():
        raise DataUnavailableError(
            f"dataset {dataset!r}: no {FSDD_FILE} under {root}; expected the Free Spoken Digit "
            f"Dataset ({FSDD_ORIGIN}, recordings/*.wav at 8 kHz) packed as {FSDD_LAYOUT}. "
            "--download cannot fetch it: place the file there or point --data-root at a folder that has it"
        )
    arrays = read_npz(path, FSDD_KEYS, FSDD_LAYOUT, "it cannot be downloaded: place a valid copy there")
    return _split_clips(path, arrays)


def _split_clips(path: Path, arrays: dict[str, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    def bad(what: str) -> XmbenchError:
        return XmbenchError(f"{path} is inconsistent: {what}; expected {FSDD_LAYOUT}")

    samples, offsets, label, take, rate = (arrays[key] for key in FSDD_KEYS)
    if samples.ndim != 1 or samples.dtype != np.int16:
        raise bad(f"audio is {samples.dtype} with shape {samples.shape}, not a 1-d int16 array")
    for key in ("offsets", "label", "take"):
        if arrays[key].ndim != 1 or not np.issubdtype(arrays[key].dtype, np.integer):
            raise bad(f"{key} is {arrays[key].dtype} with shape {arrays[key].shape}, not a 1-d integer array")
    if rate.size != 1 or not np.issubdtype(rate.dtype, np.integer) or int(rate) != audio.SAMPLE_RATE:
        raise bad(f"sample_rate is {rate}, not {audio.SAMPLE_RATE}")
    n = len(label)
    if take.shape != (n,) or offsets.shape != (n + 1,):
        raise bad(f"label {label.shape}, take {take.shape} and offsets {offsets.shape} do not describe the same clips")
    if n == 0 or offsets[0] != 0 or offsets[-1] != len(samples) or np.any(np.diff(offsets) <= 0):
        raise bad(f"offsets must rise strictly from 0 to len(audio) = {len(samples)}")
    if label.min() < 0 or label.max() >= N_CLASSES:
        raise bad(f"labels must be digits 0-9, found {label.min()}..{label.max()}")
    test = take < TEST_TAKES
    if test.all() or not test.any():
        raise bad(f"need clips with take < {TEST_TAKES} (the test split) and others (the train split)")
    clips = [samples[offsets[i] : offsets[i + 1]] for i in range(n)]
    return clips, label.astype(np.int64), take.astype(np.int64)


class SpokenPairs(Dataset):
    """Base of the datasets pairing an image class with a spoken digit: the audio corpus is the
    scarce modality, so it drives the pairs. Every Free Spoken Digit Dataset recording (3,000 clips:
    6 speakers x 10 digits x 50 takes, 8 kHz) is paired with a distinct image of the same class index,
    drawn with the data seed: training images for the 2,700 training clips, test images for the 300
    test clips. The test split is FSDD's official one (takes 0-4 of every speaker and digit), so it is
    the same for every seed; only the image partners change with the seed.

    Each clip becomes a (1, 40, 101) float32 MFCC "image" (settings in ``xmbench.data.audio``:
    1 s centred and zero-padded or centre-cropped, 32 ms window, 10 ms hop, 40 mel bands, 40
    coefficients), standardised per coefficient with the training clips' mean and std. The speech
    extractor is the thesis CNN with 16 channels instead of 4 (784-d features; 4 channels
    classify spoken digits poorly); the image extractor is unchanged (196-d).

    Subclasses say where the images come from (``_images``: x_train, y_train, x_test, y_test with
    labels 0-9), the image modality's name and shape, and the class names.
    """

    pairings = ("by-class",)
    caveat = ("spoken digits (FSDD) stand in for the VAE-associator paper's Google Speech Commands (GSC), which are "
              "not available here: its GSC numbers are not like for like")
    image_modality: ClassVar[str]
    image_shape: ClassVar[tuple[int, int, int]] = (1, 28, 28)
    class_names: ClassVar[tuple[str, ...]] = tuple(str(digit) for digit in range(N_CLASSES))
    images_source: ClassVar[str] = "idx-files"

    @classmethod
    def _images(cls, root: Path, options: LoadOptions) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @classmethod
    def _load(cls, pairing: str, options: LoadOptions) -> CrossModalData:
        root = require_data_root(options, cls.name)
        speech = spoken_digits(root, cls.name)  # first: it cannot be downloaded
        images = cls._images(root, options)
        rng = np.random.default_rng(options.data_seed)

        def split(part: str) -> PairedSplit:
            x, y = image_partners(images, part, speech[f"y_{part}"], rng)
            return PairedSplit(x, speech[f"x_{part}"], y, speech[f"y_{part}"])

        train, test = split("train"), split("test")
        return CrossModalData(
            name=cls.name,
            pairing=pairing,
            modalities=(ModalitySpec(cls.image_modality, cls.image_shape), SPEECH_SPEC),
            class_names=cls.class_names,
            train=train,
            test=test,
            provenance={"source": f"{cls.images_source} + {FSDD_FILE}", "n_train": len(train), "n_test": len(test)}
            | SPEECH_PROVENANCE,
        )


SPEECH_SPEC = ModalitySpec("speech", (1, audio.N_MFCC, audio.N_FRAMES), SPEECH_EXTRACTOR_CHANNELS)
SPEECH_PROVENANCE = {"test_split": f"FSDD takes 0-{TEST_TAKES - 1}", "mfcc": audio.mfcc_settings()}


def spoken_digits(root: Path, dataset: str) -> dict[str, np.ndarray]:
    """FSDD's clips as standardised MFCC images with their digits, split by FSDD's official test takes:
    x_train, y_train, x_test, y_test (see ``SpokenPairs``)."""
    clips, labels, takes = read_fsdd(root, dataset)
    is_test = takes < TEST_TAKES
    x_train, x_test = audio.standardise(
        audio.mfcc_images([clip for clip, held_out in zip(clips, is_test) if not held_out]),
        audio.mfcc_images([clip for clip, held_out in zip(clips, is_test) if held_out]),
    )
    return {"x_train": x_train, "y_train": labels[~is_test], "x_test": x_test, "y_test": labels[is_test]}


def image_partners(images: dict[str, np.ndarray], part: str, y_speech: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(images (n, C, H, W), labels) of a distinct image of the same class for each clip of ``part``:
    every class has more images than clips, so no image is used twice."""
    partner = pair_within_class(y_speech, images[f"y_{part}"], rng)
    x = images[f"x_{part}"][partner]
    return (x[:, None] if x.ndim == 3 else x), images[f"y_{part}"][partner]


@DATASETS.register("mnist-speech")
class MnistSpeech(SpokenPairs):
    """MNIST digits (A) paired by class with spoken digits (B, MFCCs): 2,700 train / 300 test pairs
    (the VAE-associator paper's MNIST <-> GSC, with FSDD standing in for GSC; see ``SpokenPairs``)."""

    name = "mnist-speech"
    description = "MNIST digit x spoken digit of the same class (FSDD recordings as MFCCs)"
    source = f"MNIST in torchvision's layout and {FSDD_FILE} ({FSDD_ORIGIN}) under the data root"
    license = "MNIST: CC BY-SA 3.0; FSDD: CC BY-SA 4.0"
    citation = (
        "LeCun et al. (1998); Jackson et al., Free Spoken Digit Dataset (2018); "
        "Cross-modal Variational Auto-encoder with Distributed Latent Spaces and Associators (2019)"
    )
    image_modality = "mnist"

    @classmethod
    def _images(cls, root: Path, options: LoadOptions) -> dict[str, np.ndarray]:
        return load_idx_dataset(root, "MNIST", options.allow_download, cls.name)


@DATASETS.register("fashion-speech")
class FashionSpeech(SpokenPairs):
    """Fashion-MNIST items (A) of class i paired with spoken digit i (B, MFCCs): 2,700 train / 300 test
    pairs; the VAE-associator paper's F-MNIST <-> GSC, with spoken digits (FSDD) standing in for the
    Google Speech Commands words, which are not available here (see ``SpokenPairs``)."""

    name = "fashion-speech"
    description = "Fashion-MNIST class i x spoken digit i (FSDD recordings as MFCCs)"
    source = f"Fashion-MNIST in torchvision's layout and {FSDD_FILE} ({FSDD_ORIGIN}) under the data root"
    license = "Fashion-MNIST: MIT; FSDD: CC BY-SA 4.0"
    citation = (
        "Xiao et al. (2017); Jackson et al., Free Spoken Digit Dataset (2018); "
        "Cross-modal Variational Auto-encoder with Distributed Latent Spaces and Associators (2019)"
    )
    image_modality = "fashion"
    class_names = FASHION_CLASSES

    @classmethod
    def _images(cls, root: Path, options: LoadOptions) -> dict[str, np.ndarray]:
        return load_idx_dataset(root, "FashionMNIST", options.allow_download, cls.name)
