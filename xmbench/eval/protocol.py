"""Score one fitted method on a test split: retrieval mAP (in each latent space, and after translation),
the total canonical correlation of its embeddings, and recognition."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from xmbench.data.base import PairedSplit
from xmbench.eval.correlation import correlation_rows
from xmbench.eval.recognition import Recognizer, recognition_accuracy
from xmbench.eval.retrieval import (
    OVERALL,
    Task,
    TranslationTask,
    evaluate_retrieval,
    retrieval_ap,
    summary_rows,
    zero_rows,
)
from xmbench.eval.synchrony import synchronous_rate
from xmbench.features.extract import Featurizer
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


HEADLINE = ""  # the space column of a task's headline rows (and of every shared-space row)
TABLE = ["task", "space", "class", "metric", "value", "n_queries"]


def space_name(space: Modality) -> str:
    """The space column's value for a modality's latent space: "A" or "B"."""
    return space.value.upper()


def fallback_spaces() -> dict[str, str]:
    """The headline spaces without a validation split: ``Task.space`` of every task."""
    return {task.value: space_name(task.space) for task in Task}


def retrieval_scores(
    embeddings: dict[str, np.ndarray], test: PairedSplit, class_names: Sequence[str], *, keep_self: bool = False,
    spaces: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The four retrieval tasks from ``embed_split``, long format with a ``space`` column.

    Shared-space methods: one set of rows, space "". Methods with one latent space per modality:
    every task in each space (space "A", "B") and the headline rows (space "") copied from the
    space ``spaces`` names for the task (``choose_spaces``; default ``Task.space``, the rule used
    when there is no validation split)."""
    if "a" in embeddings:
        return _in_space(embeddings, None, test, class_names, keep_self).assign(space=HEADLINE)[TABLE]
    both = pd.concat([_in_space(embeddings, s, test, class_names, keep_self).assign(space=space_name(s))
                      for s in Modality], ignore_index=True)
    spaces = spaces or fallback_spaces()
    headline = both[both["space"] == both["task"].map(spaces)].assign(space=HEADLINE)
    order = {task.value: i for i, task in enumerate(Task)}
    table = pd.concat([headline, both], ignore_index=True)[TABLE]
    return table.sort_values("task", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def _in_space(
    embeddings: dict[str, np.ndarray], space: Modality | None, test: PairedSplit, class_names: Sequence[str],
    keep_self: bool,
) -> pd.DataFrame:
    emb = {m: embeddings[embedding_key(m, space)] for m in Modality}
    return evaluate_retrieval(emb[Modality.A], test.y_a, emb[Modality.B], test.y_b, list(class_names), keep_self=keep_self)


def choose_spaces(validation: pd.DataFrame) -> dict[str, str]:
    """Per task, the latent space with the higher overall mAP in ``validation`` (a ``retrieval_scores``
    table of the validation split); ties keep ``Task.space``. Empty for shared-space tables."""
    overall = validation[(validation["class"] == OVERALL) & (validation["space"] != HEADLINE)]
    if overall.empty:
        return {}
    maps = overall.pivot(index="task", columns="space", values="value")
    chosen = {}
    for task in Task:
        fallback = space_name(task.space)
        other = space_name(task.space.other)
        chosen[task.value] = other if maps.loc[task.value, other] > maps.loc[task.value, fallback] else fallback
    return chosen


def headline_maps(table: pd.DataFrame, spaces: dict[str, str] | None = None) -> dict[str, float]:
    """Task -> overall mAP of the headline rows (the space ``spaces`` names, for per-modality spaces)."""
    overall = table[table["class"] == OVERALL]
    if spaces:
        overall = overall[overall["space"] == overall["task"].map(spaces)]
    else:
        overall = overall[overall["space"] == HEADLINE]
    return dict(zip(overall["task"], overall["value"].astype(float), strict=True))


def translation_scores(
    method, test: PairedSplit, class_names: Sequence[str], featurize: Featurizer | None = None
) -> pd.DataFrame:
    """Translation-based retrieval (``TranslationTask``): each source test item, translated into the
    target modality's features, ranked against the target's real test features by cosine similarity;
    AP by the code that scores every task. Methods on raw images translate into images: with
    ``featurize`` (the frozen extractors, ``image_featurizer``) the translated and the real target
    images are both mapped to the target's features and ranked there, the space the feature methods
    are scored in; without it they get no rows. Empty for methods that cannot translate. A task
    whose real target features have an all-zero row gets no rows either: cosine ranking is
    undefined there whatever the method does (e.g. a ReLU extractor mapping one flat colour to the
    zero vector); ``_prepare`` says so in one warning line per such modality."""
    images = method.input_kind != "features"
    if not method.can_translate or (images and featurize is None):
        return pd.DataFrame(columns=TABLE)
    rows = []
    for task in TranslationTask:
        source, target = task.query, task.query.other
        queries, gallery = method.translate(source, test.x(source)), test.x(target)
        if images:
            queries, gallery = featurize(target, queries), featurize(target, gallery)
        if zero_rows(gallery):
            continue
        ap = retrieval_ap(queries, test.y(source), gallery, test.y(target))
        rows += summary_rows(task, ap, test.y(source), list(class_names))
    return pd.DataFrame(rows).assign(space=HEADLINE)[TABLE]


def score_method(
    method,
    test: PairedSplit,
    class_names: Sequence[str],
    recognizers: dict[Modality, Recognizer] | None,
    *,
    keep_self: bool = False,
    synchronous_pairs: tuple[int, int] | None = None,
    validation: PairedSplit | None = None,
    featurize: Featurizer | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, str]]:
    """Long table (task, space, class, metric, value, n_queries) of every metric that applies to
    ``method``, the test embeddings retrieval was scored on, and the headline space per task of a
    method with one latent space per modality (chosen on ``validation`` -- never the test split --
    when given, else ``Task.space``; empty for shared-space methods). ``synchronous_pairs``:
    (n, seed) of the pairs the synchronous rate is measured on, for methods that generate pairs;
    ``featurize``: see ``translation_scores``."""
    spaces = {}
    if not method.shared_space:
        spaces = fallback_spaces() if validation is None else choose_spaces(
            retrieval_scores(embed_split(method, validation), validation, class_names, keep_self=keep_self))
    embeddings = embed_split(method, test)
    frames = [retrieval_scores(embeddings, test, class_names, keep_self=keep_self, spaces=spaces),
              translation_scores(method, test, class_names, featurize), correlation_rows(embeddings, spaces)]
    if recognizers is not None:
        frames.append(recognition_accuracy(method, test, recognizers, class_names))
        if method.can_generate_pairs and synchronous_pairs is not None:
            frames.append(synchronous_rate(method, recognizers, class_names, *synchronous_pairs))
    frames = [frame.assign(space=frame.get("space", HEADLINE)) for frame in frames if not frame.empty]
    table = pd.concat(frames, ignore_index=True)[TABLE]
    table["n_queries"] = table["n_queries"].astype(np.int64)
    return table, embeddings, spaces


