"""The benchmark table: every benchmark records one row per measured item through ``record``;
at the end of the session the rows are printed as one markdown table (paste it into
benchmarks/README.md) and written to ``.benchmarks/xmbench-latest.md``.

Run: pytest benchmarks/ --benchmark-only
Rows come in collection order (file order, then test order), whatever order the tests ran in.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

TABLE_FILE = Path(".benchmarks") / "xmbench-latest.md"
COLUMNS = ("benchmark", "measured", "value", "reference", "reference value", "ratio", "target")


@dataclass(frozen=True)
class Row:
    """One measured item against its named reference, as the table shows it."""

    position: tuple[int, int]  # (collection index of the test, row index within the test)
    benchmark: str
    measured: str
    value: str
    reference: str
    reference_value: str
    ratio: str
    target: str

    def cells(self) -> tuple[str, ...]:
        return (self.benchmark, self.measured, self.value, self.reference, self.reference_value, self.ratio, self.target)


@dataclass
class BenchmarkTable:
    order: dict[str, int] = field(default_factory=dict)  # test node id -> collection index
    rows: list[Row] = field(default_factory=list)
    load_at_start: float = field(default_factory=lambda: os.getloadavg()[0])  # other work on the machine
    started: float = field(default_factory=time.perf_counter)

    def add(self, nodeid: str, **cells: str) -> None:
        index = self.order.get(nodeid, len(self.order))
        within = sum(row.position[0] == index for row in self.rows)
        self.rows.append(Row((index, within), **cells))

    def markdown(self, skipped: list[tuple[str, str]]) -> str:
        lines = [
            "## xmbench benchmark table (paste into README)",
            "",
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs ({platform.machine()}), "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"CUDA {'available: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}, "
            f"Python {platform.python_version()}; 1-minute load average {self.load_at_start:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end; session {time.perf_counter() - self.started:.0f} s",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "---|" * len(COLUMNS),
        ]
        for row in sorted(self.rows, key=lambda row: row.position):
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |")
        lines += [""] + [f"Skipped: `{name}` ({reason})" for name, reason in skipped]
        return "\n".join(lines).rstrip() + "\n"


TABLE_KEY = pytest.StashKey[BenchmarkTable]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TABLE_KEY] = BenchmarkTable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[TABLE_KEY].order = {item.nodeid: index for index, item in enumerate(items)}


@pytest.fixture(scope="session")
def benchmark_table(request: pytest.FixtureRequest) -> BenchmarkTable:
    return request.config.stash[TABLE_KEY]


@pytest.fixture
def record(request: pytest.FixtureRequest, benchmark_table: BenchmarkTable):
    """``record(benchmark=..., measured=..., value=..., reference=..., reference_value=..., ratio=...,
    target="-")`` adds one row for the calling test."""

    def add(*, benchmark: str, measured: str, value: str, reference: str, reference_value: str, ratio: str,
            target: str = "-") -> None:
        benchmark_table.add(
            request.node.nodeid, benchmark=benchmark, measured=measured, value=value, reference=reference,
            reference_value=reference_value, ratio=ratio, target=target,
        )

    return add


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    table = config.stash[TABLE_KEY]
    skipped = [
        (report.nodeid.split("::")[-1], str(report.longrepr[2]).removeprefix("Skipped: "))
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple)
    ]
    if not table.rows:
        return
    text = table.markdown(skipped)
    terminalreporter.write_sep("=", "xmbench benchmark table")
    terminalreporter.write_line(text)
    path = config.rootpath / TABLE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    terminalreporter.write_line(f"(also written to {path})")
