"""Score one fitted method on a test split: retrieval mAP in the right latent space, and recognition."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from xmbench.data.base import PairedSplit
from xmbench.eval.recognition import Recognizer, recognition_accuracy
from xmbench.eval.retrieval import OVERALL, Task, evaluate_retrieval
from xmbench.eval.synchrony import synchronous_rate
from xmbench.options import Modality


def embedding_key(modality: Modality, space: Modality | None) -> str:
    """Name of a stored test embedding: "a" in a shared space, "a@b" for modality a in b's space."""
    return modality.value if space is None else f"{modality.value}@{space.value}"


def embed_split(method, test: PairedSplit) -> dict[str, np.ndarray]:
    """Every embedding retrieval on a split needs: one per modality for shared-space methods, one
    per modality and latent space otherwise (see ``embedding_key``)."""
    spaces = [None] if method.shared_space else list(Modality)
    return {
        embedding_key(m, space): method.embed(m, test.x(m)) if space is None else method.embed_in(space, m, test.x(m))
        for space in spaces
        for m in Modality
    }


def retrieval_scores(
    embeddings: dict[str, np.ndarray], test: PairedSplit, class_names: Sequence[str], *, keep_self: bool = False
) -> pd.DataFrame:
    """The four retrieval tasks from ``embed_split``. Shared-space methods are scored in their one
    space; methods with one latent space per modality per ``Task.space`` (bi-modal in the gallery's
    space, all-modal in the query's)."""
    shared = "a" in embeddings
    groups = [(None, list(Task))] if shared else [(s, [t for t in Task if t.space is s]) for s in Modality]
    frames = []
    for space, tasks in groups:
        emb = {m: embeddings[embedding_key(m, space)] for m in Modality}
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
    synchronous_pairs: tuple[int, int] | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Long table (task, class, metric, value, n_queries) of every metric that applies to ``method``,
    and the test embeddings retrieval was scored on. ``synchronous_pairs``: (n, seed) of the pairs
    the synchronous rate is measured on, for methods that generate pairs."""
    embeddings = embed_split(method, test)
    frames = [retrieval_scores(embeddings, test, class_names, keep_self=keep_self)]
    if recognizers is not None:
        frames.append(recognition_accuracy(method, test, recognizers, class_names))
        if method.can_generate_pairs and synchronous_pairs is not None:
            frames.append(synchronous_rate(method, recognizers, class_names, *synchronous_pairs))
    frames = [frame for frame in frames if not frame.empty]
    table = pd.concat(frames, ignore_index=True)
    table["n_queries"] = table["n_queries"].astype(np.int64)
    return table, embeddings


def validation_scorer(
    split: PairedSplit, class_names: Sequence[str], *, keep_self: bool = False
) -> Callable[[object], dict[str, float]]:
    """Model selection's score of a method's current state: each retrieval task's mAP on the
    validation ``split``, by the code that scores the test split (``embed_split``,
    ``retrieval_scores``), so selection and final scores mean the same thing."""

    def score(method) -> dict[str, float]:
        table = retrieval_scores(embed_split(method, split), split, class_names, keep_self=keep_self)
        overall = table[table["class"] == OVERALL]
        return dict(zip(overall["task"], overall["value"].astype(float), strict=True))

    return score


def needs_recognizers(methods: Sequence[type]) -> bool:
    return any(m.can_translate or m.can_reconstruct or m.can_generate_pairs for m in methods)
