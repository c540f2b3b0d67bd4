"""``xmbench report``: tables, figures and one self-contained HTML page from a results folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xmbench.errors import XmbenchError
from xmbench.files import atomic_write_bytes
from xmbench.preflight import writable_folder
from xmbench.report.export import write_tables
from xmbench.report.html import write_html
from xmbench.report.plots import FigureFile, make_figures
from xmbench.report.plots_ranking import ranking_figures
from xmbench.report.tables import ReportTable, build_tables, filter_scores
from xmbench.results.sets import is_export, load_results


@dataclass(frozen=True)
class Report:
    """What ``build_report`` wrote: tables (CSV, markdown, LaTeX), figures (PNG, SVG) and the page."""

    tables: list[ReportTable]
    table_files: list[Path]
    figures: list[FigureFile]
    html: Path


def build_report(
    results: Path | Sequence[Path],
    out: Path | None = None,
    *,
    datasets: Sequence[str] = (),
    pairings: Sequence[str] = (),
    methods: Sequence[str] = (),
    profiles: Sequence[str] = (),
    varies: Sequence[str] = (),
    figures: bool = True,
) -> Report:
    """Every table and figure of the finished runs in ``results`` (a results folder or an export
    file, or several merged: ``results.sets``) that pass the filters, written under ``out``
    (default ``<first folder>/report``, or ``<file>-report`` beside an export file): ``tables/``,
    ``figures/`` and ``index.html``. Figures that need training curves or embeddings come from
    the folders only."""
    sources = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    result_set = load_results(sources)
    scores = filter_scores(result_set.table, datasets, pairings, methods, profiles, varies)
    if scores.empty:
        raise XmbenchError("no results match those filters")
    out = writable_folder(Path(out) if out is not None else default_report_folder(sources[0]), "report folder (--to)")
    tables = build_tables(scores)
    table_files = write_tables(tables, out / "tables")
    figure_files = []
    if figures:
        figure_files = make_figures(result_set, scores, out / "figures") + ranking_figures(scores, out / "figures")
    filters = {"datasets": datasets, "pairings": pairings, "methods": methods, "profiles": profiles, "vary": varies}
    meta = {
        "results": ", ".join(map(str, sources)),
        "filters": "; ".join(f"{k}: {', '.join(v)}" for k, v in filters.items() if v) or "none",
        "datasets": ", ".join(sorted(scores["dataset"].unique())),
        "pairings": ", ".join(sorted(scores["pairing"].unique())),
        "profiles": ", ".join(sorted(scores["profile"].unique())),
        "feature sources": ", ".join(sorted(scores["features"].unique())),
        "methods": ", ".join(sorted(scores["method"].unique())),
        "seeds": ", ".join(map(str, sorted(scores["seed"].unique()))),
        "runs": scores["run_id"].nunique(),
    }
    html = write_html(out / "index.html", "xmbench report", tables, figure_files, meta)
    _forget_earlier(out, [*table_files, *(p for f in figure_files for p in (f.png, f.svg)), html])
    return Report(tables, table_files, figure_files, html)


def default_report_folder(source: Path) -> Path:
    return source.with_name(f"{source.stem}-report") if is_export(source) else source / "report"


WRITTEN = ".xmbench-report"  # the files the last report wrote into its folder, one per line


def _forget_earlier(out: Path, written: list[Path]) -> None:
    """Remove the files an earlier report wrote here that this one did not rewrite (a table of a
    dataset now filtered out must not sit beside the new ones as if current), then record this
    report's files. Only files a report wrote are ever removed."""
    record = out / WRITTEN
    now = {str(Path(p).relative_to(out)) for p in written}
    earlier = set(record.read_text().splitlines()) if record.is_file() else set()
    for name in sorted(earlier - now):
        path = out / name
        if path.resolve().is_relative_to(out.resolve()):
            path.unlink(missing_ok=True)
    data = "\n".join(sorted(now)).encode() + b"\n"
    atomic_write_bytes(record, lambda handle: handle.write(data))
