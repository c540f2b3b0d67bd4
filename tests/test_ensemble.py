"""``--ensemble``: several seeds of a method trained as one vmapped ensemble give the numbers of
separate runs (exactly the same arithmetic in float64; float32 rounding only in the harness), a
member that fails does not hang the others, and the options are checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.test_bad_input import assert_one_line_error, xmbench
from xmbench import api
from xmbench.errors import XmbenchError
from xmbench.executors import ExecutionConfig, make_executor
from xmbench.methods import METHODS
from xmbench.methods.ensemble import run_as_ensemble
from xmbench.options import Modality
from xmbench.testing import planted_pairs

SUPPORTING = sorted(name for name in METHODS.names() if METHODS.get(name).supports_ensemble)
SEEDS = (0, 1, 2)


def planted_features(n: int, seed: int):
    """Pairs with a planted shared class signal (xmbench.testing's generator)."""
    train, _ = planted_pairs(n, 10, 20, 12, 5, 0.5, seed=seed)
    return train


def test_the_paired_tower_family_supports_ensembles():
    assert SUPPORTING == ["acmr", "contrastive", "contrastive-sup", "corr-ae", "dscmr"]


@pytest.fixture
def float64():
    """In float64 the batched products round like the separate ones to far below float32's
    resolution, so any difference left would be a difference of algorithm, not of rounding."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def assert_members_match_separate_runs(name: str, device: str = "cpu") -> None:
    """Three seeds of ``name`` as one ensemble against the same seeds fitted alone, 30 updates."""
    train, test = planted_features(400, seed=0), planted_features(100, seed=1)
    cls = METHODS.get(name)
    alone = [cls(seed=seed, max_updates=30, device=device).fit(train) for seed in SEEDS]
    members = [cls(seed=seed, max_updates=30, device=device) for seed in SEEDS]
    results = run_as_ensemble([lambda m=m: m.fit(train) for m in members])
    assert all(result is member for result, member in zip(results, members, strict=True)), results
    for separate, member in zip(alone, members, strict=True):
        for modality in Modality:
            np.testing.assert_allclose(member.embed(modality, test.x(modality)),
                                       separate.embed(modality, test.x(modality)), rtol=0, atol=1e-5)
        assert [h["update"] for h in member.history_] == [h["update"] for h in separate.history_]


@pytest.mark.parametrize("name", SUPPORTING)
def test_an_ensemble_trains_each_member_as_its_separate_run(name, float64):
    assert_members_match_separate_runs(name)


def test_members_of_different_settings_are_refused_by_every_member_without_hanging():
    train = planted_features(200, seed=0)
    cls = METHODS.get("contrastive")
    members = [cls(seed=0, max_updates=5), cls(seed=1, max_updates=5, lr=1e-2)]
    results = run_as_ensemble([lambda m=m: m.fit(train) for m in members])
    for result in results:
        assert isinstance(result, XmbenchError)
        assert "one method with one set of parameters (seeds aside) and one budget and class count" in str(result)


def test_a_member_that_fails_before_training_does_not_hold_up_the_others():
    train = planted_features(200, seed=0)
    cls = METHODS.get("corr-ae")
    members = [cls(seed=seed, max_updates=5) for seed in SEEDS]

    def broken():
        raise ValueError("no data for this one")

    results = run_as_ensemble([lambda: members[0].fit(train), broken, lambda: members[2].fit(train)])
    assert results[0] is members[0] and results[2] is members[2]
    assert isinstance(results[1], ValueError)


def config(tmp_path, cache, name: str, execution: ExecutionConfig) -> api.RunConfig:
    return api.RunConfig(methods=("contrastive", "cca", "corr-ae", "dcca"), seeds=SEEDS, profile="smoke",
                         device="cpu", out=tmp_path / name, cache_dir=cache, execution=execution)


def test_the_harness_ensemble_matches_separate_runs_at_one_thread(tmp_path, feature_cache):
    separate = api.run_benchmark(config(tmp_path, feature_cache, "separate", ExecutionConfig(cpus_per_run=1, jobs=1)),
                                 log=lambda line: None)
    ensemble = api.run_benchmark(config(tmp_path, feature_cache, "ensemble",
                                        ExecutionConfig(cpus_per_run=1, ensemble=True)), log=lambda line: None)
    assert not separate.failed and not ensemble.failed and len(ensemble.completed) == 12
    order = ["run_id", "task", "class", "metric"]
    one, other = (r.scores.sort_values(order).reset_index(drop=True) for r in (separate, ensemble))
    retrieval = one["metric"] == "mAP"
    np.testing.assert_allclose(other["value"][retrieval], one["value"][retrieval], rtol=0, atol=1e-5)
    for run_id in ensemble.completed:
        manifest = json.loads((tmp_path / "ensemble" / "runs" / run_id / "manifest.json").read_text())
        trained_together = manifest["key"]["method"] in ("contrastive", "corr-ae")
        assert manifest["execution"].get("ensemble") == (3 if trained_together else None), run_id
        if not trained_together:  # cca and dcca (BatchNorm statistics) train alone: byte-identical
            for name in ("scores.csv", "embeddings.npz"):
                assert (tmp_path / "ensemble" / "runs" / run_id / name).read_bytes() == \
                    (tmp_path / "separate" / "runs" / run_id / name).read_bytes(), (run_id, name)


def test_bad_ensemble_options_are_one_line(monkeypatch, capsys, tmp_path):
    with pytest.raises(XmbenchError, match="--ensemble trains its runs in this process; it cannot be combined"):
        make_executor(ExecutionConfig(jobs=2, ensemble=True), "cpu")
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "contrastive", "--ensemble", "--jobs", "2",
                           "--out", str(tmp_path / "out"))
    assert_one_line_error(code, err, "--ensemble trains its runs in this process")
    assert make_executor(ExecutionConfig(jobs=None, ensemble=True), "cpu").plan_jobs(10, torch.device("cpu")) == 1
