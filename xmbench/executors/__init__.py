"""Executors: where an invocation's runs execute (this process, or a Ray cluster)."""

from xmbench.executors import local, ray_cluster  # noqa: F401  (registers the executors)
from xmbench.executors.base import EXECUTORS, ExecutionConfig, Executor


def make_executor(execution: ExecutionConfig, device_choice: str) -> Executor:
    """The configured executor, its options validated."""
    return EXECUTORS.get(execution.executor).from_config(execution, device_choice)


__all__ = ["EXECUTORS", "ExecutionConfig", "Executor", "make_executor"]
