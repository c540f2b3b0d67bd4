"""On a CUDA device (skipped without one; ``benchmarks/gpu_check.sh`` runs these): every method
runs the harness on the GPU with its state there, and ``--ensemble`` on CUDA gives the numbers of
separate CUDA runs. The CPU side of each is tested elsewhere."""

from __future__ import annotations

import json

import pytest
import torch

from tests.test_ensemble import SUPPORTING, assert_members_match_separate_runs, float64  # noqa: F401 (a fixture)
from xmbench import api
from xmbench.methods import METHODS

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
def test_an_ensemble_on_cuda_trains_each_member_as_its_separate_cuda_run(name, float64):
    assert_members_match_separate_runs(name, device="cuda")
