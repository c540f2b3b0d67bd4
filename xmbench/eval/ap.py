"""Tie-aware average precision over a whole ranked gallery.

AP = (1/R) * sum over the R relevant items of the precision at that item's rank (CM-GANs Eq. 11).
Tied scores get the expected AP over all orderings of each tie group (McSherry & Najork 2008), so
ties are scored fairly and deterministically. For a tie group at ranks c+1..c+n holding r relevant
items, with Rb relevant items ranked before it and D = H(c+n) - H(c) (harmonic numbers):
    G = (r/n) * [(Rb + 1) * D + (r-1)/(n-1) * (n - (c+1) * D)]     ((r-1)/(n-1) := 0 when n = 1)
and AP = sum of G over groups / R.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from xmbench.errors import XmbenchError
from xmbench.options import StrOption

DEFAULT_CHUNK_SIZE = 256
DEFAULT_THREADS = 2
# Word of a (uint32, uint32) pair that is most significant when the pair is read as a uint64.
_HIGH = 1 if sys.byteorder == "little" else 0


class EmptyTargetAction(StrOption):
    """Policy for a query with no relevant item: raise ("error"), NaN ("skip") or 0.0 ("zero")."""

    ERROR = "error"
    SKIP = "skip"
    ZERO = "zero"

    @classmethod
    def label(cls) -> str:
        return "empty_target_action"


def harmonic_numbers(n: int) -> np.ndarray:
    """H(0..n) as float64, shape (n + 1,)."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1, dtype=np.float64))])


def _descending_key(x: np.ndarray) -> np.ndarray:
    """Unsigned keys of the same width whose ascending order is the descending order of float ``x``.

    Non-negative floats flip their non-sign bits; negative floats subtract one, which lands -0.0 on
    +0.0's key so the two zeros tie. +inf and positive NaN sort before every finite value; -inf and
    then negative NaN after.
    """
    utype = np.dtype(f"u{x.dtype.itemsize}").type
    u = x.view(utype)
    sign = u >> utype(8 * x.dtype.itemsize - 1)
    key = (sign - utype(1)) & utype(np.iinfo(utype).max >> 1)  # wraps to all ones when sign == 0
    key ^= u
    key -= sign
    return key


