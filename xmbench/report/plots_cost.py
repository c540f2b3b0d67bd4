"""Average mAP against fit time, one point per method, the Pareto front joined (``report.cost``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from xmbench.report.cost import cost_points, has_costs
from xmbench.report.plots import figure_legend, method_palette, new_figure, setting_label, subplots, top_fraction


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
    fig = new_figure(8.0, 5.6)
    ax = subplots(fig, 1, 1)[0]
    for point in points.itertuples(index=False):
        colour = palette[point.method]
        xerr = [[min(_finite(point.fit_s_ci), point.fit_s * 0.999)], [_finite(point.fit_s_ci)]]  # never below 0 on a log axis
        ax.errorbar(point.fit_s, point.map, xerr=xerr, yerr=_finite(point.map_ci), fmt="o", color=colour, capsize=3,
                    markersize=7, markerfacecolor=colour if point.front else "white", markeredgewidth=1.4,
                    elinewidth=0.8, label=point.method)
        if point.front:  # the rest are named by the legend: a crowded corner stays legible
            ax.annotate(point.method, (point.fit_s, point.map), xytext=(5, -10), textcoords="offset points",
                        fontsize=7.5)
    front = points[points["front"]].sort_values("fit_s")
    if len(front) > 1:
        ax.step(front["fit_s"], front["map"], where="post", color="0.35", linestyle="--", linewidth=1,
                zorder=0, label="Pareto front")
    ax.set_xscale("log")
    figure_legend(fig, [ax], "method (filled: on the front)")
    ax.set(xlabel="fit time, seconds (log scale; mean over seeds)",
           ylabel="mAP averaged over the four retrieval tasks")
    devices = ", ".join(sorted({d for value in points["devices"] for d in value.split(", ") if d})) or "device not recorded"
    ax.set_title(f"Accuracy against fit time — {setting_label(scores)}\n({devices})", fontsize=10)
    return fig


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else 0.0
