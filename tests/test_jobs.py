"""``--jobs N``: runs in worker processes give byte-identical results to serial runs at the same
thread count, a dying worker fails its run alone, and the job count is planned as documented."""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import ClassVar

import pytest
import torch

from tests.test_bad_input import assert_one_line_error, xmbench
from xmbench import api
from xmbench.errors import XmbenchError
from xmbench.executors import ExecutionConfig, make_executor
from xmbench.executors.processes import check_picklable_methods, usable_cores
from xmbench.methods import METHODS
from xmbench.methods.linear.cca import CCA

RUN_FILES = ("scores.csv", "training.csv", "embeddings.npz")


def config(tmp_path, cache, name: str, execution: ExecutionConfig, **overrides) -> api.RunConfig:
    settings = dict(methods=("cca", "cmgans", "vae-assoc"), seeds=(0, 1), profile="smoke", device="cpu",
                    out=tmp_path / name, cache_dir=cache, execution=execution)
    return api.RunConfig(**(settings | overrides))


def test_two_jobs_give_byte_identical_results_to_one_job_at_one_thread(tmp_path, feature_cache):
    serial = api.run_benchmark(config(tmp_path, feature_cache, "serial", ExecutionConfig(cpus_per_run=1, jobs=1)),
                               log=lambda line: None)
    lines: list[str] = []
    parallel = api.run_benchmark(config(tmp_path, feature_cache, "jobs", ExecutionConfig(jobs=2)), log=lines.append)
    assert not serial.failed and not parallel.failed and len(serial.completed) == 6
    assert sorted(parallel.completed) == sorted(serial.completed)
    assert "6 runs, 2 at a time in worker processes of 1 thread(s) each" in lines[0]
    compared = 0
    for run_id in serial.completed:
        for name in RUN_FILES:
            path = tmp_path / "serial" / "runs" / run_id / name
            if path.exists():
                assert (tmp_path / "jobs" / "runs" / run_id / name).read_bytes() == path.read_bytes(), (run_id, name)
                compared += 1
        manifest = json.loads((tmp_path / "jobs" / "runs" / run_id / "manifest.json").read_text())
        assert manifest["execution"]["jobs"] == 2 and manifest["execution"]["torch_threads"] == 1
        assert manifest["config"]["cpus_per_run"] == 1  # --config reproduces the thread count
    assert compared == 16  # cca has no training records


class DiesInAWorker(CCA):
    """CCA whose worker process dies mid-fit, as when the OOM killer strikes."""

    name: ClassVar[str] = "dies-in-a-worker"

    def fit(self, *args, **kwargs):
        if multiprocessing.parent_process() is not None:
            os._exit(1)
        return super().fit(*args, **kwargs)


def test_a_dying_worker_fails_its_run_alone_and_later_runs_go_on(tmp_path, feature_cache, monkeypatch):
    monkeypatch.setattr(METHODS, "_entries", dict(METHODS._entries))  # the class registers for this test only
    monkeypatch.setattr(METHODS, "_origins", dict(METHODS._origins))
    report = api.run_benchmark(config(tmp_path, feature_cache, "r", ExecutionConfig(jobs=2),
                                      methods=(DiesInAWorker, "cca"), seeds=(0, 1)), log=lambda line: None)
    assert sorted(report.failed) == sorted(run_id for run_id in report.failed if "_dies-in-a-worker_" in run_id)
    assert len(report.failed) == 2, report.failed
    assert all(reason.startswith("its worker process died") for reason in report.failed.values())
    # the crash broke the pool under cca too; cca ran again alone and finished, in both replicates
    assert sorted(run_id.split("_")[3] for run_id in report.completed if "_cca_" in run_id) == ["s0", "s1"]


def test_a_class_defined_in_main_cannot_go_to_a_worker():
    Local = type("Local", (CCA,), {"__module__": "__main__"})
    with pytest.raises(XmbenchError, match=r"^--jobs above 1 runs each run in a new process, which cannot import "
                       r"local \(defined in __main__\); move the class into a module or use --jobs 1$"):
        check_picklable_methods({"local": Local, "cca": CCA})


@pytest.mark.parametrize(("jobs", "cpus", "queued", "device", "expected"), [
    (None, None, 1, "cpu", 1),  # one run: in this process
    (None, None, 50, "cpu", "cores"),  # auto: one per core
    (None, 2, 50, "cpu", "cores/2"),  # each run takes --cpus-per-run cores
    (None, None, 50, "cuda", 1),  # a GPU is shared, not split
    (3, None, 2, "cpu", 2),  # never more jobs than runs
    (4, None, 50, "cuda", 4),  # asked for: granted
])
def test_the_job_count_is_planned_as_documented(jobs, cpus, queued, device, expected):
    executor = make_executor(ExecutionConfig(cpus_per_run=cpus, jobs=jobs), "cpu")
    cores = usable_cores()
    want = {"cores": min(cores, queued), "cores/2": max(1, min(cores // 2, queued))}.get(expected, expected)
    assert executor.plan_jobs(queued, torch.device(device)) == want


def test_bad_jobs_options_are_one_line(monkeypatch, capsys, tmp_path):
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", "--jobs", "2", "--executor", "ray",
                           "--out", str(tmp_path / "out"))
    if "needs Ray, which is not installed" not in err:
        assert_one_line_error(code, err, "--jobs is for the local executor")
    with pytest.raises(XmbenchError, match="--jobs must be at least 1, got 0"):
        make_executor(ExecutionConfig(jobs=0), "cpu")
    code, _, err = xmbench(monkeypatch, capsys, "run", "--methods", "cca", "--jobs", "0", "--out", str(tmp_path / "o"))
    assert code == 2 and "Traceback" not in err and "--jobs" in err


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                with open(f"/proc/{stat}/stat") as stream:
                    fields = stream.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(stat))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_workers_and_keeps_finished_runs(tmp_path, feature_cache, sig):
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "xmbench", "run", "--methods", "cca,cmgans", "--profile", "quick", "--jobs", "2",
         "--seeds", "0,1", "--out", str(tmp_path / "out"), "--cache-dir", str(feature_cache)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "out" / "runs").glob("*_cca_*/scores.csv")):
        time.sleep(0.2)  # until cca (seconds) has finished and cmgans (a minute) is training in a worker
    workers = [pid for pid in _children(process.pid) if "multiprocessing" in open(f"/proc/{pid}/cmdline").read()]
    process.send_signal(getattr(signal, sig))
    _, err = process.communicate(timeout=60)
    assert workers, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()][-1].endswith("; finished runs are kept")
    assert list((tmp_path / "out" / "runs").glob("*_cca_s0_*/scores.csv"))
    time.sleep(1)
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
             and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"worker processes left running: {alive}"
