"""MNIST x spoken digits: MFCC images, FSDD's official split, distinct partners, clear errors, and
an extractor that takes any input size."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from xmbench.data import DATASETS, CrossModalData, LoadOptions, PairedSplit
from xmbench.data import audio
from xmbench.data.base import ModalitySpec
from xmbench.data.mnist_speech import FSDD_FILE, SPEECH_EXTRACTOR_CHANNELS
from xmbench.errors import DataUnavailableError, XmbenchError
from xmbench.features.cnn import FEATURE_DIM, ExtractorConfig, FeatureCNN, extract
from xmbench.features.extract import build_features, feature_inputs

CPU = torch.device("cpu")


def load(root: Path, seed: int = 0) -> CrossModalData:
    return DATASETS.get("mnist-speech").load(None, LoadOptions(data_root=root, data_seed=seed))


@pytest.fixture(scope="module")
def speech(data_root: Path) -> CrossModalData:
    return load(data_root)


def test_clips_are_centred_in_one_second():
    short = np.arange(1, 4, dtype=np.int16)
    padded = audio.fix_length(short, 8)
    np.testing.assert_array_equal(padded, [0, 0, 1, 2, 3, 0, 0, 0])
    np.testing.assert_array_equal(audio.fix_length(np.arange(11), 8), np.arange(1, 9))
    assert len(audio.fix_length(np.ones(audio.CLIP_SAMPLES + 1, np.int16))) == audio.CLIP_SAMPLES


def test_mfcc_of_a_clip_does_not_depend_on_the_others_in_its_batch():
    import librosa

    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal(5000) * 30).astype(np.int16)
    loud = (rng.standard_normal(9000) * 10000).astype(np.int16)
    batch = audio.mfcc_images([quiet, loud])
    assert batch.shape == (2, 1, audio.N_MFCC, audio.N_FRAMES) == (2, 1, 40, 101) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[0], audio.mfcc_images([quiet])[0], rtol=1e-5, atol=1e-3)
    alone = librosa.feature.mfcc(
        y=audio.fix_length(quiet).astype(np.float32) / audio.INT16_SCALE, sr=audio.SAMPLE_RATE,
        n_mfcc=audio.N_MFCC, n_fft=audio.N_FFT, hop_length=audio.HOP_LENGTH, n_mels=audio.N_MELS,
    )
    np.testing.assert_allclose(batch[0, 0], alone, rtol=1e-5, atol=1e-3)


def test_standardisation_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 3.0, size=(200, 1, 4, 6)) * np.arange(1, 5)[:, None]
    train_z, test_z = audio.standardise(train, train + 100.0)
    np.testing.assert_allclose(train_z.mean(axis=(0, 1, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(train_z.std(axis=(0, 1, 3)), 1, atol=1e-5)
    shift = np.broadcast_to(100.0 / train.std(axis=(0, 1, 3))[:, None], test_z.shape)
    np.testing.assert_allclose(test_z - train_z, shift, rtol=1e-4)


@pytest.mark.data
def test_pairs_follow_the_audio_corpus(speech: CrossModalData):
    assert (len(speech.train), len(speech.test)) == (2700, 300)
    assert speech.train.a.shape[1:] == (1, 28, 28) and speech.train.a.dtype == np.uint8
    assert speech.train.b.shape[1:] == (1, 40, 101) and speech.train.b.dtype == np.float32
    assert speech.spec("b").input_shape == (1, 40, 101)
    assert speech.class_names == tuple("0123456789")
    for split in (speech.train, speech.test):
        np.testing.assert_array_equal(split.y_a, split.y_b)
        assert len(np.unique(split.a.reshape(len(split), -1), axis=0)) == len(split)  # distinct MNIST partners
    assert np.bincount(speech.test.y_b).tolist() == [30] * 10


@pytest.mark.data
def test_test_split_is_fsdds_official_one(speech: CrossModalData, data_root: Path):
    with np.load(data_root / FSDD_FILE) as archive:
        official = archive["split"] == "test"
        np.testing.assert_array_equal(official, archive["take"] < 5)
        offsets, samples = archive["offsets"], archive["audio"]
        clips = [samples[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        np.testing.assert_array_equal(speech.test.y_b, archive["label"][official])
    train, test = audio.standardise(
        audio.mfcc_images([c for c, t in zip(clips, official) if not t]),
        audio.mfcc_images([c for c, t in zip(clips, official) if t]),
    )
    np.testing.assert_allclose(speech.test.b, test, atol=1e-5)
    # standardised with training statistics: the training side is centred and scaled per coefficient
    np.testing.assert_allclose(speech.train.b.mean(axis=(0, 1, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(speech.train.b.std(axis=(0, 1, 3)), 1, atol=1e-4)
    assert np.abs(speech.test.b.mean(axis=(0, 1, 3))).max() > 1e-3  # not re-centred on test data


@pytest.mark.data
def test_split_seed_only_redraws_the_mnist_partners(speech: CrossModalData, data_root: Path):
    again, other = load(data_root, 0), load(data_root, 1)
    np.testing.assert_array_equal(again.train.a, speech.train.a)
    np.testing.assert_array_equal(again.test.a, speech.test.a)
    assert not np.array_equal(other.train.a, speech.train.a)
    np.testing.assert_array_equal(other.test.b, speech.test.b)


def test_missing_fsdd_says_what_and_where(tmp_path):
    with pytest.raises(DataUnavailableError, match=re.escape(f"{FSDD_FILE} under {tmp_path}") + ".*Jakobovski"):
        DATASETS.get("mnist-speech").load(None, LoadOptions(data_root=tmp_path))


def write_fsdd(root: Path, **changes: object) -> None:
    """A tiny FSDD archive in the expected layout (two clips per digit: takes 0 and 7)."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(2000, 9000, size=20)
    arrays = {
        "audio": rng.integers(-3000, 3000, size=lengths.sum()).astype(np.int16),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]),
        "label": np.repeat(np.arange(10, dtype=np.int8), 2),
        "take": np.tile(np.array([0, 7], dtype=np.int16), 10),
        "sample_rate": np.int32(8000),
    }
    arrays.update(changes)
    (root / "FSDD").mkdir(exist_ok=True)
    np.savez(root / FSDD_FILE, **{key: value for key, value in arrays.items() if value is not None})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"take": None}, "lacks take"),
        ({"offsets": np.arange(5)}, "do not describe the same clips"),
        ({"label": np.arange(19)}, "do not describe the same clips"),
        ({"audio": np.zeros(10, np.float32)}, "not a 1-d int16 array"),
        ({"sample_rate": np.int32(16000)}, "sample_rate is 16000"),
        ({"label": np.arange(20)}, "digits 0-9"),
        ({"take": np.zeros(20, np.int16)}, "take < 5"),
    ],
)
def test_inconsistent_fsdd_archive_is_a_clear_error(tmp_path, changes, message):
    write_fsdd(tmp_path, **changes)
    with pytest.raises(XmbenchError, match=message) as error:
        DATASETS.get("mnist-speech").load(None, LoadOptions(data_root=tmp_path))
    assert "expected an npz with audio" in str(error.value)


