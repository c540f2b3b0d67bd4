"""The default executor: runs one after another in this process."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from xmbench.errors import XmbenchError
from xmbench.executors.base import EXECUTORS, ExecutionConfig, Executor
from xmbench.results.schema import RunKey
from xmbench.runner import RunInputs, RunOutcome, run_one
from xmbench.threads import limit_threads


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    name = "local"

    def __init__(self, cpus_per_run: int | None = None) -> None:
        self.cpus_per_run = cpus_per_run

    @classmethod
    def from_config(cls, execution: ExecutionConfig, device_choice: str) -> LocalExecutor:
        if execution.address:
            raise XmbenchError("--address names a Ray cluster; it needs --executor ray")
        if execution.gpus_per_run:
            raise XmbenchError("--gpus-per-run needs --executor ray; the local executor uses --device")
        return cls(execution.cpus_per_run)

    def map(self, keys: Sequence[RunKey], inputs: RunInputs, device: torch.device) -> Iterator[RunOutcome]:
        for key in keys:
            with limit_threads(self.cpus_per_run):
                outcome = run_one(key, inputs, device, self.describe(torch.get_num_threads()))
            yield outcome
