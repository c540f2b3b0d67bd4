"""The default executor: runs in this process, one after another, or ``jobs`` at a time in worker
processes (``xmbench.executors.processes``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import torch

from xmbench.errors import XmbenchError
from xmbench.executors.base import EXECUTORS, ExecutionConfig, Executor
from xmbench.executors.ensembles import ensembles, run_ensemble
from xmbench.executors.processes import WorkerPool, usable_cores
from xmbench.results.schema import RunKey
from xmbench.runner import RunInputs, RunOutcome, run_one
from xmbench.threads import limit_threads


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """``jobs``: runs at once, each in its own process; None (auto) is one per usable core when more
    than one run is queued on the CPU, else 1 (a GPU is shared, not split). With more than one job a
    run's thread count is ``cpus_per_run``, default 1, so its numbers are those of a serial run at
    that thread count (``--jobs 1 --cpus-per-run 1``); with one job it runs in this process as
    before, its threads pinned only when ``cpus_per_run`` is given."""

    name = "local"

    def __init__(self, cpus_per_run: int | None = None, jobs: int | None = None, ensemble: bool = False) -> None:
        self.cpus_per_run = cpus_per_run
        self.jobs = jobs
        self.ensemble = ensemble
        self.threads_per_run = cpus_per_run  # the pinning in force once the session has started
        self._pool: WorkerPool | None = None

    @classmethod
    def from_config(cls, execution: ExecutionConfig, device_choice: str) -> LocalExecutor:
        if execution.address:
            raise XmbenchError("--address names a Ray cluster; it needs --executor ray")
        if execution.gpus_per_run:
            raise XmbenchError("--gpus-per-run needs --executor ray; the local executor uses --device")
        if execution.jobs is not None and execution.jobs < 1:
            raise XmbenchError(f"--jobs must be at least 1, got {execution.jobs}")
        if execution.ensemble and (execution.jobs or 1) > 1:
            raise XmbenchError("--ensemble trains its runs in this process; it cannot be combined with --jobs above 1")
        return cls(execution.cpus_per_run, execution.jobs, execution.ensemble)

    def plan_jobs(self, queued: int, device: torch.device) -> int:
        """How many runs execute at once for ``queued`` runs on ``device``."""
        if self.ensemble:
            return 1
        if self.jobs is not None:
            return max(1, min(self.jobs, queued))
        if queued <= 1 or device.type != "cpu":
            return 1
        return max(1, min(usable_cores() // (self.cpus_per_run or 1), queued))

    @contextlib.contextmanager
    def session(self, queued: int = 1, device: torch.device | None = None) -> Iterator[None]:
        jobs = self.plan_jobs(queued, device or torch.device("cpu"))
        if jobs == 1:
            yield
            return
        self.threads_per_run = self.cpus_per_run or 1
        self._pool = WorkerPool(jobs, self.threads_per_run, self.describe(self.threads_per_run) | {"jobs": jobs})
        finished = False
        try:
            yield
            finished = True
        finally:
            pool, self._pool = self._pool, None
            pool.close(finished)

    @property
    def running_jobs(self) -> int:
        return 1 if self._pool is None else self._pool.jobs

    def map_replicates(self, groups: Iterable[tuple[Sequence[RunKey], RunInputs]],
                       device: torch.device) -> Iterator[RunOutcome]:
        if not self.ensemble:
            yield from super().map_replicates(groups, device)
            return
        # every replicate's inputs first (members come from all of them), built as without --ensemble:
        # outside the runs' thread pinning, which would change the features extracted
        runs = [(key, inputs) for keys, inputs in groups for key in keys]
        with limit_threads(self.cpus_per_run):
            threads = torch.get_num_threads()
            for members in ensembles(runs):
                describe = self.describe(threads) | ({"ensemble": len(members)} if len(members) > 1 else {})
                yield from run_ensemble(members, device, describe)

    def map(self, keys: Sequence[RunKey], inputs: RunInputs, device: torch.device) -> Iterator[RunOutcome]:
        if self._pool is not None:
            yield from self._pool.map(keys, inputs, device)
            return
        for key in keys:
            with limit_threads(self.cpus_per_run):
                outcome = run_one(key, inputs, device, self.describe(torch.get_num_threads()))
            yield outcome
