"""The cost estimate ``xmbench run`` prints before it starts: hand-computed schedules, the budget
bound, unmeasured methods named, the table rebuilt from real manifests, and the line's place."""

from __future__ import annotations

import json

import pytest

from tests.test_bad_input import xmbench
from xmbench.estimate import RunCost, duration, estimate, longest_first, measure_costs, read_costs, run_cost
from xmbench.methods import METHODS
from xmbench.results.schema import RunKey

TABLE = {
    "measured_on": "on a test table",
    "costs": {"quick": {
        "cca": {"fit_s": 1.0, "evaluate_s": 1.0, "updates": None, "budget": None, "shared_s": 5.0},
        "cmgans": {"fit_s": 30.0, "evaluate_s": 2.0, "updates": 300.0, "budget": 3000.0, "shared_s": 5.0},
        "dcca": {"fit_s": 8.0, "evaluate_s": 2.0, "updates": 50.0, "budget": 100.0, "shared_s": 5.0},
    }},
}


def key(method: str, seed: int = 0, profile: str = "quick") -> RunKey:
    return RunKey("digits-colors", "unique", method, seed, profile)


def test_a_run_costs_its_measured_fit_and_at_most_its_whole_budget():
    cost = run_cost(key("cmgans"), TABLE)
    assert cost.typical_s == 32.0
    assert cost.at_most_s == 30.0 * 10 + 2.0  # 300 of 3,000 updates measured: ten times the fit at most
    assert run_cost(key("cca"), TABLE).at_most_s == 2.0  # closed form: no budget to run out
    assert run_cost(key("cmgans", profile="paper"), TABLE) is None


def test_the_wall_time_schedules_each_replicate_longest_first_on_the_jobs():
    keys = [key("cca"), key("dcca"), key("cmgans")]
    # one job: 2 + 10 + 32, plus the replicate's shared stages once
    assert estimate(keys, 1, TABLE).typical_s == pytest.approx(44.0 + 5.0)
    # two jobs, longest first: cmgans (32) on one, dcca then cca (10 + 2) on the other
    assert estimate(keys, 2, TABLE).typical_s == pytest.approx(32.0 + 5.0)
    assert estimate(keys, 2, TABLE).at_most_s == pytest.approx(302.0 + 5.0)
    # two replicates run one after the other, each paying its shared stages
    two = keys + [key("cca", seed=1), key("dcca", seed=1), key("cmgans", seed=1)]
    assert estimate(two, 2, TABLE).typical_s == pytest.approx(2 * 37.0)


def test_unmeasured_methods_are_named_not_guessed():
    result = estimate([key("cca"), key("vae-assoc"), key("cca", profile="paper")], 1, TABLE)
    assert result.unmeasured == ("vae-assoc (quick)", "cca (paper)")
    assert result.typical_s == pytest.approx(7.0)
    line = result.line()
    assert line.startswith("estimate: 3 run(s), 1 at a time; about 7 s (at most 7 s if no run stops early)")
    assert "not counted, no measured cost: vae-assoc (quick), cca (paper)" in line
    assert line.endswith("from costs measured on a test table")
    assert estimate([key("vae-assoc")], 1, TABLE).line() == \
        "estimate: 1 run(s), 1 at a time; not counted, no measured cost: vae-assoc (quick)"


def test_runs_with_settings_are_counted_at_their_profile_defaults_and_say_so():
    tuned = RunKey("digits-colors", "unique", "cmgans", 0, "quick", settings=(("max_updates", 10),))
    result = estimate([tuned, key("cca")], 1, TABLE)
    assert result.typical_s == pytest.approx(34.0 + 5.0)
    assert "; 1 run(s) with --set values counted as at their profile's defaults" in result.line()


def test_longest_first_puts_the_dearest_runs_first_and_unmeasured_last():
    keys = [key("vae-assoc"), key("cca"), key("cmgans"), key("dcca")]
    assert [k.method for k in longest_first(keys, TABLE)] == ["cmgans", "dcca", "cca", "vae-assoc"]


@pytest.mark.parametrize(("seconds", "text"), [(0.2, "1 s"), (42, "42 s"), (95, "2 min"), (3600, "60 min"),
                                               (7200, "2.0 h")])
def test_durations_read_naturally(seconds, text):
    assert duration(seconds) == text


def test_the_shipped_table_covers_every_built_in_method_at_quick_and_smoke():
    costs = read_costs()["costs"]
    for profile in ("quick", "smoke"):
        assert sorted(costs[profile]) == sorted(METHODS.names()), profile
        for method, entry in costs[profile].items():
            cost = RunCost(**entry)
            assert cost.fit_s > 0 and cost.evaluate_s > 0 and cost.at_most_s >= cost.typical_s, (profile, method)


def test_the_line_comes_before_any_run_and_the_table_is_rebuilt_from_manifests(monkeypatch, capsys, tmp_path,
                                                                                feature_cache):
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca,vae-assoc", "--profile", "smoke",
                           "--jobs", "1", "--out", str(tmp_path / "out"), "--cache-dir", str(feature_cache))
    assert code == 0, err
    lines = err.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith("estimate: 2 run(s), 1 at a time; about ")]
    first_work = min(i for i, line in enumerate(lines) if line.startswith(("supervised features", "done ")))
    assert at < first_work
    manifests = [json.loads(p.read_text()) for p in (tmp_path / "out" / "runs").glob("*/manifest.json")]
    table = measure_costs(manifests, "here")
    vae = next(m for m in manifests if m["key"]["method"] == "vae-assoc")
    entry = table["costs"]["smoke"]["vae-assoc"]
    assert entry["fit_s"] == round(vae["timings"]["fit_s"], 3)
    assert entry["updates"] == sum(p["updates"] - p["first_update"] for p in vae["training"]["phases"]) > 0
    assert entry["budget"] == sum(p["budget"] for p in vae["training"]["phases"])
    assert table["costs"]["smoke"]["cca"]["updates"] is None
