"""What the store-based figures read: one seed's test embeddings, with the names from its manifest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EmbeddingRun:
    run_id: str
    method: str
    seed: int
    embeddings: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]  # as ResultsStore.load_embeddings
    modalities: dict[str, str]  # "a"/"b" -> the dataset's names
    classes: list[str]
    spaces: dict[str, str]  # task -> headline space ("A"/"B") of a method with one space per modality


def embedding_runs(store, scores: pd.DataFrame) -> list[EmbeddingRun]:
    """One run per method of ``scores`` (one setting and fraction), all of the smallest seed that has
    stored embeddings, in method order; empty when no run stored any (runs from before embeddings
    were stored)."""
    runs = scores[["run_id", "method", "seed"]].drop_duplicates().sort_values(["seed", "method"])
    loaded: dict[int, list[EmbeddingRun]] = {}
    for run_id, method, seed in runs.itertuples(index=False):
        if loaded and seed != min(loaded):
            break  # a later seed: the smallest seed with embeddings is complete
        stored = store.load_embeddings(run_id)
        if stored is None:
            continue
        manifest = store.read_run_manifest(run_id) or {}
        dataset = manifest.get("dataset", {})
        modalities = dataset.get("modalities", {"a": "A", "b": "B"})
        n_classes = int(max(stored[1].max(), stored[2].max())) + 1
        classes = dataset.get("classes") or [str(c) for c in range(n_classes)]
        spaces = manifest.get("retrieval_spaces", {}).get("chosen", {})
        loaded.setdefault(int(seed), []).append(EmbeddingRun(run_id, method, int(seed), stored, modalities, classes, spaces))
    return loaded[min(loaded)] if loaded else []
