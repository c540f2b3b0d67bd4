"""One self-contained HTML report: tables, figures embedded as base64 PNGs, and what it was built from.

No external resource (no CDN, script or web font), so the file opens anywhere, offline, and can be
mailed or archived alone; the SVG files beside the PNGs are for papers.
"""

from __future__ import annotations

import base64
import html
import os
import re
import struct
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

import xmbench
from xmbench.files import atomic_write_bytes

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.6em; }
table.data { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
table.data th, table.data td { border: 1px solid #ddd; padding: .25em .5em; text-align: right; white-space: nowrap; }
table.data th { background: #f4f4f4; text-align: center; }
table.data tbody tr:nth-child(even) { background: #fafafa; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .notes { color: #555; font-size: .9em; max-width: 60em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
"""


def _anchor(prefix: str, text: str, used: set[str]) -> str:
    base = f"{prefix}-" + (re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item")
    anchor, n = base, 1
    while anchor in used:
        n += 1
        anchor = f"{base}-{n}"
    used.add(anchor)
    return anchor


def _notes(notes) -> str:
    """A table's notes: a string or a list of them (the tables helper may give either)."""
    if not notes:
        return ""
    items = [notes] if isinstance(notes, str) else list(notes)
    return "".join(f'<p class="notes">{html.escape(str(item))}</p>' for item in items)


def _escaped(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_tuples(
            [tuple(html.escape(str(v)) for v in t) for t in index],
            names=[None if n is None else html.escape(str(n)) for n in index.names],
        )
    name = None if index.name is None else html.escape(str(index.name))
    return pd.Index([html.escape(str(v)) for v in index], name=name)


def _table(table, anchor: str) -> str:
    """The table, every label and cell escaped; cells marked in an optional ``best`` bool frame
    (the column's best and the methods tied with it, see the notes) in bold, as its notes promise;
    an optional ``spread`` frame (sd over seeds and n per cell) folded below it."""
    body = _cells_html(table.display, getattr(table, "best", None))
    spread = getattr(table, "spread", None)
    folded = "" if spread is None else (
        '<details><summary>Standard deviation over seeds (n) of each cell</summary>'
        f'<div class="scroll">{_cells_html(spread, None)}</div></details>')
    return (
        f'<section id="{anchor}"><h3>{html.escape(table.title)}</h3>'
        f'<div class="scroll">{body}</div>{folded}{_notes(getattr(table, "notes", None))}</section>'
    )


def _cells_html(frame: pd.DataFrame, best: pd.DataFrame | None) -> str:
    cells = frame.astype(object).where(frame.notna(), "").astype(str).map(html.escape)
    if best is not None and best.shape == cells.shape:
        cells = cells.where(~best.to_numpy(dtype=bool), "<strong>" + cells + "</strong>")
    cells.index, cells.columns = _escaped(cells.index), _escaped(cells.columns)
    body = cells.to_html(escape=False, border=0, classes="data")  # escaped above, so bold can be added
    return re.sub(r"\n\s+", "\n", body)  # pandas indents every cell: a fifth of the tables' bytes


def _css_width(png: bytes) -> int | None:
    """The image's width in CSS pixels (96 per inch) from its pixel width (IHDR) and resolution
    (pHYs, which matplotlib writes), so text shows at its printed size; None if unknown."""
    if png[12:16] != b"IHDR":
        return None
    width, at = struct.unpack(">I", png[16:20])[0], png.find(b"pHYs")
    if at < 0:
        return None
    per_metre, _, unit = struct.unpack(">IIB", png[at + 4 : at + 13])
    return round(width / (per_metre * 0.0254) * 96) if unit == 1 and per_metre else None


def _figure(figure, anchor: str, folder: Path) -> str:
    png = Path(figure.png).read_bytes()
    data = base64.b64encode(png).decode("ascii")
    width = _css_width(png)
    size = f' width="{width}"' if width else ""
    svg = Path(os.path.relpath(figure.svg, folder)).as_posix()
    title, caption = html.escape(figure.title), html.escape(figure.caption)
    return (
        f'<figure id="{anchor}"><h3>{title}</h3><img alt="{title}"{size} src="data:image/png;base64,{data}">'
        f'<figcaption>{caption} Vector version: <code>{html.escape(svg)}</code>.</figcaption></figure>'
    )


def write_html(path: Path, title: str, tables: Iterable, figures: Iterable, meta: Mapping[str, object]) -> Path:
    """Write the report to ``path`` and return it.

    ``tables``: objects with ``title``, ``display`` (a DataFrame of formatted strings) and optional
    ``notes`` (str or list of str) and ``best`` (bool frame of display's shape: cells shown bold);
    ``figures``: objects with ``title``, ``png``, ``svg`` and ``caption`` (``plots.FigureFile``);
    ``meta``: what the report was built from (results folder, filters, datasets, number of runs...),
    shown in order; the generation time and xmbench version are added unless given."""
    path = Path(path)
    tables, figures = list(tables), list(figures)
    meta = {
        **meta,
        "generated": meta.get("generated", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        "xmbench version": meta.get("xmbench version", xmbench.__version__),
    }
    used: set[str] = set()
    table_ids = [_anchor("table", t.title, used) for t in tables]
    figure_ids = [_anchor("figure", f.title, used) for f in figures]
    toc = ['<li><a href="#about">About this report</a></li>']
    for heading, items, ids in (("Tables", tables, table_ids), ("Figures", figures, figure_ids)):
        if items:
            links = "".join(f'<li><a href="#{i}">{html.escape(x.title)}</a></li>' for x, i in zip(items, ids))
            toc.append(f"<li>{heading}<ul>{links}</ul></li>")
    rows = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in meta.items())
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>',
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<nav><h2>Contents</h2><ul>{"".join(toc)}</ul></nav>',
        f'<section id="about"><h2>About this report</h2><dl class="meta">{rows}</dl></section>',
    ]
    if tables:
        parts.append("<h2>Tables</h2>" + "".join(_table(t, i) for t, i in zip(tables, table_ids)))
    if figures:
        parts.append("<h2>Figures</h2>" + "".join(_figure(f, i, path.parent) for f, i in zip(figures, figure_ids)))
    parts.append("</body></html>\n")
    text = "\n".join(parts).encode("utf-8")
    atomic_write_bytes(path, lambda handle: handle.write(text))
    return path
