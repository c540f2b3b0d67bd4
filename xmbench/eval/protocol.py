"""Score one fitted method on a test split: retrieval mAP in the right latent space, and recognition."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xmbench.data.base import PairedSplit
from xmbench.eval.recognition import Recognizer, recognition_accuracy
from xmbench.eval.retrieval import Task, evaluate_retrieval
from xmbench.options import Modality


def retrieval_scores(method, test: PairedSplit, class_names: Sequence[str], *, keep_self: bool = False) -> pd.DataFrame:
    """The four retrieval tasks. Shared-space methods embed once; methods with one latent space per
    modality are scored per ``Task.space`` (bi-modal in the gallery's space, all-modal in the query's)."""
    if method.shared_space:
        groups = [(None, list(Task))]
    else:
        groups = [(space, [task for task in Task if task.space is space]) for space in Modality]
    frames = []
    for space, tasks in groups:
        emb = {m: method.embed_in(space, m, test.x(m)) if space else method.embed(m, test.x(m)) for m in Modality}
        frames.append(evaluate_retrieval(
            emb[Modality.A], test.y_a, emb[Modality.B], test.y_b, list(class_names), keep_self=keep_self, tasks=tasks,
        ))
    order = {task.value: i for i, task in enumerate(Task)}
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values("task", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def score_method(
    method,
    test: PairedSplit,
    class_names: Sequence[str],
    recognizers: dict[Modality, Recognizer] | None,
    *,
    keep_self: bool = False,
) -> pd.DataFrame:
    """Long table (task, class, metric, value, n_queries) of every metric that applies to ``method``."""
    frames = [retrieval_scores(method, test, class_names, keep_self=keep_self)]
    if recognizers is not None:
        frames.append(recognition_accuracy(method, test, recognizers, class_names))
    frames = [frame for frame in frames if not frame.empty]
    table = pd.concat(frames, ignore_index=True)
    table["n_queries"] = table["n_queries"].astype(np.int64)
    return table


def needs_recognizers(methods: Sequence[type]) -> bool:
    return any(m.can_translate or m.can_reconstruct for m in methods)
