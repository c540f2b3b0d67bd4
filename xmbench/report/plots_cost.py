"""Average mAP against fit time, one point per method, the Pareto front joined (``report.cost``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from xmbench.report.cost import cost_points, has_costs
from xmbench.report.plots import figure_legend, method_palette, new_figure, setting_label, subplots, top_fraction


ZOOM = 0.1  # mAP below the best mean that the second panel shows, when some method lies further off


def cost_figure(scores: pd.DataFrame, palette: dict | None = None) -> Figure | None:
    """One setting's methods: mean fit seconds (log x) against mean average mAP, 95% CIs over seeds
    both ways, the front's methods filled and joined by a step line, the others hollow."""
    scores = top_fraction(scores)
    if not has_costs(scores):
        return None
    points = cost_points(scores)
    points = points[np.isfinite(points["fit_s"].astype(float)) & np.isfinite(points["map"].astype(float))]
    if points.empty:
        return None
    palette = palette or method_palette(points["method"])
    best = float(points["map"].max())
    zoom = float(points["map"].min()) < best - ZOOM  # a far-off method squeezes the leaders: show them apart too
    fig = new_figure(13.0 if zoom else 8.0, 5.6)
    axes = subplots(fig, 1, 2 if zoom else 1)
    for ax in axes:
        _draw(ax, points, palette)
    axes[0].set(ylabel="mAP averaged over the four retrieval tasks")
    if zoom:
        near = points[points["map"] >= best - ZOOM]
        top = float((near["map"] + near["map_ci"].fillna(0)).max())
        axes[1].set_ylim(best - ZOOM, max(top, best) + 0.005)
        axes[1].set_title(f"the methods within {ZOOM:g} of the best mean", fontsize=9)
    figure_legend(fig, axes[:1], "method (filled: on the front)")
    devices = ", ".join(sorted({d for value in points["devices"] for d in value.split(", ") if d})) or "device not recorded"
    fig.suptitle(f"Accuracy against fit time — {setting_label(scores)} ({devices})", fontsize=10)
    return fig


def _draw(ax, points: pd.DataFrame, palette: dict) -> None:  # noqa: ANN001
    for point in points.itertuples(index=False):
        colour = palette[point.method]
        xerr = [[min(_finite(point.fit_s_ci), point.fit_s * 0.999)], [_finite(point.fit_s_ci)]]  # never below 0 on a log axis
        ax.errorbar(point.fit_s, point.map, xerr=xerr, yerr=_finite(point.map_ci), fmt="o", color=colour, capsize=3,
                    markersize=7, markerfacecolor=colour if point.front else "white", markeredgewidth=1.4,
                    elinewidth=0.8, label=point.method)
        if point.front:  # the rest are named by the legend: a crowded corner stays legible
            ax.annotate(point.method, (point.fit_s, point.map), xytext=(5, -10), textcoords="offset points",
                        fontsize=7.5, annotation_clip=True)
    front = points[points["front"]].sort_values("fit_s")
    if len(front) > 1:
        ax.step(front["fit_s"], front["map"], where="post", color="0.35", linestyle="--", linewidth=1,
                zorder=0, label="Pareto front")
    ax.set_xscale("log")
    ax.set(xlabel="fit time, seconds (log scale; mean over seeds)")


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else 0.0
