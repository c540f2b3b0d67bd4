"""Writing ReportTables: markdown (stdout and .md), LaTeX (.tex), CSV (.csv, the numbers) and an
HTML <table> for a page.

Markdown is formatted here rather than with DataFrame.to_markdown, which needs the optional
``tabulate`` package: a GitHub pipe table is a few lines, and this keeps the layout (flattened
column levels, index levels as columns) under our control.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from xmbench.files import atomic_write_bytes
from xmbench.report.tables import ReportTable

LEVEL_JOIN = " / "  # flattens column levels: ("unique", "A->B") -> "unique / A->B"


def to_markdown(table: ReportTable) -> str:
    """The title, a pipe table (best bold) and the notes as a list below it."""
    frame = table.marked("**", "**")
    names = [str(n) if n is not None else "" for n in frame.index.names]
    header = [*names, *(_flat(c) for c in frame.columns)]
    align = ["---:" if _numeric(table.display[c]) else "---" for c in table.display.columns]
    lines = [f"### {table.title}", "", _row(header), _row(["---"] * len(names) + align)]
    for key, values in zip(frame.index, frame.itertuples(index=False)):
        lines.append(_row([*(str(k) for k in _tuple(key)), *(str(v) for v in values)]))
    if table.notes:
        lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def to_latex(table: ReportTable) -> str:
    """A ``table`` environment (needs the booktabs and graphicx packages): best in \\textbf, ± as
    $\\pm$, † as $^\\dagger$, arrows as $\\to$; the notes below the tabular."""
    escaped = table.display.map(latex_escape)
    frame = escaped.where(~table.best, r"\textbf{" + escaped + "}")
    frame = frame.rename(index=latex_escape, columns=latex_escape)
    frame.index = frame.index.set_names([latex_escape(n) if n else n for n in frame.index.names])
    frame.columns = frame.columns.set_names([latex_escape(n) if n else n for n in frame.columns.names])
    layout = "l" * frame.index.nlevels + "".join("r" if _numeric(table.display[c]) else "l" for c in table.display.columns)
    tabular = frame.to_latex(escape=False, column_format=layout, multicolumn=True, multicolumn_format="c", multirow=False)
    notes = "".join(f"\\par {latex_escape(note)}\n" for note in table.notes)
    return (f"\\begin{{table}}[t]\n\\centering\n\\caption{{{latex_escape(table.title)}}}\n"
            f"\\label{{tab:{table.name}}}\n\\resizebox{{\\linewidth}}{{!}}{{%\n{tabular}}}\n"
            f"{{\\footnotesize\n{notes}}}\n\\end{{table}}\n")


def to_html(table: ReportTable, classes: str = "data") -> str:
    """The display as an HTML <table> (cells and labels escaped, best in <strong>); title and notes
    are left to the page."""
    escaped = table.display.map(lambda cell: html.escape(str(cell)))
    frame = escaped.where(~table.best, "<strong>" + escaped + "</strong>")
    frame = frame.rename(index=lambda v: html.escape(str(v)), columns=lambda v: html.escape(str(v)))
    return frame.to_html(escape=False, na_rep="", border=0, classes=classes)


def to_csv(table: ReportTable) -> str:
    """The numbers (mean, ci, n, best, p_vs_best, ... per column), column levels flattened."""
    frame = table.numeric.copy()
    frame.columns = [_flat(c) for c in frame.columns]
    if table.row_marks:  # methods judged on a score their paper makes no claim for (report.claims)
        frame["paper_claim"] = [table.row_marks.get(method, "") for method in frame.index.get_level_values(0)]
    return frame.to_csv(float_format="%.10g")


def write_tables(tables: Iterable[ReportTable], folder: Path) -> list[Path]:
    """``<folder>/<name>.csv``, ``.md`` and ``.tex`` for every table; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        for suffix, text in ((".csv", to_csv(table)), (".md", to_markdown(table)), (".tex", to_latex(table))):
            path = folder / f"{table.name}{suffix}"
            data = text.encode()
            atomic_write_bytes(path, lambda handle, data=data: handle.write(data))
            written.append(path)
    return written


_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
# "<" and ">" print as other glyphs in LaTeX's default OT1 text encoding, so arrows become math
_SYMBOLS = {"<->": r"$\leftrightarrow$", "->": r"$\to$", "<": r"\textless{}", ">": r"\textgreater{}",
            "±": r"$\pm$", "†": r"$^\dagger$", "–": "--", "`": ""}


def latex_escape(value: object) -> str:
    text = re.sub(r"[\\&%$#_{}~^]", lambda m: _SPECIAL[m.group()], str(value))
    return re.sub("|".join(re.escape(s) for s in _SYMBOLS), lambda m: _SYMBOLS[m.group()], text)


def _numeric(cells: pd.Series) -> bool:
    """Right-align columns of numbers ("0.912 ± 0.004", "+0.016", "–" for none)."""
    return bool(cells.astype(str).str.match(r"^[-+–]?\d|^–$").all())


def _flat(column: object) -> str:
    return LEVEL_JOIN.join(str(level) for level in _tuple(column))


def _tuple(key: object) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
