"""``--ensemble``: the runs of one method that differ only in their seed train as one ensemble
(``xmbench.methods.ensemble``: stacked weights, one vmapped step per update), in this process, one
thread per run; every other run (methods without ensemble support, cascades, a run with no twin)
runs on its own. Members come from every replicate of the invocation, so all replicates' data and
features are loaded before training starts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import torch

from xmbench.errors import first_line
from xmbench.methods.ensemble import run_as_ensemble
from xmbench.results.schema import RunKey
from xmbench.runner import RunInputs, RunOutcome, run_one

Member = tuple[RunKey, RunInputs]


def ensembles(runs: Sequence[Member]) -> list[list[Member]]:
    """``runs`` grouped into ensembles (lists of one are runs trained alone), in first-seen order."""
    groups: dict[object, list[Member]] = {}
    for key, inputs in runs:
        cls = inputs.methods.get(key.method)
        joins = getattr(cls, "supports_ensemble", False) and len(key.modalities.split(",")) <= 2
        groups.setdefault(dataclasses.replace(key, seed=0) if joins else key, []).append((key, inputs))
    return list(groups.values())


def run_ensemble(members: Sequence[Member], device: torch.device, describe: dict) -> Iterator[RunOutcome]:
    """Each member's outcome, as ``run_one`` gives it; a member's failure is its outcome."""
    if len(members) == 1:
        [(key, inputs)] = members
        yield run_one(key, inputs, device, describe)
        return
    results = run_as_ensemble([lambda key=key, inputs=inputs: run_one(key, inputs, device, describe)
                               for key, inputs in members])
    for (key, _), result in zip(members, results, strict=True):
        if isinstance(result, RunOutcome):
            yield result
        else:
            yield RunOutcome.failed(key, f"ensemble: {type(result).__name__}: {first_line(result)}", execution=describe)
