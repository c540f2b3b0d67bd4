"""Synchronous rate (SyncGAN, Sec. 3.4): do pairs generated from the same noise show the same concept?"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from xmbench.eval.recognition import Recognizer, accuracy_rows
from xmbench.options import Modality

SYNCHRONOUS_RATE = "synchronous_rate"
TASK = "A<->B"


def synchronous_rate(
    method, recognizers: dict[Modality, Recognizer], class_names: Sequence[str], n: int, seed: int
) -> pd.DataFrame:
    """Generate ``n`` pairs from identical noise (``method.generate_pairs(n, seed)``), classify each
    side with that modality's recognizer, and report the fraction whose labels agree: overall and
    per class of the A side's predicted label (long format, task "A<->B")."""
    x_a, x_b = method.generate_pairs(n, seed)
    label_a = recognizers[Modality.A].predict(x_a)
    label_b = recognizers[Modality.B].predict(x_b)
    # "agreement with A's label" is accuracy with A's label as the expected class
    return accuracy_rows(TASK, label_b, label_a, class_names, SYNCHRONOUS_RATE)
