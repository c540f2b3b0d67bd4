"""Figures built from the long results table (and, for curves and maps, from the results store).

Every figure is a ``matplotlib.figure.Figure`` made without pyplot, so no global figure state is
touched and nothing needs a screen. Each figure function covers one *setting* (dataset, pairing,
profile; see ``settings``) and returns None when its data is absent. Means are over seeds with
t-based 95% confidence intervals (``t_interval``), the same intervals the tables use.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from PIL import Image

from xmbench.eval.recognition import CEILING, RECOGNITION
from xmbench.eval.retrieval import Task
from xmbench.files import atomic_write_bytes
from xmbench.options import FeatureSource, Profile
from xmbench.report.stats import mean_ci
from xmbench.results.schema import ALL_CLASSES, headline, with_legacy_columns

SETTING = ["dataset", "pairing", "profile", "features", "vary"]
METHOD_SEEDS_ONLY = "method seeds only"  # the label of --vary method runs: the data were fixed
TASKS = [task.value for task in Task]
STYLE = "whitegrid"
DPI = 150
PNG_DPI, PNG_COLOURS = 90, 64  # the PNGs (embedded in the HTML page) are for screens; SVGs are for papers


@dataclass(frozen=True)
class FigureFile:
    name: str
    title: str
    png: Path
    svg: Path
    caption: str


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """(low, high) of the t-based 95% confidence interval of the mean, as the tables report it
    (``stats.mean_ci``); a single value gives (v, v). Seaborn's ``errorbar`` takes it as is."""
    mean, half, _ = mean_ci(values)
    half = 0.0 if np.isnan(half) else half
    return mean - half, mean + half


def method_palette(methods: Sequence[str]) -> dict[str, tuple]:
    """One fixed colour per method name (sorted), so a method has the same colour in every figure."""
    names = sorted(set(methods))
    colours = sns.color_palette("tab10") + [(0.0, 0.0, 0.0)] + sns.color_palette("Dark2")[1:]
    if len(names) > len(colours):
        colours = sns.color_palette("husl", len(names))
    return dict(zip(names, colours, strict=False))


def settings(scores: pd.DataFrame) -> Iterator[tuple[tuple[str, ...], pd.DataFrame]]:
    """(dataset, pairing, profile[, "<source> features"][, "method seeds only"]) and its headline rows,
    in sorted order; the feature source is named unless it is the implicit one (supervised, given)."""
    for (dataset, pairing, profile, features, vary), rows in headline(with_legacy_columns(scores)).groupby(SETTING, sort=True):
        source = [] if FeatureSource.parse(features).implicit else [f"{features} features"]
        yield (dataset, pairing, profile, *source, *([METHOD_SEEDS_ONLY] if vary == "method" else [])), rows


def setting_label(scores: pd.DataFrame) -> str:
    first = with_legacy_columns(scores.iloc[:1]).iloc[0]
    dataset, pairing, profile, features = first["dataset"], first["pairing"], first["profile"], first["features"]
    vary = f" / {METHOD_SEEDS_ONLY}" if first["vary"] == "method" else ""
    source = "" if FeatureSource.parse(features).implicit else f" / {features} features"
    return f"{dataset} / {pairing} / {profile}{source}{vary}" + profile_caveat(profile)


def profile_caveat(profile: str) -> str:
    """" (smoke: CI-sized, not converged)" for smoke results, so no figure passes them off as findings."""
    caveat = Profile.parse(profile).caveat if profile in {p.value for p in Profile} else ""
    return f" ({caveat})" if caveat else ""


def top_fraction(scores: pd.DataFrame) -> pd.DataFrame:
    """Rows of the largest paired fraction present (1.0 for a fully paired benchmark)."""
    return scores[scores["paired_fraction"] == scores["paired_fraction"].max()]


def fraction_note(scores: pd.DataFrame) -> str:
    """The paired fraction a figure of ``top_fraction`` rows shows: named whenever it is not the only,
    fully paired one, so a sweep's figures never pass for its other fractions."""
    fractions = sorted(scores["paired_fraction"].unique(), reverse=True)
    if len(fractions) == 1:
        return "" if fractions[0] == 1.0 else f" Paired fraction {fractions[0]:g}."
    return (f" Paired fraction {fractions[0]:g}, the largest of the sweep ({', '.join(f'{f:g}' for f in fractions)}); "
            "the paired-fraction figure shows every fraction.")


