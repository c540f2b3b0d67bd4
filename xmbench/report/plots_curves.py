"""Curves: precision-recall from stored test embeddings, and GAN training losses and discriminator
accuracies per logging interval."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from xmbench.eval.protocol import embedding_key
from xmbench.eval.retrieval import Task, cosine_similarity
from xmbench.methods.gan.health import FAKE as FAKE_ACCURACY, REAL as REAL_ACCURACY
from xmbench.options import Modality
from xmbench.report.plots import (
    figure_legend, method_palette, new_figure, setting_label, subplots, t_interval, top_fraction,
)
from xmbench.report.plots_data import embedding_runs

RECALL_LEVELS = np.linspace(0.0, 1.0, 101)
GAN_LOSSES = {"g_loss": "generator loss", "d_loss": "discriminator loss"}
BALANCED_ACCURACY = "d_balanced_accuracy"
VALIDATION_MAP = "val_map"  # the training curve's selection score of phases scored on retrieval
CURVE_COLUMNS = 4  # panels per row of the learning-curve figure


class PRCurve(NamedTuple):
    levels: np.ndarray  # recall levels
    precision: np.ndarray  # interpolated precision at each level, mean over queries with a relevant item
    ap: np.ndarray  # (q,) non-interpolated AP of each query from the same ranking; NaN without a relevant item


def precision_recall(
    query_emb: np.ndarray,
    query_labels: np.ndarray,
    gallery_emb: np.ndarray,
    gallery_labels: np.ndarray,
    *,
    self_index: np.ndarray | None = None,
    levels: np.ndarray = RECALL_LEVELS,
    chunk_size: int = 256,
    seed: int = 0,
) -> PRCurve:
    """Precision-recall of queries ranked by cosine similarity against a gallery, as ``retrieval_ap``
    ranks them (relevance = same label; ``self_index`` items are excluded).

    Interpolated precision at recall r is the best precision at any rank whose recall is >= r.
    Tied scores are ordered at random (one fixed-seed shuffle of the gallery before a stable sort),
    so the mean over queries estimates the expectation over tie orderings the harness's AP uses;
    without ties ``ap`` equals ``retrieval_ap``.
    """
    query_emb, query_labels = np.asarray(query_emb), np.asarray(query_labels)
    gallery_labels = np.asarray(gallery_labels)
    n = len(gallery_labels)
    shuffle = np.random.default_rng(seed).permutation(n)
    gallery_emb, gallery_labels = np.asarray(gallery_emb)[shuffle], gallery_labels[shuffle]
    if self_index is not None:
        self_index = np.argsort(shuffle)[np.asarray(self_index)]
    totals, count = np.zeros(len(levels)), 0
    aps = np.full(len(query_labels), np.nan)
    ranks = np.arange(1, n + 1)
    for start in range(0, len(query_labels), chunk_size):
        rows = slice(start, start + chunk_size)
        scores = cosine_similarity(query_emb[rows], gallery_emb)
        relevant = gallery_labels[None, :] == query_labels[rows, None]
        if self_index is not None:
            local = np.arange(len(scores))
            scores[local, self_index[rows]] = -np.inf
            relevant[local, self_index[rows]] = False
        order = _descending_order(scores)
        hits = np.take_along_axis(relevant, order, axis=1)
        found = hits.cumsum(axis=1)
        n_relevant = found[:, -1]
        keep = n_relevant > 0
        hits, found, n_relevant = hits[keep], found[keep], n_relevant[keep]
        precision = found / ranks
        aps[np.arange(len(query_labels))[rows][keep]] = (precision * hits).sum(axis=1) / n_relevant
        best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        # first rank reaching each recall level; rows are offset by 2 so one sorted search does all
        offset = 2.0 * np.arange(len(found))[:, None]
        recall = (found / n_relevant[:, None] + offset).ravel()
        first = np.searchsorted(recall, (levels[None, :] - 1e-9 + offset).ravel()).reshape(len(found), -1)
        first -= n * np.arange(len(found))[:, None]
        totals += np.take_along_axis(best_after, first, axis=1).sum(axis=0)
        count += len(found)
    return PRCurve(np.asarray(levels), totals / max(count, 1), aps)


def _descending_order(scores: np.ndarray) -> np.ndarray:
    """Each row's positions by descending float32 score, ties by position: a stable argsort, done as a
    plain sort of (score key << 32 | position) words, twice as fast."""
    u = (scores + np.float32(0)).view(np.uint32).astype(np.uint64)  # + 0 turns -0.0 into +0.0
    low = np.uint64(0xFFFFFFFF)
    ascending = np.where(u >> np.uint64(31), ~u & low, u | np.uint64(0x80000000))
    packed = ((low - ascending) << np.uint64(32)) | np.arange(scores.shape[1], dtype=np.uint64)
    packed.sort(axis=1)
    return (packed & low).astype(np.intp)


def task_curve(
    embeddings: dict[str, np.ndarray], y_a: np.ndarray, y_b: np.ndarray, task: Task, spaces: dict[str, str] | None = None
) -> PRCurve:
    """The PR curve of one retrieval task, in the space of its headline score: the shared space, or
    for one latent space per modality the one ``spaces`` names ("A"/"B", the run's manifest), else
    ``Task.space``."""
    space = None if "a" in embeddings else Modality.parse((spaces or {}).get(task.value, task.space.value).lower())

    def emb(m: Modality) -> np.ndarray:
        return embeddings[embedding_key(m, space)]

    labels = {Modality.A: y_a, Modality.B: y_b}
    query, query_labels = emb(task.query), labels[task.query]
    if not task.all_modal:
        return precision_recall(query, query_labels, emb(task.query.other), labels[task.query.other])
    offset = 0 if task.query is Modality.A else len(y_a)
    return precision_recall(
        query, query_labels, np.concatenate([emb(Modality.A), emb(Modality.B)]), np.concatenate([y_a, y_b]),
        self_index=np.arange(len(query)) + offset,
    )


def pr_curves_figure(store, scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """Interpolated precision against recall, a panel per task, a line per method (one seed)."""
    runs = embedding_runs(store, top_fraction(scores))
    if not runs:
        return None
    palette = palette or method_palette([r.method for r in runs])
    names = runs[0].modalities
    fig = new_figure(10, 8.6)
    axes = subplots(fig, 2, 2, sharex=True, sharey=True)
    for ax, task in zip(axes, Task, strict=True):
        for run in runs:
            embeddings, y_a, y_b = run.embeddings
            curve = task_curve(embeddings, y_a, y_b, task, run.spaces)
            ax.plot(curve.levels, curve.precision, color=palette[run.method], label=run.method, linewidth=1.4)
        query, gallery = task.value.split("->")
        gallery = " + ".join(names.get(m.lower(), m) for m in gallery.split("+"))
        ax.set(title=f"{task.value}: {names.get(query.lower(), query)} -> {gallery}", xlim=(0, 1), ylim=(0, 1.02))
    for ax in axes[2:]:
        ax.set_xlabel("recall")
    for ax in axes[::2]:
        ax.set_ylabel("interpolated precision")
    figure_legend(fig, axes, "method")
    fig.suptitle(f"Precision-recall, seed {runs[0].seed} — {setting_label(scores)}")
    return fig


def loss_curves_figure(store, scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """Generator and discriminator loss, and the discriminators' balanced accuracy (mean over a
    run's discriminators of their accuracy on real and on fake inputs; 0.5 = chance, dashed), against
    updates of every GAN method (one with a ``d_loss``), mean over seeds with a 95% CI band."""
    training = _setting_training(store, scores)
    if training.empty:
        return None
    gan_runs = training.loc[training["metric"] == "d_loss", "run_id"].unique()
    training = training[training["run_id"].isin(gan_runs)]
    curves = pd.concat([training[training["metric"].isin(list(GAN_LOSSES))], _balanced_accuracy(training)])
    if curves.empty:
        return None
    methods = sorted(curves["method"].unique())
    palette = palette or method_palette(methods)
    few_points = curves["update"].nunique() <= 20
    panels = {**GAN_LOSSES, BALANCED_ACCURACY: "discriminator balanced accuracy"}
    fig = new_figure(15, 4.6)
    axes = subplots(fig, 1, len(panels))
    for ax, (metric, label) in zip(axes, panels.items(), strict=True):
        sns.lineplot(
            curves[curves["metric"] == metric], x="update", y="value", hue="method", hue_order=methods,
            palette=palette, errorbar=t_interval, marker="o" if few_points else None, ax=ax,
        )
        ax.set(title=label, xlabel="update", ylabel=f"{label} (interval mean)")
    axes[-1].axhline(0.5, color="grey", linestyle="--", linewidth=1)
    figure_legend(fig, axes, "method")
    fig.suptitle(f"GAN training losses and discriminator accuracy — {setting_label(scores)}")
    return fig


def _balanced_accuracy(training: pd.DataFrame) -> pd.DataFrame:
    """Per run and update, the mean over discriminators of (accuracy on real + on fake) / 2."""
    real = training[training["metric"].str.startswith(REAL_ACCURACY)]
    fake = training[training["metric"].str.startswith(FAKE_ACCURACY)]
    if real.empty or fake.empty:
        return pd.DataFrame(columns=training.columns)
    keys = ["run_id", "method", "update"]
    real = real.assign(name=real["metric"].str.removeprefix(REAL_ACCURACY))
    fake = fake.assign(name=fake["metric"].str.removeprefix(FAKE_ACCURACY))
    both = real.merge(fake[[*keys, "name", "value"]], on=[*keys, "name"], suffixes=("", "_fake"))
    both["value"] = (both["value"] + both["value_fake"]) / 2
    return both.groupby(keys, as_index=False)["value"].mean().assign(metric=BALANCED_ACCURACY)


def learning_curves_figure(store, scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """Validation mAP against updates, a panel per trained method and a line per run, each run's
    selected update marked (a dot; a cross where the run did not converge).

    Runs are drawn one by one, not averaged: their curves are not aligned (early stopping ends them at
    different updates, and a two-phase method's second phase starts where its first one stopped), so a
    mean with a band at each update would mix different numbers of runs."""
    training = _setting_training(store, scores)
    curves = training[training["metric"] == VALIDATION_MAP] if not training.empty else training
    if curves.empty:
        return None
    methods = sorted(curves["method"].unique())
    palette = palette or method_palette(methods)
    cols = min(len(methods), CURVE_COLUMNS)
    rows = -(-len(methods) // cols)
    fig = new_figure(2.9 * cols, 2.3 * rows + 0.6)
    axes = subplots(fig, rows, cols, sharey=True)
    facts = scores[scores["task"] == "training"].pivot_table(index="run_id", columns="metric", values="value")
    for ax, method in zip(axes, methods, strict=False):
        for run_id, curve in curves[curves["method"] == method].groupby("run_id"):
            curve = curve.sort_values("update")
            ax.plot(curve["update"], curve["value"], color=palette[method], linewidth=1.1, alpha=0.8)
            _mark_selected(ax, curve, facts.loc[run_id] if run_id in facts.index else None, palette[method])
        ax.set(title=method, ylim=(0, 1.02))
        ax.set_xlabel("update", fontsize="small")
    for ax in axes[len(methods):]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("validation mAP")
    fig.suptitle(f"Learning curves — {setting_label(scores)}")
    return fig


def _mark_selected(ax, curve: pd.DataFrame, facts: pd.Series | None, colour) -> None:
    """A dot at the run's selected update (the state model selection kept), a cross if the run did not
    converge; nothing for runs without a selected update (no validation)."""
    if facts is None or pd.isna(facts.get("selected_update")):
        return
    selected = curve[curve["update"] == facts["selected_update"]]
    if selected.empty:
        return
    converged = facts.get("converged", 1.0) == 1.0
    ax.scatter(selected["update"], selected["value"], color=colour, zorder=3, marker="o" if converged else "x",
               s=28, edgecolor="black" if converged else None, linewidth=0.6)


def _setting_training(store, scores: pd.DataFrame) -> pd.DataFrame:
    """The training curves of this setting's runs (largest paired fraction)."""
    scores = top_fraction(scores)
    training = store.load_training()
    if training.empty or "update" not in training:
        return pd.DataFrame()
    labels = scores.drop_duplicates("run_id").set_index("run_id")["method"]
    training = training[training["run_id"].isin(labels.index)]
    # the label the tables give each run (settings, version), never the bare name of its key
    return training.assign(method=training["run_id"].map(labels))
