"""The retrieval protocol: which queries are ranked against which gallery, and the mAP table.

Relevance is label-based: a gallery item is relevant to a query iff their class labels are equal.
Bi-modal tasks rank one modality against the other (A->B, B->A); all-modal tasks rank against the
concatenated gallery [A items; B items] (A->A+B, B->A+B), where by default the query itself is
excluded from the gallery (legacy tables kept it; ``keep_self=True`` reproduces them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from xmbench.errors import XmbenchError
from xmbench.eval.ap import DEFAULT_CHUNK_SIZE, DEFAULT_THREADS, EmptyTargetAction, chunked_average_precision
from xmbench.options import Modality, StrOption


class Task(StrOption):
    """A retrieval task: query modality -> gallery modality (or both)."""

    A_TO_B = "A->B"
    B_TO_A = "B->A"
    A_TO_AB = "A->A+B"
    B_TO_AB = "B->A+B"

    @property
    def query(self) -> Modality:
        return Modality.A if self.value.startswith("A") else Modality.B

    @property
    def all_modal(self) -> bool:
        return self.value.endswith("A+B")

    @property
    def space(self) -> Modality:
        """The fallback space of methods with one latent space per modality when no validation split
        chooses one (``eval.protocol.choose_spaces``): the gallery modality's space for bi-modal tasks,
        the query's own for all-modal ones."""
        return self.query if self.all_modal else self.query.other


class TranslationTask(StrOption):
    """Translation-based retrieval: the query modality's test items are translated into the other
    modality's features and ranked against its real test features by cosine similarity."""

    A_TO_B = "A=>B"
    B_TO_A = "B=>A"

    query = Task.query


OVERALL = "all"  # the class column of a task's row over all its queries

# Unit vectors are rounded to integers * 2**-QUANT_BITS. A rounded row has integer norm at most
# 2**26 + sqrt(d)/2, so by Cauchy-Schwarz every partial sum of a dot product is an integer below
# 2**53 (for any d < 1e15): the float64 matmul is EXACT whatever the BLAS kernel, blocking, threads
# or query chunking. (A float32 BLAS matmul is not: edge tiles round differently, so identical
# embeddings got different scores and results changed with chunk_size.) Step 1.5e-8.
QUANT_BITS = 26


def zero_rows(x: np.ndarray) -> int:
    """How many rows of ``x`` are all zero: rows cosine similarity is undefined for."""
    return int((~np.asarray(x).any(axis=1)).sum())


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    """Rows scaled to unit L2 norm and rounded to integers * 2**-QUANT_BITS; float64 (n, d) of integers."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise XmbenchError(f"{name} must be a finite 2-D array, got shape {x.shape}")
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    if (norms == 0).any():
        raise XmbenchError(f"{name} has {int((norms == 0).sum())} all-zero rows; cosine similarity is undefined")
    return np.rint(x / norms * 2.0**QUANT_BITS)


def _scores(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Cosine scores (q, n) float32 from ``_unit_rows`` outputs: the exact product, rounded.

    The last mantissa bit is then cleared (resolution 2**-23 relative, still finer than a float32
    matmul's error); the AP kernel stores relevance in that bit and sorts 32-bit keys (2x faster).
    """
    scores = np.multiply(queries @ gallery.T, 2.0 ** (-2 * QUANT_BITS), dtype=np.float32, casting="same_kind")
    scores.view(np.uint32)[...] &= np.uint32(0xFFFFFFFE)
    return scores


