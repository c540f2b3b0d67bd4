"""A pool of worker processes for the local executor's ``--jobs N``: N runs at once, each in its
own process with its own pinned thread count, so a run computes exactly what it would compute
alone in this process at that thread count.

Workers are started with ``spawn`` (never ``fork``: a forked child of a process that has used
CUDA or torch's thread pool can hang or fail), once per invocation. A replicate's shared inputs
(data, features, recognizers) are pickled once to a temporary file that each worker reads the first
time it runs one of that replicate's runs, not once per run. Workers ignore Ctrl-C: the parent
handles it, keeps what finished and terminates them.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from xmbench.errors import XmbenchError
from xmbench.results.schema import RunKey
from xmbench.runner import RunInputs, RunOutcome, run_one
from xmbench.threads import limit_threads

_worker_inputs: tuple[str, RunInputs] | None = None  # (file, inputs): the replicate this worker last read
_worker_threads: Any = None  # the worker's thread pinning, held for its lifetime


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_picklable_methods(methods: dict[str, type]) -> None:
    """A class defined in ``__main__`` (a script's or notebook's) cannot be imported by a fresh process."""
    local = sorted(name for name, cls in methods.items() if cls.__module__ == "__main__")
    if local:
        raise XmbenchError(f"--jobs above 1 runs each run in a new process, which cannot import {', '.join(local)} "
                           "(defined in __main__); move the class into a module or use --jobs 1")


class WorkerPool:
    """``jobs`` worker processes running ``run_one`` with ``threads`` torch/BLAS threads each."""

    def __init__(self, jobs: int, threads: int, describe: dict[str, Any]) -> None:
        self.jobs = jobs
        self.threads = threads
        self.describe = describe
        self._folder = tempfile.TemporaryDirectory(prefix="xmbench-jobs-")
        self._written = 0
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"), initializer=_start_worker,
                                             initargs=(self.threads,))
        return self._pool

    def map(self, keys: Sequence[RunKey], inputs: RunInputs, device: torch.device) -> Iterator[RunOutcome]:
        check_picklable_methods(inputs.methods)
        self._written += 1
        path = Path(self._folder.name) / f"inputs-{self._written}.pickle"
        with path.open("wb") as stream:
            pickle.dump(inputs, stream, protocol=pickle.HIGHEST_PROTOCOL)
        pending: dict[Future, RunKey] = {self._start().submit(_run_in_worker, str(path), key, device, self.describe): key
                                         for key in keys}
        lost: list[RunKey] = []  # runs whose pool broke: which of them killed it is not known yet
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    key = pending.pop(future)
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        lost.append(key)
                    except Exception as error:  # noqa: BLE001 (an outcome that would not pickle back, say)
                        yield RunOutcome.failed(key, f"worker error: {type(error).__name__}: {error}",
                                                execution=self.describe)
            if lost:
                self._drop_pool()
                for key in lost:  # one at a time in a fresh process: a crash is pinned on its own run
                    yield self._alone(str(path), key, device)
        finally:
            path.unlink(missing_ok=True)

    def _alone(self, path: str, key: RunKey, device: torch.device) -> RunOutcome:
        pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_start_worker,
                                   initargs=(self.threads,))
        try:
            return pool.submit(_run_in_worker, path, key, device, self.describe).result()
        except BrokenProcessPool:
            return RunOutcome.failed(key, "its worker process died (killed, out of memory, or crashed) before "
                                     "the run finished", execution=self.describe)
        finally:
            pool.shutdown(wait=True)

    def _drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self, finished: bool) -> None:
        """Shut the workers down; unless every run finished (Ctrl-C, an error), terminate them now
        instead of letting them finish the runs they hold."""
        pool, self._pool = self._pool, None
        if pool is not None:
            if not finished:
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.terminate()
            pool.shutdown(wait=finished, cancel_futures=True)
        self._folder.cleanup()


def _start_worker(threads: int) -> None:
    global _worker_threads
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _worker_threads = limit_threads(threads)
    _worker_threads.__enter__()


def _run_in_worker(path: str, key: RunKey, device: torch.device, describe: dict[str, Any]) -> RunOutcome:
    global _worker_inputs
    if _worker_inputs is None or _worker_inputs[0] != path:
        with open(path, "rb") as stream:
            _worker_inputs = (path, pickle.load(stream))
    return run_one(key, _worker_inputs[1], device, describe | {"torch_threads": torch.get_num_threads()})
