"""The one place that decides which torch device a run uses."""

from __future__ import annotations

import torch

from xmbench.errors import XmbenchError
from xmbench.options import StrOption


class DeviceChoice(StrOption):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"

    @classmethod
    def label(cls) -> str:
        return "device"


def resolve_device(choice: str | DeviceChoice) -> torch.device:
    """``auto`` picks CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    choice = DeviceChoice.parse(choice)
    cuda_ok = torch.cuda.is_available()
    if choice is DeviceChoice.CUDA and not cuda_ok:
        raise XmbenchError("--device cuda was requested but torch sees no CUDA device; use auto or cpu")
    if choice is DeviceChoice.CPU or not cuda_ok:
        return torch.device("cpu")
    return torch.device("cuda")


def describe_device(device: torch.device) -> str:
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return f"{device} ({torch.cuda.get_device_name(device)})"


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU), so a timer reads the work, not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
