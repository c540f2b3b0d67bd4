"""Is a fitted GAN doing anything? Warnings a run prints and records when its adversarial part was
inert or its latent recovery failed, so an inert GAN is never mistaken for a working one.

- A discriminator is *inert* when its balanced accuracy (mean of its accuracies on real and on
  fake inputs, ``d_acc_real_<name>`` / ``d_acc_fake_<name>`` in the training curve) never exceeds
  0.5 + ``CHANCE_BAND`` in any logged interval of the training: it never told real from fake
  better than chance. That covers one at chance throughout (calling everything real is chance
  too) and one the generators fool completely (below chance: it is always a step behind them).
- A latent recovery *fails* when it explains less than ``MIN_RECOVERY_EV`` of the variance of the
  samples it recovered (``recovery_ev_<modality>`` in the method's extra results): their codes
  describe them no better than half-way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

CHANCE_BAND = 0.05
MIN_RECOVERY_EV = 0.5
REAL, FAKE = "d_acc_real_", "d_acc_fake_"


def inert_discriminators(history: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, float]]:
    """Discriminators never better than chance in any interval that logged them: name -> (lowest,
    highest) balanced accuracy over those intervals."""
    balanced: dict[str, list[float]] = {}
    for record in history:
        for key, value in record.items():
            if key.startswith(REAL) and FAKE + key[len(REAL):] in record:
                balanced.setdefault(key[len(REAL):], []).append((value + record[FAKE + key[len(REAL):]]) / 2)
    return {
        name: (min(values), max(values))
        for name, values in balanced.items()
        if max(values) <= 0.5 + CHANCE_BAND
    }


def gan_health(method_name: str, history: Sequence[Mapping[str, Any]], extras: Mapping[str, float]) -> dict[str, Any]:
    """The manifest's ``health`` entry: inert discriminators, recovery explained variances, and one
    warning line per problem (empty when nothing is wrong or nothing was measured)."""
    inert = inert_discriminators(history)
    recovery = {key.removeprefix("recovery_ev_"): value for key, value in extras.items() if key.startswith("recovery_ev_")}
    warnings = [
        f"{method_name}: discriminator {name} never better than chance in training (balanced accuracy "
        f"{low:.2f}-{high:.2f}): it never told real from fake"
        for name, (low, high) in inert.items()
    ]
    warnings += [
        f"{method_name}: latent recovery of modality {m} explains {ev:.2f} of the variance (< {MIN_RECOVERY_EV}): "
        "its codes describe the samples poorly"
        for m, ev in recovery.items()
        if not (ev >= MIN_RECOVERY_EV) or math.isnan(ev)
    ]
    return {"inert_discriminators": sorted(inert), "recovery_explained_variance": recovery, "warnings": warnings}
