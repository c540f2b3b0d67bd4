"""Numbers the source papers report on settings xmbench runs, for "paper vs xmbench" tables.

"VAE-associator paper" is "Cross-modal Variational Auto-encoder with Distributed Latent Spaces
and Associators" (../shared/papers/001). The papers measure on raw images with their own
recognition networks; xmbench generates frozen CNN features and classifies those, so agreement
is expected in ranking and rough size, not to the decimal.
"""

from __future__ import annotations

import pandas as pd

from xmbench.eval.recognition import CEILING, RECOGNITION
from xmbench.results.schema import ALL_CLASSES

VAE_ASSOC = "VAE-associator paper"
PAPER_VALUES = pd.DataFrame(
    [
        # mnist-fashion: A = MNIST, B = Fashion-MNIST
        ("mnist-fashion", "vae-assoc", "B->A", RECOGNITION, 0.8202, f"{VAE_ASSOC}, Table 1 (F-MNIST -> MNIST)"),
        ("mnist-fashion", "vae-assoc", "A->B", RECOGNITION, 0.9426, f"{VAE_ASSOC}, Table 1 (MNIST -> F-MNIST)"),
        ("mnist-fashion", "vae-assoc", "A->A", RECOGNITION, 0.9612, f"{VAE_ASSOC}, Table 2 (MNIST VAE)"),
        ("mnist-fashion", "vae-assoc", "B->B", RECOGNITION, 0.8054, f"{VAE_ASSOC}, Table 2 (F-MNIST VAE)"),
        ("mnist-fashion", "classifier", "A", CEILING, 0.9797, f"{VAE_ASSOC}, Table 2 (MNIST recognition net)"),
        ("mnist-fashion", "classifier", "B", CEILING, 0.8922, f"{VAE_ASSOC}, Table 2 (F-MNIST recognition net)"),
    ],
    columns=["dataset", "method", "task", "metric", "paper", "source"],
)


def paper_comparison(scores: pd.DataFrame) -> pd.DataFrame:
    """Every paper value whose setting is in ``scores``, next to xmbench's mean over seeds
    (fully paired runs only; classifier ceilings are shared by all methods of a dataset)."""
    rows = scores[(scores["class"] == ALL_CLASSES) & (scores["paired_fraction"] == 1.0)]
    ours = rows.assign(method=rows["method"].where(rows["metric"] != CEILING, "classifier"))
    ours = ours.groupby(["dataset", "method", "task", "metric"], as_index=False)["value"].mean()
    table = PAPER_VALUES.merge(ours.rename(columns={"value": "xmbench"}), on=["dataset", "method", "task", "metric"])
    return table.set_index(["dataset", "method", "task", "metric"])[["paper", "xmbench", "source"]]
