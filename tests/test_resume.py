"""A run finished earlier is skipped; when this version would train it with other parameters (a
default changed, a parameter was added), the skip says so instead of passing old numbers on."""

from __future__ import annotations

import json

from xmbench import api
from xmbench.methods.linear.cca import CCA
from xmbench.options import Profile


def test_skip_warns_when_the_stored_run_had_other_parameters(monkeypatch, tmp_path, feature_cache):
    config = api.RunConfig(methods=("cca",), out=tmp_path, cache_dir=feature_cache, device="cpu")
    [run_id] = api.run_benchmark(config, log=lambda line: None).completed

    lines: list[str] = []
    again = api.run_benchmark(config, log=lines.append)
    assert again.skipped == [run_id] and not [line for line in lines if "WARNING" in line]

    monkeypatch.setattr(CCA, "profiles", {Profile.SMOKE: {"shrinkage": 0.5}})  # an upgrade's new default
    manifest_path = tmp_path / "runs" / run_id / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["method_params"]["n_components"]  # as if the parameter had not existed then
    manifest_path.write_text(json.dumps(manifest))
    lines.clear()
    again = api.run_benchmark(config, log=lines.append)
    assert again.skipped == [run_id]
    [warning] = [line for line in lines if "WARNING" in line]
    assert warning == (f"WARNING {run_id}: stored with other cca parameters than this version's (n_components: not "
                       "recorded -> 10; shrinkage: 0.001 -> 0.5); --force re-runs it with the current ones")