def _sorted_keys(scores: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by descending score: (score keys, relevance), both (m, n).

    float32 takes the fast path: one ascending in-place sort of uint64 words (score key high,
    relevance low), so no argsort; any other dtype is sorted exactly as float64 with an argsort.
    """
    if scores.dtype == np.float32:
        packed = np.empty(scores.shape + (2,), np.uint32)
        packed[..., _HIGH] = _descending_key(scores)
        packed[..., 1 - _HIGH] = relevant
        packed.view(np.uint64)[..., 0].sort(axis=1)
        return packed[..., _HIGH], packed[..., 1 - _HIGH]
    keys = _descending_key(scores.astype(np.float64))
    order = np.argsort(keys, axis=1)
    return np.take_along_axis(keys, order, 1), np.take_along_axis(relevant, order, 1)


def _bisect(flat: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray, side: str) -> np.ndarray:
    """Vectorised ``lo + np.searchsorted(flat[lo:hi], target, side)`` over many windows."""
    lo, hi = lo.copy(), hi.copy()
    active = np.flatnonzero(lo < hi)
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        value, t = flat[mid], target[active]
        right = value <= t if side == "right" else value < t
        lo[active] = np.where(right, mid + 1, lo[active])
        hi[active] = np.where(right, hi[active], mid)
        active = active[lo[active] < hi[active]]
    return lo


def row_sums(scores: np.ndarray, relevant: np.ndarray, harmonic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The AP kernel for one chunk: (sum of expected precision over relevant items, R), each (m,).

    ``scores`` (m, n) float, ``relevant`` (m, n) bool; ``harmonic`` is ``harmonic_numbers(>= n)``.
    AP = sums / R. Only tie groups holding a relevant item are visited.
    """
    m, n = scores.shape
    skey, rel = _sorted_keys(scores, relevant)
    lowest, highest = _descending_key(np.array([np.inf, -np.inf], dtype=f"f{skey.dtype.itemsize}"))
    if n and ((skey[:, 0] <= lowest).any() or (skey[:, -1] > highest).any()):
        raise XmbenchError("scores contain NaN or +inf (only -inf, marking an excluded item, is allowed)")
    flat = skey.reshape(-1)
    pos = np.flatnonzero(rel.astype(bool, copy=False))
    row = pos // n
    n_relevant = np.bincount(row, minlength=m)
    key = flat[pos]
    if (key == highest).any():
        raise XmbenchError("a relevant item has score -inf; -inf marks items excluded from the gallery")
    # Relevant items of one tie group sit next to each other in `pos`: same row and same key.
    new_group = np.ones(pos.size, bool)
    new_group[1:] = (row[1:] != row[:-1]) | (key[1:] != key[:-1])
    first = np.flatnonzero(new_group)
    last = np.append(first[1:], pos.size) - 1
    g_row, target = row[first], key[first]
    row_start = g_row * n
    start, stop = pos[first], pos[last] + 1
    # Widen a group over the irrelevant items tied with it; bisect only where a neighbour ties.
    tied = np.flatnonzero((start > row_start) & (flat[np.maximum(start - 1, 0)] == target))
    start[tied] = _bisect(flat, row_start[tied], start[tied], target[tied], "left")
    tied = np.flatnonzero((stop < row_start + n) & (flat[np.minimum(stop, flat.size - 1)] == target))
    stop[tied] = _bisect(flat, stop[tied], row_start[tied] + n, target[tied], "right")
    r = (last - first + 1).astype(np.float64)
    before = first - (np.cumsum(n_relevant) - n_relevant)[g_row]  # Rb
    c, size = start - row_start, stop - start
    d = harmonic[c + size] - harmonic[c]
    gain = r / size * ((before + 1) * d + (r - 1) / np.maximum(size - 1, 1) * (size - (c + 1) * d))
    return np.bincount(g_row, gain, minlength=m), n_relevant


def map_row_chunks(
    fn: Callable[[slice], tuple[np.ndarray, ...]], n_rows: int, chunk_size: int, n_threads: int
) -> tuple[np.ndarray, ...]:
    """Run ``fn`` on consecutive row slices (on ``n_threads`` threads); concatenate outputs in order.

    numpy releases the GIL in sort and ufuncs, so threads give real parallelism; results do not
    depend on chunk_size or n_threads because every row is computed independently.
    """
    if int(chunk_size) < 1 or int(n_threads) < 1:
        raise XmbenchError(f"chunk_size and n_threads must be >= 1, got {chunk_size} and {n_threads}")
    slices = [slice(i, min(i + chunk_size, n_rows)) for i in range(0, n_rows, chunk_size)]
    if n_threads == 1 or len(slices) <= 1:
        parts = [fn(s) for s in slices]
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(pool.map(fn, slices))
    return tuple(np.concatenate(p) for p in zip(*parts))


def apply_empty_target(sums: np.ndarray, n_relevant: np.ndarray, action: EmptyTargetAction | str) -> np.ndarray:
    """AP = sums / R, with queries whose R = 0 handled by ``action`` (see ``EmptyTargetAction``)."""
    action = EmptyTargetAction.parse(action)
    empty = n_relevant == 0
    if action is EmptyTargetAction.ERROR and empty.any():
        raise XmbenchError(
            f"{int(empty.sum())} of {empty.size} queries have no relevant item in the gallery; "
            "pass empty_target_action='skip' (NaN) or 'zero' (0.0) to score them anyway"
        )
    ap = sums / np.maximum(n_relevant, 1)
    ap[empty] = np.nan if action is EmptyTargetAction.SKIP else 0.0
    return ap


def _fast_dtype(scores: np.ndarray) -> np.ndarray:
    """float32 when that loses nothing (so the fast path applies), else float64."""
    if scores.dtype == np.float32:
        return scores
    as32 = scores.astype(np.float32)
    return as32 if np.array_equal(as32, scores, equal_nan=True) else scores.astype(np.float64)


def average_precision(
    scores: np.ndarray,
    relevant: np.ndarray,
    *,
    empty_target_action: EmptyTargetAction | str = EmptyTargetAction.ERROR,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int = DEFAULT_THREADS,
) -> np.ndarray:
    """Expected (tie-aware) average precision of each query over the whole ranked gallery.

    ``scores``: (q, n) float, higher = more similar; -inf marks an item excluded from the gallery
    (it must not be relevant and changes nothing, as if its column were deleted); NaN or +inf
    raise. -0.0 ties with 0.0. ``relevant``: (q, n) bool. Returns (q,) float64.
    ``empty_target_action`` decides what a query with no relevant item gets: "error" (default)
    raises and says how many queries are empty, "skip" gives NaN, "zero" gives 0.0.
    """
    action = EmptyTargetAction.parse(empty_target_action)
    scores, relevant = np.asarray(scores), np.asarray(relevant)
    if scores.ndim != 2 or relevant.shape != scores.shape:
        raise XmbenchError(f"scores and relevant must be 2-D of one shape, got {scores.shape} and {relevant.shape}")
    if relevant.dtype != bool or not np.issubdtype(scores.dtype, np.floating):
        raise XmbenchError(f"scores must be float and relevant bool, got {scores.dtype} and {relevant.dtype}")
    harmonic = harmonic_numbers(scores.shape[1])

    def chunk(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        return row_sums(_fast_dtype(scores[rows]), relevant[rows], harmonic)

    if scores.shape[0] == 0:
        return np.zeros(0)
    sums, n_relevant = map_row_chunks(chunk, scores.shape[0], chunk_size, n_threads)
    return apply_empty_target(sums, n_relevant, action)