def test_unreadable_fsdd_archive_is_a_clear_error(tmp_path):
    write_fsdd(tmp_path)
    path = tmp_path / FSDD_FILE
    content = path.read_bytes()
    for damaged, message in [
        (b"not an npz", "fsdd_8k.npz: not an npz archive"),
        (content[: len(content) // 2], "fsdd_8k.npz: unreadable"),  # truncated
    ]:
        path.write_bytes(damaged)
        with pytest.raises(XmbenchError, match=message):
            DATASETS.get("mnist-speech").load(None, LoadOptions(data_root=tmp_path))
    np.save(path.with_suffix(".npy"), np.zeros(3))
    path.with_suffix(".npy").replace(path)
    with pytest.raises(XmbenchError, match="fsdd_8k.npz: not an npz archive"):  # a single .npy array
        DATASETS.get("mnist-speech").load(None, LoadOptions(data_root=tmp_path))


def test_feature_cnn_takes_any_input_size_and_keeps_the_thesis_network_on_28x28():
    model = FeatureCNN(1, 10)
    assert sum(p.numel() for p in model.parameters()) == 2174
    assert model.features(torch.zeros(3, 1, 40, 101)).shape == (3, FEATURE_DIM)
    # on 28x28 the added adaptive pool is an exact identity
    x = torch.rand(5, 1, 28, 28)
    without = nn.Sequential(*[m for m in model.features if not isinstance(m, nn.AdaptiveMaxPool2d)])
    model.eval()
    assert torch.equal(model.features(x), without.eval()(x))
    # float inputs (standardised MFCCs) are used as they are; uint8 images are scaled to [0, 1]
    mfcc = np.random.default_rng(0).standard_normal((4, 1, 40, 101)).astype(np.float32)
    features, _ = extract(model, mfcc, CPU)
    np.testing.assert_array_equal(features, model.features(torch.from_numpy(mfcc)).detach().numpy())
    images = np.random.default_rng(0).integers(0, 256, size=(4, 1, 28, 28), dtype=np.uint8)
    features, _ = extract(model, images, CPU)
    np.testing.assert_allclose(features, model.features(torch.from_numpy(images).float() / 255).detach().numpy())


def test_a_modality_can_widen_its_extractor_and_the_cache_key_sees_it():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(2), 8)

    def split() -> PairedSplit:
        images = rng.integers(0, 256, size=(16, 1, 28, 28), dtype=np.uint8)
        return PairedSplit(images, rng.standard_normal((16, 1, 12, 30)).astype(np.float32), y, y)

    def data(channels: int | None) -> CrossModalData:
        specs = (ModalitySpec("image", (1, 28, 28)), ModalitySpec("sound", (1, 12, 30), channels))
        return CrossModalData("toy", "by-class", specs, ("x", "y"), train, test)

    train, test = split(), split()
    config = ExtractorConfig(epochs=1, batch_size=8)
    plain = feature_inputs(data(None), config, 0, CPU)
    assert "extractor_channels" not in plain  # keys of datasets without overrides are unchanged
    assert feature_inputs(data(8), config, 0, CPU)["extractor_channels"] == {"sound": 8}
    features = build_features(data(SPEECH_EXTRACTOR_CHANNELS), config, 0, CPU, None).data
    assert features.train.a.shape == (16, FEATURE_DIM)
    assert features.test.b.shape == (16, SPEECH_EXTRACTOR_CHANNELS * 49)
