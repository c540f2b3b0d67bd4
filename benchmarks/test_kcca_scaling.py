"""KCCA fit time against the training-set size: xmbench's ``kcca`` (paper profile: RBF kernel,
median-heuristic widths, shrinkage 0.1, Nystroem rank 2,000, capped at n) against cca_zoo's exact
KCCA with the same kernel widths and shrinkage, at the same n.

Run: pytest benchmarks/test_kcca_scaling.py --benchmark-only -s
Sizes: SIZES pairs of 196-d planted-class features (the default dataset's feature width). xmbench:
best of ROUNDS sweeps over all sizes. cca_zoo (n x n kernels, a 2n x 2n eigenproblem): best of
ROUNDS below 10 s a fit, else once; a size where the log-log line through its last two measured
sizes predicts more than REFERENCE_LIMIT seconds is skipped (the table says so). The scaling
exponents are the least-squares log-log slopes over the sizes both were measured at (xmbench's over
all sizes is printed too). Up to n = rank the Nystroem map is full rank and xmbench solves the same
exact problem; beyond it the fit grows linearly in n. Target: none (a measurement of scaling).
"""

from __future__ import annotations

import time

import numpy as np
from cca_zoo.nonparametric import KCCA as ZooKCCA

from benchtools import best_of, planted_features, seconds_text, speed_ratio
from xmbench.methods import METHODS
from xmbench.options import Modality

SIZES = (500, 1_000, 2_000, 4_000)
ROUNDS, REFERENCE_LIMIT = 2, 60.0  # a paper-rank fit at n >= 2,000 takes ~15 s


def paper_kcca():
    return METHODS.get("kcca").from_profile("paper", seed=0, device="cpu")


def slope(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(seconds) against log(n): the scaling exponent."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def test_kcca_fit_scaling(benchmark, record) -> None:
    data = {n: planted_features(n, seed=n) for n in SIZES}
    sweeps: dict[int, list[float]] = {n: [] for n in SIZES}
    fitted = {}  # n -> the last fit, whose median-heuristic kernel widths the reference reuses

    def sweep() -> None:
        for n in SIZES:
            started = time.perf_counter()
            fitted[n] = paper_kcca().fit(data[n])
            sweeps[n].append(time.perf_counter() - started)

    benchmark.pedantic(sweep, rounds=ROUNDS, iterations=1)
    ours = {n: min(times) for n, times in sweeps.items()}
    reference: dict[int, float] = {}
    skipped: dict[int, float] = {}  # n -> predicted seconds
    for n in SIZES:
        measured = sorted(reference)
        if len(measured) >= 2:
            local = slope(measured[-2:], [reference[m] for m in measured[-2:]])
            predicted = reference[measured[-1]] * (n / measured[-1]) ** local
            if predicted > REFERENCE_LIMIT:
                skipped[n] = predicted
                continue
        ours_model = fitted[n]
        model = ZooKCCA(
            ours_model.n_components, kernel=ours_model.kernel, gamma=[ours_model.gamma_[m] for m in Modality],
            shrinkage=ours_model.shrinkage,
        )
        first = best_of(1, lambda: model.fit([data[n].a, data[n].b]))
        reference[n] = min(first, best_of(ROUNDS - 1, lambda: model.fit([data[n].a, data[n].b]))) if first < 10 else first

    both = sorted(reference)
    ours_slope, reference_slope = slope(both, [ours[n] for n in both]), slope(both, [reference[n] for n in both])
    lines = [f"\nKCCA fit time vs n (paper profile: rank {paper_kcca().rank}; {len(both)} sizes with both):"]
    for n in SIZES:
        rank = min(paper_kcca().rank, n)
        if n in reference:
            ratio = speed_ratio(ours[n], reference[n])
            ref_text, ref_value = f"{reference[n]:.3f} s", seconds_text(reference[n])
        else:
            ratio, ref_text = "-", f"skipped (predicted {skipped[n]:.0f} s > {REFERENCE_LIMIT:.0f} s)"
            ref_value = f"skipped: predicted {skipped[n]:.0f} s > {REFERENCE_LIMIT:.0f} s"
        lines.append(f"  n={n:>5}: xmbench {ours[n]:.3f} s (rank {rank}), cca_zoo exact {ref_text}; {ratio}")
        record(
            benchmark="KCCA fit vs n", measured=f"`kcca` fit, n = {n:,} (Nystroem rank {rank:,}; best of {ROUNDS})",
            value=seconds_text(ours[n]), reference="cca_zoo exact KCCA, same gammas and shrinkage",
            reference_value=ref_value, ratio=ratio,
        )
    span = f"n = {both[0]:,}..{both[-1]:,}"
    lines.append(
        f"  scaling exponent (log-log slope over {span}): xmbench {ours_slope:.2f}, cca_zoo {reference_slope:.2f}; "
        f"xmbench over all sizes {slope(list(SIZES), [ours[n] for n in SIZES]):.2f}"
    )
    print("\n".join(lines))
    record(
        benchmark="KCCA fit vs n", measured=f"`kcca` scaling exponent (log-log slope, {span})",
        value=f"n^{ours_slope:.2f}", reference=f"cca_zoo exact KCCA exponent ({span})",
        reference_value=f"n^{reference_slope:.2f}", ratio=f"exponent {abs(reference_slope - ours_slope):.2f} {'lower' if ours_slope <= reference_slope else 'higher'}",
    )
    assert len(both) >= 2, "cca_zoo must be measured at two sizes at least for its exponent"
