"""The device option: auto picks what exists, an unavailable or unknown device is a clear error."""

from __future__ import annotations

import pytest
import torch

from xmbench.devices import resolve_device
from xmbench.errors import XmbenchError


def test_cpu_and_auto_resolve_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(XmbenchError, match="no CUDA device"):
        resolve_device("cuda")


def test_auto_prefers_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cpu").type == "cpu"


def test_unknown_device_lists_valid_values():
    with pytest.raises(XmbenchError, match="invalid device 'tpu'; valid: auto, cpu, cuda"):
        resolve_device("tpu")
