"""What every GAN method shares: the discriminator losses on logits, and the discriminator accuracies
recorded in the training curve (a discriminator near 0.5 on both real and fake inputs is inert)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def real_loss(logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(logits) against target 1: -log D."""
    return F.softplus(-logits).mean()


def fake_loss(logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(logits) against target 0: -log(1 - D)."""
    return F.softplus(logits).mean()


def discriminator_accuracy(name: str, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """``d_acc_real_<name>``: the fraction of real inputs judged real (logit > 0); ``d_acc_fake_<name>``:
    of fake inputs judged fake (logit < 0). Detached; computed on the batch of the discriminator's update."""
    with torch.no_grad():
        return {f"d_acc_real_{name}": (real > 0).float().mean(), f"d_acc_fake_{name}": (fake < 0).float().mean()}
