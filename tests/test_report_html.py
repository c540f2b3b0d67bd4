"""The HTML report: self-contained, escaped, every table and figure in it, and it renders in Chromium."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from PIL import Image

from xmbench.report.html import write_html
from xmbench.report.plots import FigureFile, new_figure, save_figure, subplots

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@dataclass
class StandInTable:
    """Duck-typed like the tables helper's ReportTable."""

    name: str
    title: str
    display: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    best: pd.DataFrame | None = None
    spread: pd.DataFrame | None = None


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a":
            self.links.append(attrs["href"])


@pytest.fixture
def report(tmp_path):
    figures = []
    for i, colour in enumerate(["tab:blue", "tab:red"]):
        fig = new_figure(4, 3)
        ax = subplots(fig, 1, 1)[0]
        ax.plot([0, 1, 2], [1, 0, i], color=colour, label="line")
        ax.set(title=f"figure {i}", xlabel="x", ylabel="y")
        png, svg = save_figure(fig, tmp_path / "figures", f"fig{i}")
        figures.append(FigureFile(f"fig{i}", f"Figure {i} <&>", png, svg, f"caption {i} with <b>tags</b>"))
    display = pd.DataFrame(
        {"A->B": ["0.812 ± 0.010", "<script>alert(1)</script>"], "B->A": ["0.9", "n/a"]},
        index=pd.Index(["cca", "cmgans"], name="method"),
    )
    tables = [
        StandInTable("overall", "Overall mAP <A->B>", display, ["mean over 5 seeds", "t-based 95% CI"],
                     best=pd.DataFrame({"A->B": [True, False], "B->A": [False, True]}, index=display.index),
                     spread=pd.DataFrame({"A->B": ["0.008 (n=5)", "–"], "B->A": ["0.004 (n=5)", "–"]},
                                         index=display.index)),
        StandInTable("other", "Second table", display.head(1)),
    ]
    meta = {"results folder": "/work/runs7", "datasets": "letters-colors", "runs": 90}
    path = write_html(tmp_path / "report.html", "xmbench report", tables, figures, meta)
    return path, tables, figures


def test_html_holds_every_table_and_figure_and_is_self_contained(report):
    path, tables, figures = report
    text = path.read_text(encoding="utf-8")
    for table in tables:
        assert table.title.replace("<", "&lt;").replace(">", "&gt;") in text
    assert "mean over 5 seeds" in text
    assert "<script>" not in text  # cell content and titles are escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<strong>0.812 ± 0.010</strong>" in text and "<strong>n/a</strong>" in text  # the best cells
    assert "<strong>0.9</strong>" not in text
    assert text.count("Standard deviation over seeds") == 1 and "<td>0.008 (n=5)</td>" in text  # only where given
    assert "A-&gt;B" in text  # column labels escaped too
    tags = Tags()
    tags.feed(text)
    expected = [f"data:image/png;base64,{base64.b64encode(f.png.read_bytes()).decode()}" for f in figures]
    assert tags.images == expected
    assert not re.search(r"https?://", text), "the report must not load anything from the network"
    assert all(link.startswith("#") and link[1:] in tags.ids for link in tags.links)  # the table of contents
    for key in ("results folder", "/work/runs7", "runs", "generated", "xmbench version"):
        assert key in text


def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH: install Debian's chromium package to run the browser test")
    path, _, _ = report
    shot = tmp_path / "shot.png"
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
        path.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"no screenshot; {browser} exited {result.returncode}: {result.stderr[-2000:]}"
    pixels = imread(shot)
    assert pixels.shape[:2] == (2000, 1280)
    colours = np.unique(pixels[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the screenshot is (nearly) one colour: the page did not render"


def test_chromium_draws_the_critical_difference_diagram_of_a_real_report(tmp_path):
    """The page `xmbench report` writes over three datasets, opened in Chromium: the diagram's
    image decodes to a picture of its own size (a script on a copy of the page reads it back)."""
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium on PATH: install Debian's chromium package to run the browser test")
    from tests.test_report_ranking import _store
    from xmbench.report.build import build_report

    built = build_report(_store(tmp_path / "results").root, tmp_path / "report")
    (figure,) = [f for f in built.figures if f.name == "critical_difference_quick"]
    probe = ("<script>window.addEventListener('load', () => { document.body.dataset.diagram = [...document.images]"
             ".filter(i => i.alt.startsWith('Critical-difference')).map(i => i.naturalWidth + 'x' + i.naturalHeight)"
             ".join(','); });</script></body>")
    page = tmp_path / "probe.html"
    page.write_text(built.html.read_text(encoding="utf-8").replace("</body>", probe), encoding="utf-8")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
               page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    match = re.search(r'data-diagram="(\d+)x(\d+)"', result.stdout)
    assert match, f"the diagram was not found in the rendered page; {browser}: {result.stderr[-2000:]}"
    with Image.open(figure.png) as image:
        assert (int(match[1]), int(match[2])) == image.size
