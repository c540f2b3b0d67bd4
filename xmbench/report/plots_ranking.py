"""The critical-difference diagram of a ranking across datasets (Demšar 2006, Fig. 1), drawn by
scikit-posthocs: methods on their average rank, lines joining methods Nemenyi's test does not tell
apart; the critical difference is in the title."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xmbench.report.plots import FigureFile, new_figure, profile_caveat, save_figure, slug, subplots
from xmbench.report.ranking import Ranking, block_name, rankings
from xmbench.report.stats import ALPHA


def ranking_figures(scores: pd.DataFrame, folder: Path) -> list[FigureFile]:
    """The critical-difference diagram of every ranking across datasets (``report.ranking``)."""
    out = []
    for result in rankings(scores):
        name = slug("critical_difference", result.profile, *(["vary-method"] if result.vary == "method" else []))
        png, svg = save_figure(critical_difference_figure(result), folder, name)
        title = f"Critical-difference diagram across datasets (profile {result.profile}){profile_caveat(result.profile)}"
        out.append(FigureFile(name, title, png, svg, caption(result)))
    return out


def critical_difference_figure(result: Ranking):
    """The diagram of one ranking. Without a post-hoc test (the omnibus test did not reject) every
    method is joined to every other: none differs significantly."""
    import scikit_posthocs  # loads statsmodels: only when the figure is drawn

    methods = list(result.average_rank.index)
    posthoc = result.posthoc if result.posthoc is not None else pd.DataFrame(1.0, index=methods, columns=methods)
    fig = new_figure(8.0, 1.2 + 0.28 * len(methods))
    ax = subplots(fig, 1, 1)[0]
    # the critical difference goes in the title: drawn above the axis, its label covers the rank ticks
    scikit_posthocs.critical_difference_diagram(result.average_rank, posthoc, ax=ax, alpha=ALPHA,
                                                label_fmt_left="{label} ({rank:.2f})",
                                                label_fmt_right="({rank:.2f}) {label}")
    ax.set_xlabel("average rank over blocks (1 = best)")
    fig.suptitle(f"Critical-difference diagram — profile {result.profile}: {len(result.scores)} blocks, "
                 f"{result.test} p = {result.p:.3g}, CD = {result.cd:.2f}")
    return fig


def caption(result: Ranking) -> str:
    blocks = ", ".join(block_name(b) for b in result.scores.index)
    joined = ("methods joined by a bar are not significantly different (Nemenyi, alpha 0.05)" if result.posthoc is not None
              else "the omnibus test did not reject, so no pair differs and no post-hoc test was run")
    return (f"Average rank of each method over the blocks {blocks} (mAP averaged over the four retrieval tasks, "
            f"mean over replicates); {joined}; two methods differ when their average ranks are more than the critical "
            f"difference CD = {result.cd:.2f} apart.")
