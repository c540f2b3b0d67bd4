"""Datasets: pairings, splits, orientation, and clear errors for bad options or missing data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xmbench.data import DATASETS, LoadOptions
from xmbench.data.colors import JITTER, PAIRINGS, RGB, colour_images
from xmbench.data.emnist import LETTERS, upright
from xmbench.data.mnist_fashion import pair_within_class
from xmbench.data.sources import read_idx
from xmbench.errors import DataUnavailableError, XmbenchError


def test_digits_colors_loads_offline_with_a_stratified_split():
    data = DATASETS.get("digits-colors").load(None, LoadOptions())
    assert data.pairing == "unique"
    assert (len(data.train), len(data.test)) == (1257, 540)
    assert data.train.a.shape[1:] == (1, 28, 28) and data.train.b.shape[1:] == (3, 28, 28)
    assert data.train.a.dtype == np.uint8 and data.train.a.max() == 255
    np.testing.assert_array_equal(data.train.y_a, data.train.y_b)
    # every class is in both splits in the same proportion
    assert np.ptp(np.bincount(data.test.y_a)) <= 3
    again = DATASETS.get("digits-colors").load(None, LoadOptions(data_seed=0))
    np.testing.assert_array_equal(data.test.a, again.test.a)
    other = DATASETS.get("digits-colors").load(None, LoadOptions(data_seed=1))
    assert not np.array_equal(data.test.a, other.test.a)


def test_colour_pairings_follow_the_thesis_tables():
    assert PAIRINGS["unique"][7] == "brown" and PAIRINGS["unique"][8] == "blue"
    assert PAIRINGS["non-unique"][7] == PAIRINGS["non-unique"][8] == "blue"
    assert len(set(PAIRINGS["unique"])) == 10 and len(set(PAIRINGS["non-unique"])) == 9
    images = colour_images(np.array([7, 8, 0]), "non-unique")
    assert images.shape == (3, 3, 28, 28)
    np.testing.assert_array_equal(images[0], images[1])  # O and P: identical blue images
    np.testing.assert_array_equal(images[2][:, 5, 5], RGB["red"])


def test_non_unique_digits_share_a_colour_only_for_7_and_8():
    data = DATASETS.get("digits-colors").load("non-unique", LoadOptions())
    colour_of = {int(y): tuple(img[:, 0, 0]) for img, y in zip(data.test.b, data.test.y_b)}
    assert colour_of[7] == colour_of[8] == RGB["blue"]
    assert len(set(colour_of.values())) == 9


def test_jittered_colours_vary_per_instance_within_the_amplitude_and_keep_classes_apart():
    data = DATASETS.get("digits-colors").load("unique-jitter", LoadOptions(data_seed=3))
    plain = DATASETS.get("digits-colors").load("unique", LoadOptions(data_seed=3))
    np.testing.assert_array_equal(data.train.a, plain.train.a)  # only the colours change
    images = data.train.b.astype(int)
    assert (images == images[:, :, :1, :1]).all()  # still flat images
    colours, centres = images[:, :, 0, 0], np.array([RGB[n] for n in PAIRINGS["unique"]])[data.train.y_b]
    offset = colours - centres
    unclipped = (centres >= JITTER) & (centres <= 255 - JITTER)
    assert np.abs(offset).max() <= JITTER and offset[unclipped].std() > JITTER / 2  # uniform: sd 13.9
    assert len({tuple(c) for c in colours}) > 0.8 * len(colours)  # measured .90: clipping at 0 and 255 merges some
    nearest = np.abs(colours[:, None, :] - np.array([RGB[n] for n in PAIRINGS["unique"]])[None]).max(2).argmin(1)
    np.testing.assert_array_equal(nearest, data.train.y_b)  # each still closest to its class colour
    again = DATASETS.get("digits-colors").load("unique-jitter", LoadOptions(data_seed=3))
    np.testing.assert_array_equal(again.test.b, data.test.b)
    other = DATASETS.get("digits-colors").load("unique-jitter", LoadOptions(data_seed=4))
    assert not np.array_equal(other.train.b, data.train.b)
    assert data.class_names == plain.class_names and data.pairing == "unique-jitter"


@pytest.mark.parametrize(
    ("dataset", "pairing", "message"),
    [
        ("digits-colors", "weird", "valid: unique, non-unique, unique-jitter, non-unique-jitter"),
        ("wikipedia", "unique", "does not apply to dataset 'wikipedia'; valid: documents"),
        ("mnist-fashion", "non-unique", "valid: by-class"),
    ],
)
def test_inapplicable_pairing_lists_valid_values(dataset, pairing, message):
    with pytest.raises(XmbenchError, match=message):
        DATASETS.get(dataset).load(pairing, LoadOptions())


def test_unknown_dataset_suggests_the_closest_name():
    with pytest.raises(XmbenchError, match="did you mean letters-colors"):
        DATASETS.get("leters-colors")


@pytest.mark.parametrize("dataset", ["letters-colors", "mnist-fashion", "wikipedia"])
def test_missing_data_root_or_files_is_a_clear_error(dataset, tmp_path):
    with pytest.raises(XmbenchError, match="--data-root"):
        DATASETS.get(dataset).load(None, LoadOptions())
    with pytest.raises(DataUnavailableError, match=str(tmp_path)):
        DATASETS.get(dataset).load(None, LoadOptions(data_root=tmp_path))


def test_corrupt_idx_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") + b"\x00" * 20)
    with pytest.raises(XmbenchError, match="truncated"):
        read_idx(bad)
    bad.write_bytes(b"not an idx file")
    with pytest.raises(XmbenchError, match="not an unsigned-byte IDX"):
        read_idx(bad)


def test_upright_is_a_transpose():
    raw = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    np.testing.assert_array_equal(upright(raw)[1], raw[1].T)


@pytest.mark.data
def test_letters_are_upright_and_split_is_balanced(data_root: Path):
    data = DATASETS.get("letters-colors").load("unique", LoadOptions(data_root=data_root))
    counts = np.bincount(data.test.y_a, minlength=10)
    assert len(set(counts)) == 1, counts
    mean = {letter: data.train.a[data.train.y_a == k, 0].mean(axis=0) for k, letter in enumerate(LETTERS)}
    # An upright U is open at the top and closed at the bottom; transposed it would open to the left.
    assert mean["U"][20:24, 12:16].mean() > 2 * mean["U"][4:8, 12:16].mean()
    # An upright C is open on the right.
    assert mean["C"][12:16, 4:8].mean() > 2 * mean["C"][12:16, 20:24].mean()


@pytest.mark.data
def test_letters_non_unique_makes_o_and_p_colours_identical(data_root: Path):
    data = DATASETS.get("letters-colors").load("non-unique", LoadOptions(data_root=data_root))
    o, p = LETTERS.index("O"), LETTERS.index("P")
    np.testing.assert_array_equal(data.test.b[data.test.y_b == o][0], data.test.b[data.test.y_b == p][0])
    assert data.class_names[o] == "O/blue" and data.class_names[p] == "P/blue"


def test_pair_within_class_keeps_classes_and_uses_partners_evenly():
    rng = np.random.default_rng(0)
    y_a = np.repeat(np.arange(3), [10, 7, 4])
    y_b = np.repeat(np.arange(3), [5, 7, 8])
    partner = pair_within_class(y_a, y_b, rng)
    np.testing.assert_array_equal(y_b[partner], y_a)
    assert np.bincount(partner[y_a == 0]).max() == 2  # 10 instances over 5 partners: each twice
    assert len(set(partner[y_a == 2])) == 4


@pytest.mark.data
def test_mnist_fashion_pairs_by_class(data_root: Path):
    data = DATASETS.get("mnist-fashion").load(None, LoadOptions(data_root=data_root))
    assert (len(data.train), len(data.test)) == (60000, 10000)
    np.testing.assert_array_equal(data.train.y_a, data.train.y_b)


@pytest.mark.data
def test_wikipedia_has_the_official_split(data_root: Path):
    data = DATASETS.get("wikipedia").load(None, LoadOptions(data_root=data_root))
    assert (len(data.train), len(data.test)) == (2173, 693)
    assert data.train.a.shape[1] == 128 and data.train.b.shape[1] == 10
    assert data.class_names[0] == "art" and data.train.y_a.min() == 0
    assert not data.spec("a").needs_extractor


def write_idx(path: Path, array: np.ndarray) -> None:
    """An uncompressed idx file (uint8), as MNIST ships them."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_mnist_halves_come_from_the_same_image(tmp_path: Path):
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = {"train": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), "t10k": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)}
    labels = {"train": rng.integers(0, 10, 30, dtype=np.uint8), "t10k": rng.integers(0, 10, 10, dtype=np.uint8)}
    for part in ("train", "t10k"):
        write_idx(raw / f"{part}-images-idx3-ubyte", images[part])
        write_idx(raw / f"{part}-labels-idx1-ubyte", labels[part])
    data = DATASETS.get("mnist-halves").load(None, LoadOptions(tmp_path))
    assert data.pairing == "instance" and data.spec("a").input_shape == (1, 28, 14)
    for split, part in ((data.train, "train"), (data.test, "t10k")):
        np.testing.assert_array_equal(np.concatenate([split.a, split.b], axis=-1)[:, 0], images[part])  # row i: one image
        np.testing.assert_array_equal(split.y_a, labels[part])
        np.testing.assert_array_equal(split.y_b, labels[part])
