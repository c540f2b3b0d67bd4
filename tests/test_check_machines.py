"""The committed baselines hold across machines and still catch a real regression.

The processor changes a trained method's numbers (oneDNN and ATen pick kernels by instruction set):
``baselines/digits-colors_unique_smoke.csv`` was recorded on an AMD EPYC, and the check failed on an
Intel Xeon with AVX-512 (cmgans-no-ws-sc A->B .2528 -> .2207) until each row carried its measured
spread (baselines/README.md). Two instruction-set settings of this machine stand in for two
processors here: ATen's ``default`` (no SIMD) and ``avx2`` kernels (``ATEN_CPU_CAPABILITY``), each
in its own process, since ATen reads it once at start-up. A planted change to CCA that lowers its
mAP by about 0.05 must fail the same check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "baselines" / "digits-colors_unique_smoke.csv"
PLANTED = '''
import numpy as np
from xmbench.methods.linear.cca import CCA

_original = CCA._embed


def _noisy(self, modality, X):  # the planted regression: noise on CCA's embeddings (about -0.05 mAP)
    Z = _original(self, modality, X)
    if type(self) is not CCA:
        return Z
    return Z + 0.45 * Z.std() * np.random.default_rng(0).standard_normal(Z.shape).astype(Z.dtype)


CCA._embed = _noisy
'''


def check(baseline: Path, folder: Path, isa: str, plant: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, ATEN_CPU_CAPABILITY=isa)
    if plant:  # a sitecustomize module changes the method in the checking process, as a code change would
        (folder / "plant").mkdir(exist_ok=True)
        (folder / "plant" / "sitecustomize.py").write_text(PLANTED)
        env["PYTHONPATH"] = os.pathsep.join([str(folder / "plant"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "xmbench", "check", "--baseline", str(baseline), "--out", str(folder / "out"),
         "--cache-dir", str(folder / "cache"), "--device", "cpu"],
        capture_output=True, text=True, timeout=900, env=env,
    )


@pytest.mark.parametrize("isa", ["default", "avx2"])
def test_the_committed_baseline_passes_under_another_instruction_set(tmp_path, isa):
    done = check(BASELINE, tmp_path, isa)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"mAP check passed: {len(pd.read_csv(BASELINE))} method x task scores" in done.stdout


def test_a_planted_regression_of_cca_fails_the_check(tmp_path):
    table = pd.read_csv(BASELINE, dtype={"seeds": str})
    cca = table[table["method"] == "cca"]  # the committed rows of the changed method (the others pass above)
    cca.to_csv(tmp_path / "cca.csv", index=False)
    done = check(tmp_path / "cca.csv", tmp_path, "default", plant=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "REGRESSED by more than 0.02 mAP" in done.stdout and "mAP check failed" in done.stderr
    scores = pd.concat(pd.read_csv(p) for p in (tmp_path / "out" / "runs").glob("*/scores.csv"))
    current = scores[(scores["class"] == "all") & (scores["metric"] == "mAP") & scores["space"].isna()]
    drop = cca.set_index("task")["value"] - current.set_index("task")["value"].reindex(cca["task"])
    assert 0.03 < drop.mean() < 0.08, drop  # a change of about 0.05, not a collapse
