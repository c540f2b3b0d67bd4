"""A user's own data (``xmbench.data.user``): formats, the validator's lines, fingerprints, and a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from xmbench import api
from xmbench.cli import cli
from xmbench.data import LoadOptions
from xmbench.data.user import UserDataError, from_arrays, read_dataset, resolve_dataset, validate
from xmbench.errors import XmbenchError
from xmbench.testing import planted_pairs


def arrays(n: int = 120, seed: int = 0) -> dict[str, np.ndarray]:
    train, test = planted_pairs(n, 0, 6, 4, 3, 0.5, seed=seed)
    return {"a": train.a, "b": train.b, "y": train.y_a}


def problems(error: pytest.ExceptionInfo) -> list[str]:
    return [line.removeprefix("  - ") for line in str(error.value).splitlines()[1:]]


def test_every_problem_is_one_line_before_anything_runs(tmp_path):
    data = arrays()
    a = data["a"].copy()
    a[5, 1] = np.inf
    np.savez(tmp_path / "bad.npz", a=a, b=data["b"][:-1], y=np.zeros(len(a), int), labels=data["y"])
    with pytest.raises(UserDataError) as error:
        read_dataset(tmp_path / "bad.npz")
    assert problems(error) == [
        "unknown key 'labels' (valid: a, b, y, y_a, y_b, class_names, split, modality_names)",
        "a: 1 row(s) contain NaN or inf",
        "row counts differ: a=120, b=119, labels=120",
        "fewer than 2 classes (1): retrieval mAP needs at least 2",
    ]


@pytest.mark.parametrize(("change", "message"), [
    ({"a": None}, "missing key 'a' (the features or images of modality A)"),
    ({"y": None}, "missing labels: give y (both modalities) or both y_a and y_b"),
    ({"y_a": "y"}, "labels given twice"),
    ({"y": "float"}, "labels of a: expected a 1-D array of integers"),
    ({"a": "3d"}, "a: expected (n, d) features or (n, C, 28, 28) images, got shape (120, 2, 3)"),
    ({"class_names": ["x", "y"]}, "labels run from 0 to 2, but there are 2 class_names"),
    ({"split": "no-test-of-class-2"}, "class(es) with no test item: 2"),
    ({"split": "values"}, "split: values must be 'train' or 'test', got 'dev'"),
    ({"y": "singleton"}, "class(es) with fewer than 2 items cannot be split into train and test: 2"),
    ({"modality_names": ["x", "x"]}, "modality_names: expected two different names"),
])
def test_validator_messages(change, message):
    data = arrays()
    y = data["y"]
    [(key, value)] = change.items()
    replacements = {
        None: None, "y": y, "float": y + 0.5, "3d": data["a"][:, :6].reshape(-1, 2, 3),
        "no-test-of-class-2": np.where(y == 2, "train", np.where(np.arange(len(y)) % 3 == 0, "test", "train")),
        "values": np.array(["train", "dev"] * 60), "singleton": np.r_[y[:-1] % 2, 2],
    }
    data[key] = replacements[value] if isinstance(value, str) or value is None else value
    _, found = validate({k: v for k, v in data.items() if v is not None})
    assert any(message in line for line in found), found


def test_npz_parquet_and_card_folder_give_the_same_data(tmp_path):
    data = arrays()
    split = np.where(np.arange(120) % 4 == 0, "test", "train")
    np.savez(tmp_path / "toy.npz", **data, split=split, class_names=np.array(["p", "q", "r"]))
    frame = pd.DataFrame({**{f"a_{i}": data["a"][:, i] for i in range(6)},
                          **{f"b_{i}": data["b"][:, i] for i in range(4)}, "y": data["y"], "split": split})
    frame.to_parquet(tmp_path / "toy.parquet")
    folder = tmp_path / "card"
    folder.mkdir()
    frame.to_parquet(folder / "features.parquet")
    (folder / "dataset.yaml").write_text(yaml.safe_dump(
        {"data": "features.parquet", "name": "toy", "class_names": ["p", "q", "r"], "modality_names": ["left", "right"]}))
    loaded = {kind: resolve_dataset(str(path)).load(None, LoadOptions())
              for kind, path in (("npz", tmp_path / "toy.npz"), ("parquet", tmp_path / "toy.parquet"), ("card", folder))}
    for kind in ("parquet", "card"):
        np.testing.assert_array_equal(loaded[kind].train.a, loaded["npz"].train.a)
        np.testing.assert_array_equal(loaded[kind].test.y_b, loaded["npz"].test.y_b)
    assert len(loaded["npz"].test) == 30 and loaded["npz"].class_names == ("p", "q", "r")
    assert loaded["parquet"].class_names == ("0", "1", "2")  # no names: the label values name the classes
    assert [s.name for s in loaded["card"].modalities] == ["left", "right"] and loaded["card"].name == "toy"


def test_without_a_split_the_split_is_seeded_and_stratified():
    dataset = from_arrays(**arrays())
    first, again = (dataset.load(None, LoadOptions(data_seed=1)) for _ in range(2))
    other = dataset.load(None, LoadOptions(data_seed=2))
    np.testing.assert_array_equal(first.test.a, again.test.a)
    assert not np.array_equal(first.test.a, other.test.a)
    assert len(first.test) == 36 and sorted(np.bincount(first.test.y_a)) == sorted(np.bincount(other.test.y_a))


def test_the_fingerprint_separates_files_of_one_name(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, seed in ((one, 0), (two, 1)):
        folder.mkdir()
        np.savez(folder / "data.npz", **arrays(seed=seed))
    first, second = read_dataset(one / "data.npz"), read_dataset(two / "data.npz")
    assert first.name == second.name == "data" and first.fingerprint != second.fingerprint
    assert read_dataset(one / "data.npz").fingerprint == first.fingerprint
    keys = [api.RunKey(d.name, "pairs", "cca", 0, "smoke", data_fingerprint=d.fingerprint) for d in (first, second)]
    assert keys[0].run_id != keys[1].run_id


def test_paths_that_are_not_data_are_one_line(tmp_path):
    with pytest.raises(XmbenchError, match="data file .* does not exist"):
        resolve_dataset(str(tmp_path / "missing.npz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(XmbenchError, match="a user data folder needs a dataset.yaml card"):
        resolve_dataset(str(tmp_path / "empty"))
    (tmp_path / "notes.npz").write_text("not an archive")
    with pytest.raises(XmbenchError, match="not an npz archive"):
        resolve_dataset(str(tmp_path / "notes.npz"))
    np.savez(tmp_path / "digits-colors.npz", **arrays())
    with pytest.raises(XmbenchError, match="is a built-in dataset's"):
        resolve_dataset(str(tmp_path / "digits-colors.npz"))


def test_a_user_npz_runs_and_reports(tmp_path, feature_cache):
    np.savez(tmp_path / "toy.npz", **arrays(300))
    out = tmp_path / "results"
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--dataset", str(tmp_path / "toy.npz"), "--methods", "cca,kcca",
                                 "--out", str(out), "--cache-dir", str(feature_cache)])
    assert result.exit_code == 0, result.output
    scores = api.ResultsStore(out).load_scores()
    overall = scores[(scores["metric"] == "mAP") & (scores["class"] == "all") & (scores["task"] == "A->B")]
    [label] = set(scores["dataset"])
    assert label.startswith("toy@") and set(scores["features"]) == {"given"}
    assert (overall["value"] > 0.9).all()  # the planted class signal is found
    report = runner.invoke(cli, ["report", "--out", str(out), "--no-figures"])
    assert report.exit_code == 0, report.output
    assert "toy" in report.output and "kcca" in report.output


def test_an_image_method_on_user_features_says_the_data_has_no_images(tmp_path, feature_cache):
    np.savez(tmp_path / "toy.npz", **arrays(300))
    result = CliRunner().invoke(cli, ["run", "--dataset", str(tmp_path / "toy.npz"), "--methods", "syncgan-image,cca",
                                      "--out", str(tmp_path / "results"), "--cache-dir", str(feature_cache)])
    assert result.exit_code != 0
    assert "syncgan-image needs raw images of both modalities; toy has no image extractor" in result.output
    assert "done toy_pairs_cca" in result.output  # the other method still runs
