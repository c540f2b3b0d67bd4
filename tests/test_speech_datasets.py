"""The VAE-associator paper's other scenarios with spoken digits: fashion-speech and gtsrb-speech
(shapes, classes, splits, pairing by class; a missing or damaged file is one line naming it)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from xmbench.data import DATASETS, LoadOptions
from xmbench.data.gtsrb_speech import GTSRB_FILE, resize_images
from xmbench.errors import DataUnavailableError, XmbenchError
from tests.test_mnist_speech import write_fsdd


def test_resizing_keeps_a_flat_image_flat_and_the_channels_first():
    x = np.full((2, 32, 32, 3), 200, np.uint8)
    x[1, :, :, 1] = 10
    out = resize_images(x)
    assert out.shape == (2, 3, 28, 28) and out.dtype == np.uint8
    assert (out[0] == 200).all() and (out[1, 1] == 10).all() and (out[1, 0] == 200).all()


@pytest.mark.data
@pytest.mark.parametrize(("name", "modality", "shape"), [("fashion-speech", "fashion", (1, 28, 28)),
                                                         ("gtsrb-speech", "gtsrb", (3, 28, 28))])
def test_shapes_classes_and_splits(data_root: Path, name, modality, shape):
    data = DATASETS.get(name).load(None, LoadOptions(data_root=data_root, data_seed=0))
    assert [m.name for m in data.modalities] == [modality, "speech"] and len(data.class_names) == 10
    assert data.train.a.shape == (2700, *shape) and data.test.a.shape == (300, *shape)
    assert data.train.a.dtype == np.uint8 and data.train.b.shape == (2700, 1, 40, 101)
    for split in (data.train, data.test):  # paired by class index, every class equally often
        np.testing.assert_array_equal(split.y_a, split.y_b)
        assert set(np.bincount(split.y_a)) == {len(split) // 10}
    other = DATASETS.get(name).load(None, LoadOptions(data_root=data_root, data_seed=1))
    np.testing.assert_array_equal(other.test.b, data.test.b)  # FSDD's official test split
    assert not np.array_equal(other.train.a, data.train.a)  # the image partners are re-drawn


def test_missing_gtsrb_says_what_and_where(tmp_path):
    write_fsdd(tmp_path)
    with pytest.raises(DataUnavailableError, match=re.escape(f"no {GTSRB_FILE} under {tmp_path}") + ".*place the file"):
        DATASETS.get("gtsrb-speech").load(None, LoadOptions(data_root=tmp_path))


def test_missing_fsdd_names_the_dataset(tmp_path):
    with pytest.raises(DataUnavailableError, match="dataset 'fashion-speech': no FSDD/fsdd_8k.npz"):
        DATASETS.get("fashion-speech").load(None, LoadOptions(data_root=tmp_path))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: p.write_bytes(b"garbage"), "not an npz archive"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "unreadable"),
    (lambda p: np.savez(p, x_train=np.zeros((2, 32, 32, 3), np.uint8)), "lacks y_train"),
    (lambda p: np.savez(p, x_train=np.zeros((2, 32, 32), np.uint8), y_train=np.ones(2), x_test=np.zeros((1, 32, 32, 3), np.uint8),
                        y_test=np.ones(1), class_ids=np.arange(1, 11), class_names=np.array(list("abcdefghij"))),
     "is inconsistent"),
], ids=["garbage", "cut", "key missing", "grey images"])
def test_damaged_gtsrb_is_one_line_naming_the_file(tmp_path, damage, message):
    write_fsdd(tmp_path)
    path = tmp_path / GTSRB_FILE
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (40, 32, 32, 3), dtype=np.uint8), y_train=np.arange(40) % 10 + 1,
             x_test=rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8), y_test=np.arange(20) % 10 + 1,
             class_ids=np.arange(1, 11), class_names=np.array(list("abcdefghij")))
    damage(path)
    with pytest.raises(XmbenchError, match=message) as error:
        DATASETS.get("gtsrb-speech").load(None, LoadOptions(data_root=tmp_path))
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_every_table_on_a_stand_in_dataset_says_so():
    """The report's tables built on the spoken-digit datasets carry the GSC caveat; others do not."""
    import pandas as pd

    from xmbench.report.tables import build_tables

    rows = []
    for dataset in ("gtsrb-speech", "digits-colors"):
        for seed in (0, 1):
            for method in ("cca", "kcca"):
                for task in ("A->B", "B->A", "A->A+B", "B->A+B"):
                    rows.append({"run_id": f"{dataset}{method}{seed}", "dataset": dataset, "pairing": "p", "method": method,
                                 "seed": seed, "vary": "data", "profile": "quick", "paired_fraction": 1.0,
                                 "features": "supervised", "task": task, "space": "", "class": "all", "metric": "mAP",
                                 "value": 0.5 + 0.01 * seed})
    tables = build_tables(pd.DataFrame(rows))
    noted = {table.title: any("stand in for the VAE-associator paper's Google Speech Commands" in n for n in table.notes)
             for table in tables}
    assert all(v for t, v in noted.items() if "-- gtsrb-speech" in t) and any("-- gtsrb-speech" in t for t in noted)
    assert not any(v for t, v in noted.items() if "-- digits-colors" in t)
    assert all(v for t, v in noted.items() if t.startswith("Ranking across datasets"))  # it ranks gtsrb-speech too