def cosine_similarity(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Cosine similarity (q, d) x (n, d) -> (q, n) float32, computed exactly on rows rounded to 2**-26.

    Equal rows give bit-identical scores (see ``QUANT_BITS``), then resolved to 2**-23 relative
    (the float32 with its last mantissa bit cleared, see ``_scores``). All-zero rows raise.
    """
    q, g = _unit_rows(queries, "queries"), _unit_rows(gallery, "gallery")
    if q.shape[1] != g.shape[1]:
        raise XmbenchError(f"queries have dimension {q.shape[1]} but gallery has {g.shape[1]}")
    return _scores(q, g)


def _labels(labels: np.ndarray, n: int, name: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise XmbenchError(f"{name} must be {n} integer labels, got shape {labels.shape} dtype {labels.dtype}")
    return labels


def retrieval_ap(
    query_emb: np.ndarray,
    query_labels: np.ndarray,
    gallery_emb: np.ndarray,
    gallery_labels: np.ndarray,
    *,
    self_index: np.ndarray | None = None,
    empty_target_action: EmptyTargetAction | str = EmptyTargetAction.ERROR,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int = DEFAULT_THREADS,
) -> np.ndarray:
    """Tie-aware AP (q,) of each query (q, d) ranked by cosine similarity against a gallery (n, d).

    Labels are ints; a gallery item is relevant iff its label equals the query's. ``self_index``
    (q,) ints, or None: the gallery position of each query itself, excluded (score -inf, not
    relevant). Scores (as ``cosine_similarity``) exist for ``chunk_size`` queries per thread at a
    time, so memory is O(n_threads * chunk_size * n). ``empty_target_action``: see ``average_precision``.
    """
    queries, gallery = _unit_rows(query_emb, "query_emb"), _unit_rows(gallery_emb, "gallery_emb")
    if queries.shape[1] != gallery.shape[1]:
        raise XmbenchError(f"query_emb has dimension {queries.shape[1]} but gallery_emb has {gallery.shape[1]}")
    q, n = len(queries), len(gallery)
    query_labels = _labels(query_labels, q, "query_labels")
    gallery_labels = _labels(gallery_labels, n, "gallery_labels")
    if self_index is not None:
        self_index = _labels(self_index, q, "self_index")
        if q and (self_index.min() < 0 or self_index.max() >= n):
            raise XmbenchError(f"self_index must lie in [0, {n}), got [{self_index.min()}, {self_index.max()}]")

    def chunk(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        scores = _scores(queries[rows], gallery)
        relevant = gallery_labels[None, :] == query_labels[rows, None]
        if self_index is not None:
            local = np.arange(len(scores))
            scores[local, self_index[rows]] = -np.inf
            relevant[local, self_index[rows]] = False
        return scores, relevant

    # Our threads already keep every core busy; BLAS threads inside each would oversubscribe them
    # (measured 1.5x slower). threadpoolctl's limit is process-wide while it lasts.
    with threadpool_limits(1, user_api="blas") if n_threads > 1 else contextlib.nullcontext():
        return chunked_average_precision(
            chunk, q, n, empty_target_action=empty_target_action, chunk_size=chunk_size, n_threads=n_threads
        )


def summary_rows(task: StrOption, ap: np.ndarray, labels: np.ndarray, class_names: list[str]) -> list[dict]:
    """One "all" row and one row per class present among the queries; NaN APs (skipped) are left out."""
    groups = [(OVERALL, np.ones(len(ap), bool))] + [(class_names[c], labels == c) for c in np.unique(labels)]
    rows = []
    for name, mask in groups:
        scored = ap[mask & ~np.isnan(ap)]
        value = float(scored.mean()) if scored.size else float("nan")
        rows.append({"task": task.value, "class": name, "metric": "mAP", "value": value, "n_queries": scored.size})
    return rows


def evaluate_retrieval(
    emb_a: np.ndarray,
    y_a: np.ndarray,
    emb_b: np.ndarray,
    y_b: np.ndarray,
    class_names: list[str],
    *,
    keep_self: bool = False,
    tasks: Iterable[Task | str] = tuple(Task),
    empty_target_action: EmptyTargetAction | str = EmptyTargetAction.ERROR,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int = DEFAULT_THREADS,
) -> pd.DataFrame:
    """mAP and per-class mAP of each task, long format: columns task, class, metric, value, n_queries.

    Labels are ints 0..k-1 indexing ``class_names``. Per task: a row with class "all" (mean AP
    over the task's queries) and one per class present among the queries (mean AP of that class's
    queries). ``n_queries`` counts the APs averaged (queries skipped as NaN are not counted).
    """
    tasks = [Task.parse(t) for t in tasks]
    class_names = list(class_names)
    y_a, y_b = _labels(y_a, len(emb_a), "y_a"), _labels(y_b, len(emb_b), "y_b")
    for name, y in (("y_a", y_a), ("y_b", y_b)):
        if y.size and (y.min() < 0 or y.max() >= len(class_names)):
            raise XmbenchError(f"{name} must lie in [0, {len(class_names)}) to index class_names")
    side = {Modality.A: (emb_a, y_a), Modality.B: (emb_b, y_b)}
    rows = []
    for task in tasks:
        (query, labels), self_index = side[task.query], None
        if task.all_modal:
            gallery, gallery_labels = np.concatenate([emb_a, emb_b]), np.concatenate([y_a, y_b])
            if not keep_self:
                self_index = np.arange(len(query)) + (0 if task.query is Modality.A else len(emb_a))
        else:
            gallery, gallery_labels = side[task.query.other]
        ap = retrieval_ap(
            query, labels, gallery, gallery_labels, self_index=self_index,
            empty_target_action=empty_target_action, chunk_size=chunk_size, n_threads=n_threads,
        )
        rows += summary_rows(task, ap, labels, class_names)
    return pd.DataFrame(rows, columns=["task", "class", "metric", "value", "n_queries"])
