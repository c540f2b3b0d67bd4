"""``benchmarks/gpu_check.sh`` until a GPU machine runs it: its syntax, and its timing script's CPU
fallback (the table it writes without CUDA)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gpu_check_script_parses():
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_check.sh")], check=True)


def test_the_timing_script_writes_a_cpu_only_table_without_cuda(tmp_path):
    out = tmp_path / "table.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_timings.py"), "--updates", "2", "--methods",
         "cca,contrastive,vae-assoc,syncgan-image", "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert "CUDA: not available (CPU columns only)" in lines[0] and "2 updates per fit" in lines[0]
    rows = [line.split(" | ") for line in lines[4:]]
    assert [row[0].strip("| ") for row in rows] == ["contrastive", "vae-assoc", "syncgan-image"]  # cca: closed form
    assert all(float(row[1]) > 0 and row[2:] == ["-"] * 4 + ["- |"] for row in rows), rows
