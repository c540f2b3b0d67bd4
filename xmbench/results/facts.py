"""Run facts: one row per finished run, read from its manifest, of what its scores depend on beyond
the key columns and what it cost: the implementation version, the seeds drawn, the feature source's
hash, where it ran, its timings and size. The report's cost columns, the columnar export
(``xmbench export``) and result sets merged from several machines read them; the scores table
carries them as columns (``with_facts``), one value per run repeated on each of its rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

UNRECORDED = "unrecorded"  # a fact a run stored before xmbench recorded it lacks
# column -> pandas dtype (nullable, so a fact an older run lacks is <NA>, never 0 or "")
RUN_FACTS = {
    "method_name": "string",  # the registered method the ``method`` label (settings, version) is of
    "method_version": "string",  # "1", ..., or "unrecorded" (runs stored before versions)
    "data_seed": "Int64",
    "method_seed": "Int64",
    "split_seed": "Int64",
    "converged": "boolean",  # the run's training/converged score; <NA> without one (closed form)
    "updates": "Int64",  # the run's training/updates score; <NA> for closed-form methods
    "fit_s": "Float64",  # fitting, validation during training included
    "validation_s": "Float64",
    "evaluate_s": "Float64",
    "features_s": "Float64",
    "trainable_parameters": "Int64",  # CrossModalMethod.trainable_parameters; <NA> before it was recorded
    "device": "string",
    "host": "string",
    "torch_threads": "Int64",
    "feature_sha256": "string",
    "data_sha256": "string",
    "git_commit": "string",
    "xmbench_version": "string",
    "torch_version": "string",
    "created": "string",
}


def run_facts(manifest: dict[str, Any]) -> dict[str, Any]:
    """The ``RUN_FACTS`` of one run's manifest (None where it lacks one)."""
    key, timings = manifest.get("key", {}), manifest.get("timings", {})
    seeds, execution = manifest.get("seeds", {}), manifest.get("execution", {})
    version = key.get("method_version")
    return {
        "method_name": key.get("method"),
        "method_version": UNRECORDED if version is None else str(version),
        "data_seed": seeds.get("data"),
        "method_seed": seeds.get("method"),
        "split_seed": key.get("split_seed"),
        **{name: timings.get(name) for name in ("fit_s", "validation_s", "evaluate_s", "features_s")},
        "trainable_parameters": manifest.get("trainable_parameters"),
        "device": manifest.get("device"),
        "host": execution.get("host"),
        "torch_threads": execution.get("torch_threads"),
        "feature_sha256": manifest.get("features", {}).get("sha256"),
        "data_sha256": manifest.get("dataset", {}).get("sha256"),
        "git_commit": manifest.get("git_commit"),
        "xmbench_version": manifest.get("versions", {}).get("xmbench"),
        "torch_version": manifest.get("versions", {}).get("torch"),
        "created": manifest.get("created"),
    }


FROM_SCORES = ("converged", "updates")  # facts the scores already hold (task "training"): read, not copied


def facts_table(manifests: list[dict[str, Any]]) -> pd.DataFrame:
    """``run_id`` and the manifest facts (``RUN_FACTS`` but ``FROM_SCORES``) of each manifest."""
    columns = [c for c in RUN_FACTS if c not in FROM_SCORES]
    rows = [{"run_id": m["run_id"], **run_facts(m)} for m in manifests]
    return pd.DataFrame(rows, columns=["run_id", *columns]).astype({c: RUN_FACTS[c] for c in columns})


def with_facts(scores: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with each run's ``RUN_FACTS`` as columns (a fact a run lacks is <NA>)."""
    kept = scores.drop(columns=[c for c in RUN_FACTS if c in scores])
    training = kept[(kept["task"] == "training") & kept["metric"].isin(FROM_SCORES)]
    from_scores = training.pivot_table(index="run_id", columns="metric", values="value", aggfunc="first")
    facts = facts.merge(from_scores.reindex(columns=list(FROM_SCORES)).reset_index(), on="run_id", how="left")
    facts["converged"] = facts["converged"].map({1.0: True, 0.0: False})
    merged = kept.merge(facts, on="run_id", how="left", validate="many_to_one")
    return merged.astype({c: RUN_FACTS[c] for c in RUN_FACTS})
