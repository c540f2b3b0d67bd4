"""Latent recovery: the code z a generator G needs to reproduce a given sample x, by minimising
||G(z) - x||^2 (SyncGAN Eq. 3, after Lipton & Tripathi, "Precise recovery of latent vectors from
generative adversarial networks", 2017). Per row and deterministic: every row starts from the
nearest (in G's output space) of candidate codes shared by all rows, then descends on its own
error only, so identical rows get identical codes and chunking changes nothing but rounding.
"""

from __future__ import annotations

import torch
from torch import nn


def decode(G: nn.Module, z: torch.Tensor, chunk: int) -> torch.Tensor:
    """G(z) in chunks of ``chunk`` rows, without gradients."""
    with torch.no_grad():
        return torch.cat([G(part) for part in z.split(chunk)])


def recover(G: nn.Module, X: torch.Tensor, starts: torch.Tensor, steps: int, lr: float, chunk: int) -> torch.Tensor:
    """Codes of the rows of X: each starts at its nearest candidate in ``starts`` (seeded restarts,
    keeping the best, compared before descending), then ``steps`` Adam(``lr``) steps on the sum of
    per-row squared errors, ``chunk`` rows at a time."""
    images = decode(G, starts, chunk).flatten(1)
    recovered = []
    for x in X.split(chunk):
        with torch.no_grad():  # exact distances: the matmul shortcut could round identical rows apart
            nearest = torch.cdist(x.flatten(1), images, compute_mode="donot_use_mm_for_euclid_dist").argmin(dim=1)
        z = starts[nearest].clone().requires_grad_(True)
        optimizer = torch.optim.Adam([z], lr=lr)
        with torch.enable_grad():
            for _ in range(steps):
                loss = (G(z) - x).pow(2).sum()  # a sum, not a mean: each z's update is its own
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        recovered.append(z.detach())
    return torch.cat(recovered)


def explained_variance(G: nn.Module, X: torch.Tensor, z: torch.Tensor, chunk: int) -> float:
    """1 - ||G(z) - X||^2 / ||X - mean(X)||^2 over all rows and entries (NaN for constant X)."""
    with torch.no_grad():
        error = sum(float((G(zc) - xc).pow(2).sum()) for zc, xc in zip(z.split(chunk), X.split(chunk), strict=True))
    total = float((X - X.mean(dim=0)).pow(2).sum())
    return 1.0 - error / total if total > 0 else float("nan")
