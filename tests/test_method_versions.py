"""Implementation versions: a built-in method whose constructor defaults or profiles change must
bump its ``version`` (``CrossModalMethod.version``), or stored runs of the old implementation would
be skipped and pooled as if they were the new one.

``method_versions.json`` is the committed snapshot: per method, its version, its constructor's
defaults and its profiles. After a deliberate change, bump the method's ``version`` and rewrite the
snapshot with ``python tests/test_method_versions.py``.
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from xmbench.methods import METHODS
from xmbench.results.schema import RunKey
from xmbench.results.store import ResultsStore

SNAPSHOT = Path(__file__).with_name("method_versions.json")


def declared(cls) -> dict:
    """What a version vouches for: the constructor's defaults and the profiles, as JSON values."""
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                if name != "self" and p.default is not p.empty}
    profiles = {str(getattr(profile, "value", profile)): values for profile, values in cls.profiles.items()}
    return json.loads(json.dumps({"defaults": defaults, "profiles": profiles}, sort_keys=True, default=repr))


def snapshot() -> dict:
    return {name: {"version": METHODS.get(name).version, **declared(METHODS.get(name))}
            for name in METHODS.names() if METHODS.origin(name) == "xmbench"}


def problems(recorded: dict, now: dict) -> list[str]:
    """Why ``now`` (``snapshot()``) does not match the committed snapshot; empty when it does."""
    out = [] if set(now) == set(recorded) else [
        f"methods added or removed ({', '.join(sorted(set(now) ^ set(recorded)))}): rewrite the snapshot"]
    for name in sorted(set(now) & set(recorded)):
        facts, old = now[name], recorded[name]
        changed = [part for part in ("defaults", "profiles") if facts[part] != old[part]]
        if facts["version"] == old["version"] and changed:
            out.append(f"{name}: its {' and '.join(changed)} changed but its version is still {facts['version']}; "
                       "bump `version` in its class, then rewrite the snapshot")
        elif facts["version"] < old["version"]:
            out.append(f"{name}: version went down from {old['version']} to {facts['version']}")
        elif facts["version"] > old["version"]:
            out.append(f"{name}: version bumped to {facts['version']}; rewrite the snapshot to record it")
    return out


def test_every_builtin_method_matches_the_snapshot_of_its_version():
    found = problems(json.loads(SNAPSHOT.read_text()), snapshot())
    assert not found, "\n".join(found) + "\n(rewrite with `python tests/test_method_versions.py`)"


def test_the_guard_fails_on_a_changed_profile_until_the_version_is_bumped(monkeypatch):
    recorded = json.loads(SNAPSHOT.read_text())
    cca = METHODS.get("cca")
    quick = next(p for p in cca.profiles if str(getattr(p, "value", p)) == "quick")
    monkeypatch.setitem(cca.profiles, quick, {**cca.profiles[quick], "n_components": 3})
    assert problems(recorded, snapshot()) == [
        f"cca: its profiles changed but its version is still {cca.version}; bump `version` in its class, "
        "then rewrite the snapshot"]
    monkeypatch.setattr(cca, "version", cca.version + 1)  # subclasses (kcca) inherit it: they run its code
    heirs = [n for n in METHODS.names() if issubclass(METHODS.get(n), cca)]
    assert problems(recorded, snapshot()) == [f"{n}: version bumped to {cca.version}; rewrite the snapshot to record it"
                                              for n in heirs]
    recorded |= {n: snapshot()[n] for n in heirs}  # the rewritten snapshot
    assert problems(recorded, snapshot()) == []


def test_a_changed_constructor_default_counts_too(monkeypatch):
    recorded = json.loads(SNAPSHOT.read_text())

    class Wider(METHODS.get("dcca")):
        def __init__(self, out_dim: int = 11, **kwargs):  # another default, same version
            super().__init__(out_dim=out_dim, **kwargs)

    changed = snapshot() | {"dcca": {"version": Wider.version, **declared(Wider)}}
    assert problems(recorded, changed)[0].startswith("dcca: its defaults changed")


def _store_with(root: Path, versions: list[int | None]) -> pd.DataFrame:
    store = ResultsStore(root)
    for seed, version in enumerate(versions):
        key = RunKey("digits-colors", "unique", "cca", seed, "smoke", method_version=version)
        scores = pd.DataFrame({"run_id": key.run_id, "dataset": "digits-colors", "pairing": "unique",
                               "method": key.method_label, "seed": seed, "vary": "data", "profile": "smoke",
                               "paired_fraction": 1.0, "features": "supervised", "task": ["A->B"], "space": "",
                               "class": "all", "metric": "mAP", "value": 0.5})
        store.write_run(key, scores, None, {"run_id": key.run_id, "status": "ok", "key": asdict(key)})
    return store.load_scores()


def test_versions_are_labels_and_run_ids(tmp_path):
    current = METHODS.get("cca").version
    keys = [RunKey("digits-colors", "unique", "cca", 0, "smoke", method_version=v) for v in (None, current, current + 1)]
    assert len({key.run_id for key in keys}) == 3  # another version is another run, never skipped as done
    assert RunKey("digits-colors", "unique", "cca", 0, "smoke").run_id == keys[0].run_id  # old ids kept
    assert [key.label_for(current) for key in keys] == [
        "cca[version=unrecorded]", "cca", f"cca[version={current + 1}]"]
    # settings and version together, and a method this code does not know keeps what it recorded
    assert RunKey("d", "p", "cca", 0, "smoke", settings=(("n_components", 5),), method_version=current).label_for(
        current + 1) == f"cca[n_components=5,version={current}]"
    assert RunKey("d", "p", "mine", 0, "smoke", method_version=2).label_for(None) == "mine[version=2]"
    # a store holding runs stored before versions and runs of today's: two labels, never one mean
    scores = _store_with(tmp_path, [None, current])
    assert sorted(scores["method"]) == ["cca", "cca[version=unrecorded]"]


def test_compare_names_a_version_difference(tmp_path):
    from xmbench.compare import compare_sides, read_side

    _store_with(tmp_path / "old", [None, None])  # stored before versions
    _store_with(tmp_path / "new", [METHODS.get("cca").version] * 2)
    row = compare_sides(read_side(tmp_path / "old"), read_side(tmp_path / "new")).table.iloc[0]
    assert row["method"] == "cca" and row["settings"] == "old cca[version=unrecorded]; new cca"


if __name__ == "__main__":  # rewrite the snapshot after a deliberate change (and a version bump)
    SNAPSHOT.write_text(json.dumps(snapshot(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT} ({len(snapshot())} methods)", file=sys.stderr)
