"""Pieces every method family shares: the modality keys, the plain MLP, the reconstruction error."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

MODALITIES = ("a", "b")
OTHER = {"a": "b", "b": "a"}
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def mlp(d_in: int, hidden: Sequence[int], d_out: int, activation: str = "relu") -> nn.Sequential:
    """Linear + ``activation`` per hidden width, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(d_in, width), ACTIVATIONS[activation]()]
        d_in = width
    return nn.Sequential(*layers, nn.Linear(d_in, d_out))


def reconstruction(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Batch mean of the per-row sum of squared errors."""
    return (x - x_hat).pow(2).sum(dim=1).mean()
