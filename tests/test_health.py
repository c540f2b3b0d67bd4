"""GAN health: a discriminator never better than chance in training and a latent recovery that
explains under half the variance are flagged (hand cases), and a real run records the
diagnostics in training.csv, the manifest and its output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xmbench import api
from xmbench.methods.gan.health import CHANCE_BAND, MIN_RECOVERY_EV, gan_health, inert_discriminators


def record(**accuracies: float) -> dict:
    return {"phase": "train", "update": 0, **accuracies}


def test_a_discriminator_never_better_than_chance_is_inert_one_that_ever_learned_is_not():
    history = [
        record(d_acc_real_x=0.52, d_acc_fake_x=0.50, d_acc_real_y=0.9, d_acc_fake_y=0.18, d_acc_real_z=0.3,
               d_acc_fake_z=0.02),  # y: .54, z: fooled (.16)
        record(d_acc_real_x=1.00, d_acc_fake_x=0.00, d_acc_real_y=0.9, d_acc_fake_y=0.9),  # x calls all real
        record(d_acc_real_x=0.46, d_acc_fake_x=0.49, d_acc_real_z=0.5, d_acc_fake_z=0.1),
    ]
    inert = inert_discriminators(history)
    assert set(inert) == {"x", "z"}
    assert inert["x"] == pytest.approx((0.475, 0.51)) and inert["z"] == pytest.approx((0.16, 0.3))
    first = inert_discriminators(history[:1])
    assert set(first) == {"x", "y", "z"} and first["y"] == pytest.approx((0.54, 0.54))
    assert inert_discriminators([record(d_acc_real_x=0.5 + 3 * CHANCE_BAND, d_acc_fake_x=0.5)]) == {}  # .575
    assert inert_discriminators([{"phase": "train", "d_loss": 1.0}]) == {}  # no accuracies: nothing to judge


def test_health_warns_once_per_problem_and_stays_quiet_when_all_is_well():
    inert = [record(d_acc_real_inter_a=0.5, d_acc_fake_inter_a=0.5)]
    health = gan_health("m", inert, {"recovery_ev_a": 0.31, "recovery_ev_b": 0.8, "rank": 3.0})
    assert health["inert_discriminators"] == ["inter_a"]
    assert health["recovery_explained_variance"] == {"a": 0.31, "b": 0.8}
    assert len(health["warnings"]) == 2
    assert health["warnings"][0].startswith("m: discriminator inter_a never better than chance in training")
    assert "modality a explains 0.31 of the variance (< 0.5)" in health["warnings"][1]
    quiet = gan_health("m", [record(d_acc_real_a=0.9, d_acc_fake_a=0.8)], {"recovery_ev_a": MIN_RECOVERY_EV})
    assert quiet["warnings"] == [] and quiet["inert_discriminators"] == []
    assert len(gan_health("m", [], {"recovery_ev_a": float("nan")})["warnings"]) == 1


@pytest.mark.parametrize("method", ["syncgan", "cmgans"])
def test_a_gan_run_records_its_diagnostics_and_warns(tmp_path, feature_cache, method):
    lines: list[str] = []
    config = api.RunConfig(methods=(method,), seeds=(0,), device="cpu", out=tmp_path, cache_dir=feature_cache)
    report = api.run_benchmark(config, log=lines.append)
    (run_id,) = report.completed
    run = tmp_path / "runs" / run_id
    metrics = set(pd.read_csv(run / "training.csv")["metric"])
    manifest = json.loads((run / "manifest.json").read_text())
    if method == "syncgan":
        assert {"d_acc_real_a", "d_acc_fake_b", "val_s_accuracy", "val_recovery_ev_a", "val_recovery_ev_b"} <= metrics
        model = report.scores[report.scores["task"] == "model"].set_index("metric")["value"]
        assert set(model.index) >= {"recovery_ev_a", "recovery_ev_b", "s_heldout_accuracy"}
        health = manifest["health"]
        assert health["recovery_explained_variance"] == pytest.approx({"a": model["recovery_ev_a"], "b": model["recovery_ev_b"]})
    else:
        assert {"d_acc_real_inter_a", "d_acc_fake_intra_b"} <= metrics
        health = manifest.get("health", {"warnings": []})
    # every warning the manifest records is printed, once, naming the run
    assert [line for line in lines if line.startswith("WARNING")] == [f"WARNING {run_id}: {w}" for w in health["warnings"]]


def test_a_run_that_keeps_its_initial_state_says_it_is_not_trained(tmp_path, feature_cache, monkeypatch):
    # validation scores that only fall: model selection keeps update 0's state
    from xmbench.methods.base import CrossModalMethod

    falling = iter(range(10_000))
    monkeypatch.setattr(CrossModalMethod, "_validate", lambda self: (-float(next(falling)), {}))
    lines: list[str] = []
    config = api.RunConfig(methods=("cmgans",), seeds=(0,), device="cpu", out=tmp_path, cache_dir=feature_cache)
    report = api.run_benchmark(config, log=lines.append)
    (run_id,) = report.completed
    manifest = json.loads((tmp_path / "runs" / run_id / "manifest.json").read_text())
    assert manifest["health"]["not_trained"] is True
    facts = report.scores[report.scores["task"] == "training"].set_index("metric")["value"]
    assert facts["trained"] == 0.0 and facts["converged"] == 0.0 and facts["selected_update"] == 0.0
    assert any(line.startswith(f"WARNING {run_id}: cmgans: phase") and "kept its initial state" in line for line in lines)