def seeds_note(frame: pd.DataFrame, by: str = "method") -> str:
    counts = frame.groupby(by)["seed"].nunique()
    low, high = int(counts.min()), int(counts.max())
    seeds = f"{low}" if low == high else f"{low}-{high}"
    return f"Mean over {seeds} seed(s); error bars are t-based 95% confidence intervals over seeds (none for one seed)."


def new_figure(width: float, height: float) -> Figure:
    with sns.axes_style(STYLE):  # the style context restores matplotlib's settings on exit
        return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def subplots(fig: Figure, rows: int, cols: int, **kwargs) -> np.ndarray:
    with sns.axes_style(STYLE):  # axes take their style when created
        return np.atleast_1d(fig.subplots(rows, cols, squeeze=False, **kwargs)).ravel()


def figure_legend(fig: Figure, axes, title: str | None) -> None:
    """One legend for the whole figure, below the panels (above them it collides with the suptitle
    under constrained layout), from the first axes that has one."""
    handles, labels = next(((h, lab) for h, lab in (ax.get_legend_handles_labels() for ax in axes) if h), ([], []))
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if handles:
        fig.legend(handles, labels, title=title, loc="outside lower center", ncol=legend_columns(fig, labels),
                   frameon=False)


def legend_columns(fig: Figure, labels: Sequence[str]) -> int:
    """As many columns as fit the figure's width (about 0.09 inch per character plus the marker)."""
    entry = 0.7 + 0.09 * max(map(len, labels))
    return int(max(1, min(len(labels), fig.get_figwidth() // entry)))


def run_average_map(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its mAP averaged over the four retrieval tasks (column ``value``)."""
    rows = scores[(scores["metric"] == "mAP") & (scores["class"] == ALL_CLASSES) & scores["task"].isin(TASKS)]
    keys = ["run_id", *SETTING[:3], "paired_fraction", "method", "seed"]
    return rows.groupby(keys, as_index=False)["value"].mean()


def per_class_map_figure(scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """Per-class mAP bars of one setting: a panel per task, classes on x, a bar per method."""
    scores = top_fraction(scores)
    rows = scores[(scores["metric"] == "mAP") & (scores["class"] != ALL_CLASSES) & scores["task"].isin(TASKS)]
    if rows.empty:
        return None
    tasks = [t for t in TASKS if t in set(rows["task"])]
    methods = sorted(rows["method"].unique())
    palette = palette or method_palette(methods)
    classes = list(pd.unique(rows["class"]))
    fig = new_figure(max(9.0, 0.11 * len(methods) * len(classes) + 2), 2.6 * len(tasks) + 0.8)
    axes = subplots(fig, len(tasks), 1, sharex=True, sharey=True)
    for ax, task in zip(axes, tasks, strict=True):
        sns.barplot(
            rows[rows["task"] == task], x="class", y="value", hue="method", order=classes, hue_order=methods,
            palette=palette, errorbar=t_interval, err_kws={"linewidth": 0.8}, capsize=0.1, ax=ax,
        )
        ax.set(title=f"{task}", ylabel="mAP", xlabel="", ylim=(0, 1.05))
    axes[-1].set_xlabel("class of the query")
    for label in axes[-1].get_xticklabels():
        label.set_rotation(30 if max(map(len, classes)) > 6 else 0)
    figure_legend(fig, axes, "method")
    fig.suptitle(f"Per-class mAP — {setting_label(scores)}")
    return fig


def ranking_figure(scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """Methods of one setting ranked by their mAP averaged over the four tasks, with 95% CIs."""
    runs = run_average_map(top_fraction(scores))
    if runs.empty:
        return None
    means = runs.groupby("method")["value"].mean().sort_values()  # best at the top of a horizontal plot
    intervals = {method: t_interval(runs.loc[runs["method"] == method, "value"]) for method in means.index}
    palette = palette or method_palette(means.index)
    fig = new_figure(7.5, 0.45 * len(means) + 1.4)
    ax = subplots(fig, 1, 1)[0]
    for y, (method, mean) in enumerate(means.items()):
        low, high = intervals[method]
        ax.errorbar(
            mean, y, xerr=[[mean - low], [high - mean]], fmt="o", color=palette[method], capsize=4, markersize=6,
        )
        ax.annotate(f"{mean:.3f}", (high, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(range(len(means)), means.index)
    low, high = min(lo for lo, _ in intervals.values()), max(hi for _, hi in intervals.values())
    ax.set_xlim(max(0.0, low - 0.03), min(1.0, high + 0.04))
    ax.set(xlabel="mAP averaged over the four retrieval tasks", ylabel="method")
    ax.set_title(f"Methods ranked by average mAP — {setting_label(scores)}")
    return fig


def fraction_figure(scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """Average mAP and recognition accuracy (per cross-modal direction) against the paired fraction."""
    if scores["paired_fraction"].nunique() < 2:
        return None
    panels = [("mAP averaged over the four tasks", run_average_map(scores), None, "mAP")]
    recognition = scores[(scores["metric"] == RECOGNITION) & (scores["class"] == ALL_CLASSES)]
    ceilings = scores[(scores["metric"] == CEILING) & (scores["class"] == ALL_CLASSES)]
    for direction in ("A->B", "B->A"):
        rows = recognition[recognition["task"] == direction]
        ceiling = ceilings.loc[ceilings["task"] == direction[-1], "value"].mean()
        if not rows.empty:
            panels.append((f"recognition accuracy {direction}", rows, ceiling, "accuracy"))
    palette = palette or method_palette(scores["method"].unique())
    fractions = sorted(scores["paired_fraction"].unique())
    fig = new_figure(4.6 * len(panels), 4.4)
    axes = subplots(fig, 1, len(panels))
    for ax, (label, rows, ceiling, ylabel) in zip(axes, panels, strict=True):
        sns.lineplot(
            rows, x="paired_fraction", y="value", hue="method", hue_order=sorted(rows["method"].unique()),
            palette=palette, errorbar=t_interval, marker="o", ax=ax,
        )
        if ceiling is not None and np.isfinite(ceiling):
            ax.axhline(ceiling, color="0.4", linestyle="--", linewidth=1, label="classifier on real data")
        ax.set_xscale("log")
        ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
        ax.minorticks_off()
        ax.set(title=label, xlabel="paired fraction of the training data (log scale)", ylabel=ylabel)
    all_handles = {}
    for ax in axes:
        all_handles |= dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(all_handles.values(), all_handles.keys(), loc="outside lower center",
               ncol=legend_columns(fig, list(all_handles)), frameon=False)
    fig.suptitle(f"Effect of the paired fraction — {setting_label(scores)}")
    return fig


def save_figure(fig: Figure, folder: Path, name: str) -> tuple[Path, Path]:
    """Write ``name``.png and ``name``.svg; fixed SVG ids and no date, so re-runs give identical files.
    The PNG is drawn at ``PNG_DPI`` and reduced to a palette of ``PNG_COLOURS`` colours (a plot has
    few): a third of the bytes, so the self-contained HTML page stays small."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    with matplotlib.rc_context({"svg.hashsalt": "xmbench"}):
        # "tight" keeps a legend wider than the panels whole
        drawn = io.BytesIO()
        fig.savefig(drawn, format="png", dpi=PNG_DPI, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(svg, bbox_inches="tight", metadata={"Date": None})
    image = Image.open(drawn).convert("RGB").quantize(PNG_COLOURS, method=Image.Quantize.MEDIANCUT,
                                                     dither=Image.Dither.NONE)
    pixels = io.BytesIO()
    image.save(pixels, format="PNG", optimize=True)
    atomic_write_bytes(png, lambda handle: handle.write(pixels.getvalue()))
    return png, svg


def slug(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(str(p) for p in parts)).strip("-")


TITLES = {
    "per_class_map": "Per-class mAP",
    "ranking": "Methods ranked by average mAP",
    "cost": "Average mAP against fit time",
    "paired_fraction": "mAP and recognition against the paired fraction",
    "loss_curves": "GAN generator and discriminator losses",
    "learning_curves": "Validation mAP during training (learning curves)",
    "pr_curves": "Precision-recall curves",
    "common_space": "2-D map of the common space",
}
CAPTIONS = {
    "per_class_map": "Per-class mAP of each retrieval task: bars are methods, grouped by the query's class.",
    "ranking": "Each method's mAP averaged over the four retrieval tasks (A->B, B->A, A->A+B, B->A+B), best "
    "at the top; the number is the mean.",
    "cost": "Each method's mAP averaged over the four retrieval tasks against the wall-clock seconds its `fit` took "
    "(validation during training included; log scale), on the device in the title. Filled markers joined by the "
    "dashed step line: the Pareto front, methods no other method beats on both mean mAP and mean fit time (read "
    "off the means, not a test); hollow: the others. Fit times from different machines are not comparable.",
    "paired_fraction": "Average mAP over the four tasks and recognition accuracy of generated samples "
    "(A->B, B->A) against the fraction of training pairs kept paired (log scale); dashed: the target "
    "modality's classifier on real test data. Lines are means over seeds, bands t-based 95% CIs.",
    "loss_curves": "Mean generator loss (weighted sum of reconstruction, semantic and adversarial terms) and "
    "discriminator loss (sum of the intra- and inter-modality discriminators) over each logging interval "
    "(every eval_every updates) of every method trained adversarially, against updates; lines are means "
    "over seeds, bands t-based 95% CIs.",
    "learning_curves": "Validation mAP (mean of the four retrieval tasks on the validation pairs, never the "
    "test split) against training updates, a panel per trained method and a line per run (seed); for "
    "two-phase methods the phase that links the modalities, which starts where the first phase stopped. "
    "Dots mark each run's selected update (model selection keeps that state), crosses runs that did not "
    "converge (the budget ran out while the curve was still rising).",
    "pr_curves": "Interpolated precision (best precision at any rank reaching the recall) at 101 recall "
    "levels, mean over queries, for the smallest seed with stored test embeddings (in the title); cosine "
    "similarity, relevance = same class, the query itself excluded from all-modal galleries, each task in "
    "the space the harness scores it in. Runs without stored embeddings are left out. A flat curve means "
    "a class's gallery items coincide (e.g. identical colour images): a query finds all of them at once.",
    "common_space": "PCA to two dimensions of the L2-normalised test embeddings of both modalities (a "
    "random {points} per modality, the same items in every panel), colour = class, marker = modality, for "
    "the smallest seed with stored embeddings (in the title). Methods with one latent space per modality "
    "are shown in modality B's space, marked \"(B's space)\".",
}


def make_figures(store, scores: pd.DataFrame, folder: Path) -> list[FigureFile]:
    """Every figure of every setting in ``scores`` (runs outside ``scores`` are ignored), saved under
    ``folder`` as PNG and SVG. Figures whose data is absent (e.g. no stored embeddings, one paired
    fraction, no GAN method) are skipped."""
    # the curve and map modules build on this one's helpers, so they are imported here
    from xmbench.report.plots_cost import cost_figure
    from xmbench.report.plots_curves import learning_curves_figure, loss_curves_figure, pr_curves_figure
    from xmbench.report.plots_space import POINTS_PER_MODALITY, space_map_figure

    palette = method_palette(scores["method"].unique())
    out = []
    for setting, rows in settings(scores):
        makers = {
            "per_class_map": partial(per_class_map_figure, rows, palette),
            "ranking": partial(ranking_figure, rows, palette),
            "cost": partial(cost_figure, rows, palette),
            "paired_fraction": partial(fraction_figure, rows, palette),
            "learning_curves": partial(learning_curves_figure, store, rows, palette),
            "loss_curves": partial(loss_curves_figure, store, rows, palette),
            "pr_curves": partial(pr_curves_figure, store, rows, palette),
            "common_space": partial(space_map_figure, store, rows),
        }
        for kind, make in makers.items():
            fig = make()
            if fig is None:
                continue
            caption = CAPTIONS[kind].format(points=POINTS_PER_MODALITY)
            if kind in ("per_class_map", "ranking", "cost"):
                caption += " " + seeds_note(top_fraction(rows))
            if kind != "paired_fraction":
                caption += fraction_note(rows)
            name = slug(kind, *setting)
            png, svg = save_figure(fig, folder, name)
            title = f"{TITLES[kind]} ({' / '.join(setting)}){profile_caveat(setting[2])}"
            out.append(FigureFile(name, title, png, svg, caption))
    return out
