"""Runs as Ray tasks on an existing Ray cluster, or on a local one started for the invocation.

The driver (this process) loads the data, extracts or reads the frozen features and fits the
recognition classifiers once, as with the local executor, and puts them in Ray's object store;
each run is one task that resolves ``--device`` on its worker, pins its threads to its CPU request
and returns its outcome. Only the driver writes the results store, as each task finishes, so the
workers need no shared file system and a lost task never costs the finished ones.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import torch

from xmbench.devices import DeviceChoice, resolve_device
from xmbench.errors import XmbenchError, first_line
from xmbench.executors.base import EXECUTORS, ExecutionConfig, Executor
from xmbench.results.schema import RunKey
from xmbench.runner import RunInputs, RunOutcome, run_one
from xmbench.threads import limit_threads

INSTALL_HINT = "pip install 'xmbench[ray]'"
# A task whose worker or node died is tried once more; a method's own failure is an outcome, never retried.
MAX_RETRIES = 1


def import_ray() -> ModuleType:
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise XmbenchError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from None


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """``address``: a running cluster ("auto", "ray://head:10001", "10.0.0.1:6379"); None starts a
    local cluster for this invocation (unless the process is already connected to one, or
    ``RAY_ADDRESS`` names one). ``gpus_per_run`` None: 1 for ``--device cuda``, 0 for ``cpu``, and
    for ``auto`` 1 when the cluster has GPUs."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_run: int = 1, gpus_per_run: float | None = None,
                 device_choice: str = "auto") -> None:
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.threads_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run
        self.device_choice = DeviceChoice.parse(device_choice)
        self.request: dict[str, float] | None = None  # each task's resources, set when the session starts

    @classmethod
    def from_config(cls, execution: ExecutionConfig, device_choice: str) -> RayExecutor:
        import_ray()
        if execution.gpus_per_run is not None and execution.gpus_per_run < 0:
            raise XmbenchError(f"--gpus-per-run must be >= 0, got {execution.gpus_per_run}")
        if execution.gpus_per_run == 0 and DeviceChoice.parse(device_choice) is DeviceChoice.CUDA:
            raise XmbenchError("--device cuda with --gpus-per-run 0 would give the runs no GPU")
        if execution.ensemble:
            raise XmbenchError("--ensemble trains in one process; it needs the local executor")
        if execution.jobs not in (None, 1):
            raise XmbenchError("--jobs is for the local executor; a Ray cluster runs as many runs at once as "
                               "its CPUs hold (--cpus-per-run each)")
        return cls(execution.address, execution.cpus_per_run or 1, execution.gpus_per_run, device_choice)

    @contextlib.contextmanager
    def session(self, queued: int = 1, device: torch.device | None = None) -> Iterator[None]:
        ray = import_ray()
        owned = not ray.is_initialized()  # else connected by the caller (a notebook, a test): theirs to shut down
        if owned:
            _check_reachable(self.address)
            try:
                ray.init(address=self.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as error:
                where = self.address or "a new local cluster"
                raise XmbenchError(f"could not start or reach the Ray cluster ({where}): {first_line(error)}") from None
        try:
            self.request = self._request(ray)
            cpus = sum(node.get("Resources", {}).get("CPU", 0) for node in ray.nodes() if node.get("Alive"))
            self.running_jobs = max(1, min(queued, int(cpus // self.cpus_per_run)))
            yield
        finally:
            if owned:
                ray.shutdown()

    def map(self, keys: Sequence[RunKey], inputs: RunInputs, device: torch.device) -> Iterator[RunOutcome]:
        ray = import_ray()
        if self.request is None:
            raise XmbenchError("the Ray executor maps runs only inside its session()")
        task = ray.remote(_run_on_worker).options(**self.request, max_retries=MAX_RETRIES)
        shared = ray.put(inputs)
        pending = {task.remote(key, shared, self.device_choice.value, self.cpus_per_run): key for key in keys}
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            key = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as error:
                cause = getattr(error, "cause", None) or error  # a task's own exception, else Ray's
                reason = f"Ray task failed: {type(cause).__name__}: {first_line(cause)}"
                outcome = RunOutcome.failed(key, reason, execution={"executor": self.name, "request": self.request})
            yield outcome

    def _request(self, ray: ModuleType) -> dict[str, float]:
        """Each task's CPU/GPU request, checked against the largest node so nothing waits forever."""
        nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
        gpus = self.gpus_per_run
        if gpus is None:
            wants_gpu = self.device_choice is DeviceChoice.CUDA or (
                self.device_choice is DeviceChoice.AUTO and any(node.get("GPU", 0) >= 1 for node in nodes)
            )
            gpus = 1.0 if wants_gpu else 0.0
        fits = any(node.get("CPU", 0) >= self.cpus_per_run and node.get("GPU", 0) >= gpus for node in nodes)
        if not fits:
            largest = ", ".join(f"{node.get('CPU', 0):g} CPU/{node.get('GPU', 0):g} GPU" for node in nodes) or "none"
            raise XmbenchError(
                f"no node of the Ray cluster can hold a run of {self.cpus_per_run} CPU and {gpus:g} GPU "
                f"(nodes: {largest}); lower --cpus-per-run/--gpus-per-run"
            )
        return {"num_cpus": self.cpus_per_run, "num_gpus": gpus}


def _run_on_worker(key: RunKey, inputs: RunInputs, device_choice: str, threads: int) -> RunOutcome:
    """One Ray task: the device is resolved where the run executes, not on the driver."""
    with limit_threads(threads):
        execution: dict[str, Any] = RayExecutor.describe(torch.get_num_threads())
        try:
            device = resolve_device(device_choice)
        except XmbenchError as error:
            return RunOutcome.failed(key, f"on {execution['host']}: {error}", execution=execution)
        return run_one(key, inputs, device, execution)


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail in seconds on a host:port nobody listens on (Ray itself retries for minutes)."""
    if not address or address == "auto" or address.startswith("local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # a form Ray knows and we don't; let Ray judge it
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise XmbenchError(f"no Ray cluster answers at {address}: {error}") from None

