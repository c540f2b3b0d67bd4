"""On a CUDA device (skipped without one; ``benchmarks/gpu_check.sh`` runs these): every method
runs the harness on the GPU with its state there, and ``--ensemble`` on CUDA gives the numbers of
separate CUDA runs. The CPU side of each is tested elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.test_ensemble import SEEDS, SUPPORTING, planted_features
from xmbench import api
from xmbench.methods import METHODS
from xmbench.methods.ensemble import run_as_ensemble
from xmbench.options import Modality

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available())")]


def test_every_method_runs_the_harness_on_cuda(tmp_path, feature_cache):
    report = api.run_benchmark(api.RunConfig(methods=("all",), profile="smoke", device="cuda", out=tmp_path / "out",
                                             cache_dir=feature_cache), log=lambda line: None)
    assert not report.failed, report.failed
    assert len(report.completed) == len(METHODS.names())
    for manifest in (tmp_path / "out" / "runs").glob("*/manifest.json"):
        assert json.loads(manifest.read_text())["device"].startswith("cuda"), manifest


@pytest.mark.parametrize("name", SUPPORTING)
def test_an_ensemble_on_cuda_trains_each_member_as_its_separate_cuda_run(name):
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # as on the CPU: differences of algorithm, not of rounding
    try:
        train, test = planted_features(400, seed=0), planted_features(100, seed=1)
        cls = METHODS.get(name)
        alone = [cls(seed=seed, max_updates=30, device="cuda").fit(train) for seed in SEEDS]
        members = [cls(seed=seed, max_updates=30, device="cuda") for seed in SEEDS]
        results = run_as_ensemble([lambda m=m: m.fit(train) for m in members])
        assert all(result is member for result, member in zip(results, members, strict=True)), results
        for separate, member in zip(alone, members, strict=True):
            for modality in Modality:
                np.testing.assert_allclose(member.embed(modality, test.x(modality)),
                                           separate.embed(modality, test.x(modality)), rtol=0, atol=1e-5)
    finally:
        torch.set_default_dtype(before)
