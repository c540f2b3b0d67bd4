"""What every executor shares: its options, its registry and the one method it implements."""

from __future__ import annotations

import contextlib
import platform
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from xmbench.registry import Registry
from xmbench.results.schema import RunKey
from xmbench.runner import RunInputs, RunOutcome


@dataclass(frozen=True)
class ExecutionConfig:
    """Where an invocation's runs execute. ``cpus_per_run`` is also each run's torch/BLAS thread
    count (None: leave the process's own; 1 for the local executor's worker processes);
    ``gpus_per_run`` None means "as the device asks"; ``jobs``: the local executor's runs at once,
    each in its own process (None: one per core when several runs are queued on the CPU; the Python
    API's ``RunConfig`` defaults to 1, in this process)."""

    executor: str = "local"
    address: str | None = None
    cpus_per_run: int | None = None
    gpus_per_run: float | None = None
    jobs: int | None = 1
    ensemble: bool = False  # local executor: the seeds of a method that supports it train as one vmapped ensemble


class Executor(ABC):
    """Turns run keys into outcomes; the caller writes each outcome to the store as it arrives."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_config(cls, execution: ExecutionConfig, device_choice: str) -> Executor:
        """Validate the options before any work starts (a bad option costs no feature extraction)."""

    threads_per_run: int | None = None  # each run's pinned thread count once the session has started (None: unpinned)
    running_jobs: int = 1  # runs executing at once in this session

    @contextlib.contextmanager
    def session(self, queued: int = 1, device: torch.device | None = None) -> Iterator[None]:
        """Held around the data preparation and ``map`` of ``queued`` runs on ``device``: connect
        before the costly part, so a wrong cluster address fails in seconds, and let go afterwards."""
        yield

    @abstractmethod
    def map(self, keys: Sequence[RunKey], inputs: RunInputs, device: torch.device) -> Iterator[RunOutcome]:
        """Yield one outcome per key, in the order they finish; a failure is an outcome, not an exception."""

    def map_replicates(self, groups: Iterable[tuple[Sequence[RunKey], RunInputs]],
                       device: torch.device) -> Iterator[RunOutcome]:
        """``map`` over each (runs, their shared inputs) of an invocation, one replicate after another;
        an executor that trains runs of several replicates together (``--ensemble``) takes them all."""
        for keys, inputs in groups:
            yield from self.map(keys, inputs, device)

    @classmethod
    def describe(cls, threads: int) -> dict[str, Any]:
        """The manifest's ``execution`` entry of a run made here."""
        return {"executor": cls.name, "host": platform.node(), "torch_threads": threads}


EXECUTORS: Registry[type[Executor]] = Registry("executor")
