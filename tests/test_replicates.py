"""Seeds as replicates: a seed re-draws the data (split, partners, validation split, extractor) and
the method, every method of one replicate sees identical data, and ``--vary method`` fixes the data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xmbench import api
from xmbench.data import DATASETS, LoadOptions
from xmbench.errors import XmbenchError
from xmbench.results.schema import RunKey
from xmbench.results.store import ResultsStore

KEY = RunKey("digits-colors", "unique", "cca", 0, "smoke")


def test_data_seed_follows_the_replicate_and_never_the_method():
    seeds = {replace(KEY, seed=s).data_seed for s in range(5)}
    assert len(seeds) == 5 and all(0 <= s < 2**31 for s in seeds)
    assert replace(KEY, method="kcca").data_seed == KEY.data_seed
    assert replace(KEY, split_seed=1).data_seed != KEY.data_seed
    # --vary method: every seed shares the split seed's data
    assert {replace(KEY, seed=s, vary="method").data_seed for s in range(5)} == {0}
    assert replace(KEY, seed=3, split_seed=7, vary="method").data_seed == 7


def test_method_seed_is_shared_by_the_methods_of_a_replicate():
    assert replace(KEY, method="kcca").method_seed == KEY.method_seed  # the name no longer enters it
    assert replace(KEY, seed=1).method_seed != KEY.method_seed
    assert replace(KEY, vary="method").method_seed == KEY.method_seed


def test_run_ids_are_unique_across_seeds_and_vary():
    keys = [replace(KEY, seed=s, vary=v) for s in range(3) for v in ("data", "method")]
    assert len({key.run_id for key in keys}) == len(keys)


def test_a_replicate_redraws_the_split_of_a_dataset_without_an_official_one():
    first, second = (DATASETS.get("digits-colors").load(None, LoadOptions(data_seed=s)) for s in (KEY.data_seed, 12345))
    assert len(first.test) == len(second.test)
    assert not np.array_equal(first.test.a, second.test.a)


@pytest.mark.data
def test_a_replicate_keeps_an_official_split(data_root: Path):
    wikipedia = DATASETS.get("wikipedia")
    first, second = (wikipedia.load(None, LoadOptions(data_root=data_root, data_seed=s)) for s in (0, 12345))
    for name in ("train", "test"):
        a, b = getattr(first, name), getattr(second, name)
        np.testing.assert_array_equal(a.a, b.a)
        np.testing.assert_array_equal(a.y_b, b.y_b)


@pytest.fixture(scope="module")
def replicate_runs(tmp_path_factory, feature_cache):
    root = tmp_path_factory.mktemp("replicates")
    config = api.RunConfig(methods=("cca", "kcca"), seeds=(0, 1), out=root, cache_dir=feature_cache, device="cpu")
    report = api.run_benchmark(config, log=lambda line: None)
    assert not report.failed
    return [json.loads(p.read_text()) for p in root.glob("runs/*/manifest.json")], report


def _data_facts(manifest: dict) -> tuple:
    """What a run's data were: features' bytes, feature cache entry, training and validation rows."""
    return (manifest["features"]["sha256"], manifest["features"]["cache_key"],
            manifest["training_data"]["paired_subset_sha256"], manifest["training_data"]["validation"]["pairs_sha256"])


def test_two_methods_of_one_replicate_see_identical_data(replicate_runs):
    manifests, report = replicate_runs
    by_seed: dict[int, list[dict]] = {}
    for manifest in manifests:
        by_seed.setdefault(manifest["seeds"]["replicate"], []).append(manifest)
    assert sorted(by_seed) == [0, 1] and all(len(runs) == 2 for runs in by_seed.values())
    facts = {}
    for seed, (first, second) in by_seed.items():
        assert {first["key"]["method"], second["key"]["method"]} == {"cca", "kcca"}
        assert _data_facts(first) == _data_facts(second)
        assert first["seeds"] == second["seeds"]  # same data seed and method seed
        assert first["seeds"]["data"] == RunKey(**first["key"]).data_seed
        facts[seed] = _data_facts(first)
    # and the two replicates differ (a new split, extractor, validation split); fully paired, both
    # train on every training pair that is not a validation pair
    features, cache_key, subset, validation = (a != b for a, b in zip(facts[0], facts[1], strict=True))
    assert features and cache_key and validation and not subset
    # so CCA, deterministic given its data, now varies across seeds: its interval is no longer ±0
    scores = report.scores
    cca = scores[(scores["method"] == "cca") & (scores["task"] == "A->B") & (scores["class"] == "all")]
    assert cca["value"].nunique() == 2 and set(cca["vary"]) == {"data"}


def test_vary_method_keeps_the_data_of_every_seed(tmp_path, feature_cache):
    config = api.RunConfig(methods=("cca",), seeds=(0, 1), vary="method", out=tmp_path, cache_dir=feature_cache,
                           device="cpu")
    report = api.run_benchmark(config, log=lambda line: None)
    manifests = [json.loads(p.read_text()) for p in tmp_path.glob("runs/*/manifest.json")]
    assert len(manifests) == 2 and len({_data_facts(m) for m in manifests}) == 1
    assert {m["seeds"]["data"] for m in manifests} == {0}
    values = report.scores.query("method == 'cca' and task == 'A->B' and `class` == 'all'")["value"]
    assert values.nunique() == 1  # CCA has no randomness of its own


def test_an_unknown_vary_is_one_clear_error(tmp_path):
    with pytest.raises(XmbenchError, match="invalid vary 'split'; valid: data, method"):
        api.run_benchmark(api.RunConfig(vary="split", out=tmp_path), log=lambda line: None)


def test_stores_written_before_replicates_stay_readable_as_method_seed_runs(tmp_path):
    """A run stored by an earlier version: no vary, space or paired_fraction column."""
    folder = tmp_path / "runs" / "old-run"
    folder.mkdir(parents=True)
    old = pd.DataFrame({"run_id": "old-run", "dataset": "digits-colors", "pairing": "unique", "method": "cca",
                        "seed": [0, 0], "profile": "smoke", "task": ["A->B", "B->A"], "class": "all",
                        "metric": "mAP", "value": [0.9, 0.8]})
    old.to_csv(folder / "scores.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps({"run_id": "old-run", "status": "ok", "key": {}}))
    loaded = ResultsStore(tmp_path).load_scores()
    assert set(loaded["vary"]) == {"method"} and set(loaded["space"]) == {""}
    assert set(loaded["paired_fraction"]) == {1.0} and len(loaded) == 2
