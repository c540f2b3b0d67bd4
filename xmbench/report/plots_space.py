"""A 2-D map (PCA) of each method's common space: test items of both modalities, coloured by class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA

from xmbench.report.plots import new_figure, setting_label, subplots, top_fraction
from xmbench.report.plots_data import embedding_runs

POINTS_PER_MODALITY = 200  # a readable scatter, a small PNG and SVG; the same items in every panel
MARKERS = {"a": "o", "b": "^"}
# B drawn over A, larger and outlined: in some datasets (colours) all of a class's items coincide
STYLE = {
    "a": {"s": 10, "alpha": 0.55, "linewidths": 0},
    "b": {"s": 36, "alpha": 0.9, "edgecolors": "black", "linewidths": 0.5},
}


def map_space(embeddings: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, str]:
    """(A items, B items, space note): the shared space, or B's space for methods with one per modality."""
    if "a" in embeddings:
        return embeddings["a"], embeddings["b"], ""
    return embeddings["a@b"], embeddings["b@b"], " (B's space)"


def project(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA to 2-D of both modalities' L2-normalised rows (retrieval ranks by cosine similarity):
    (A points, B points, explained variance ratios)."""
    both = np.concatenate([a, b]).astype(np.float64)
    both /= np.maximum(np.linalg.norm(both, axis=1, keepdims=True), 1e-12)
    pca = PCA(n_components=2, random_state=0).fit(both)
    points = pca.transform(both)
    return points[: len(a)], points[len(a):], pca.explained_variance_ratio_


def space_map_figure(store, scores: pd.DataFrame) -> Figure | None:
    """A panel per method (one seed): PCA of the test embeddings, colour = class, marker = modality."""
    runs = embedding_runs(store, top_fraction(scores))
    if not runs:
        return None
    classes, names = runs[0].classes, runs[0].modalities
    colours = sns.color_palette("tab10" if len(classes) <= 10 else "husl", len(classes))
    _, y_a, y_b = runs[0].embeddings
    rng = np.random.default_rng(0)
    picks = {m: np.sort(rng.permutation(len(y))[:POINTS_PER_MODALITY]) for m, y in (("a", y_a), ("b", y_b))}
    cols = min(4, len(runs))
    rows = -(-len(runs) // cols)
    fig = new_figure(3.3 * cols + 1.8, 3.2 * rows + 0.6)
    axes = subplots(fig, rows, cols)
    for ax, run in zip(axes, runs, strict=False):
        embeddings, y_a, y_b = run.embeddings
        a, b, note = map_space(embeddings)
        points_a, points_b, ratio = project(a, b)
        for modality, points, y in (("a", points_a, y_a), ("b", points_b, y_b)):
            chosen = picks[modality]
            ax.scatter(
                points[chosen, 0], points[chosen, 1], c=[colours[c] for c in y[chosen]], marker=MARKERS[modality],
                rasterized=True, **STYLE[modality],  # hundreds of points: pixels inside the SVG
            )
        ax.set(title=f"{run.method}{note}", xticks=[], yticks=[])
        ax.set_xlabel(f"PC1 ({ratio[0]:.0%})", fontsize=8)
        ax.set_ylabel(f"PC2 ({ratio[1]:.0%})", fontsize=8)
    for ax in axes[len(runs):]:
        ax.set_visible(False)
    handles = [Line2D([], [], marker="s", linestyle="", color=c, label=name) for c, name in zip(colours, classes)]
    handles += [
        Line2D([], [], marker=MARKERS[m], linestyle="", color="0.3", label=f"{m.upper()}: {names.get(m, m)}")
        for m in ("a", "b")
    ]
    fig.legend(handles=handles, loc="outside right center", title="class / modality", frameon=False)
    fig.suptitle(f"Common space, PCA of test embeddings, seed {runs[0].seed} — {setting_label(scores)}")
    return fig