def validation_scorer(
    split: PairedSplit, class_names: Sequence[str], *, keep_self: bool = False, featurize: Featurizer | None = None
) -> Callable[[object], dict[str, float]]:
    """Model selection's score of a method's current state: each retrieval task's mAP on the
    validation ``split``, by the code that scores the test split (``embed_split``,
    ``retrieval_scores``), so selection and final scores mean the same thing. For methods with one
    latent space per modality, each task's mAP in the space that scores it best (the rule that
    chooses the headline space, ``choose_spaces``). Translation tasks too when the method selects
    on them (``selection_tasks``) and translates features (or images, with ``featurize``: see
    ``translation_scores``)."""

    def score(method) -> dict[str, float]:
        table = retrieval_scores(embed_split(method, split), split, class_names, keep_self=keep_self)
        maps = headline_maps(table, choose_spaces(table))
        if any(task in set(TranslationTask) for task in getattr(method, "selection_tasks", ())):
            translated = translation_scores(method, split, class_names, featurize)
            overall = translated[(translated["class"] == OVERALL) & (translated["metric"] == "mAP")]
            maps |= dict(zip(overall["task"].astype(str), overall["value"].astype(float), strict=True))
        return maps

    return score


def needs_recognizers(methods: Sequence[type]) -> bool:
    return any(m.can_translate or m.can_reconstruct or m.can_generate_pairs for m in methods)
