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

DEFAULT_CHUNK_SIZE = 64  # rows per chunk; measured fastest (scores stay in L3 cache)
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


def _descending_key(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Unsigned keys (same width) whose ascending order is the descending order of float ``x``.

    Non-negative floats flip their non-sign bits; negative ones subtract one, which puts -0.0 on
    +0.0's key so the zeros tie. +inf and +NaN sort before all finite values; -inf, then -NaN, after.
    """
    utype = np.dtype(f"u{x.dtype.itemsize}").type
    u = x.view(utype)
    sign = u >> utype(8 * x.dtype.itemsize - 1)
    key = (sign - utype(1)) & utype(np.iinfo(utype).max >> 1)  # wraps to all ones when sign == 0
    key ^= u
    return np.subtract(key, sign, out=out)


def _sorted_keys(scores: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.integer]:
    """Rows sorted by descending score, irrelevant first in a tie: keys (m, n), relevance (m, n), mask.

    ``keys & mask`` is the score part; keys carry relevance, so no argsort. float32 with last
    mantissa bit 0 (``retrieval``'s scores) gives odd keys whose low bit can hold relevance: a
    uint32 sort. Other float32: (key, relevance) uint64 words. Others: cast if exact, else lexsort.
    """
    if scores.dtype != np.float32 and np.array_equal(as32 := scores.astype(np.float32), scores, equal_nan=True):
        scores = as32
    if scores.dtype == np.float32 and not (scores.view(np.uint32) & np.uint32(1)).any():
        keys = _descending_key(scores)
        keys -= np.uint32(1)
        keys |= relevant
        keys.sort(axis=1)
        return keys, (keys & np.uint32(1)).astype(bool), ~np.uint32(1)
    if scores.dtype == np.float32:
        packed = np.empty(scores.shape + (2,), np.uint32)
        _descending_key(scores, out=packed[..., _HIGH])
        packed[..., 1 - _HIGH] = relevant
        packed.view(np.uint64)[..., 0].sort(axis=1)
        return packed[..., _HIGH], packed[..., 1 - _HIGH].astype(bool), ~np.uint32(0)
    keys = _descending_key(scores.astype(np.float64))
    order = np.lexsort((relevant, keys), axis=1)
    return np.take_along_axis(keys, order, 1), np.take_along_axis(relevant, order, 1), ~np.uint64(0)


def _bisect(flat: np.ndarray, lo: np.ndarray, hi: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Vectorised ``lo + np.searchsorted(flat[lo:hi], target)`` (side "left") over many windows."""
    lo, hi = lo.copy(), hi.copy()
    active = np.flatnonzero(lo < hi)
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        below = flat[mid] < target[active]
        lo[active] = np.where(below, mid + 1, lo[active])
        hi[active] = np.where(below, hi[active], mid)
        active = active[lo[active] < hi[active]]
    return lo


def row_sums(scores: np.ndarray, relevant: np.ndarray, harmonic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The AP kernel for one chunk: (sum of expected precision over relevant items, R), each (m,).

    ``scores`` (m, n) float, ``relevant`` (m, n) bool; ``harmonic`` holds H(0..>=n), float64.
    AP = sums / R. Beyond the sort, work is proportional to the number of relevant items.
    """
    m, n = scores.shape
    skey, rel, mask = _sorted_keys(scores, relevant)
    lowest, highest = _descending_key(np.array([np.inf, -np.inf], dtype=f"f{skey.dtype.itemsize}")) & mask
    if n and ((skey[:, 0] & mask <= lowest).any() or (skey[:, -1] & mask > highest).any()):
        raise XmbenchError("scores contain NaN or +inf (only -inf, marking an excluded item, is allowed)")
    flat = skey.reshape(-1)
    pos = np.flatnonzero(rel)  # flat positions of relevant items, in rank order
    row = pos // n
    n_relevant = np.bincount(row, minlength=m)
    before = np.arange(pos.size) - (np.cumsum(n_relevant) - n_relevant)[row]  # relevant ranked above
    col, key = pos - row * n, flat[pos] & mask
    if (key == highest).any():
        raise XmbenchError("a relevant item has score -inf; -inf marks items excluded from the gallery")
    tied = (col > 0) & (flat[pos - 1] & mask == key)  # left neighbour has the same score
    # A relevant item ends its tie group (the sort puts irrelevant items first within a tie), so
    # it is alone in its group unless tied on the left or followed at once by a tied relevant item.
    grouped = tied.copy()
    grouped[:-1] |= tied[1:] & (pos[1:] == pos[:-1] + 1)
    gain = (before + 1) / (col + 1)  # G of a group of one: (Rb + 1) / (c + 1)
    gain[grouped] = 0.0
    sums = np.bincount(row, gain, minlength=m)
    if not grouped.any():
        return sums, n_relevant
    pos, row, key, before, tied = (v[grouped] for v in (pos, row, key, before, tied))
    # Relevant items of one group are adjacent here (same row and key); bisect for its start.
    first = np.flatnonzero(np.append(True, (row[1:] != row[:-1]) | (key[1:] != key[:-1])))
    last = np.append(first[1:], pos.size) - 1
    g_row, start = row[first], pos[first]
    widen = np.flatnonzero(tied[first])
    # No mask needed: a masked target is <= every key of its score and > every key of a higher one.
    start[widen] = _bisect(flat, g_row[widen] * n, start[widen], key[first][widen])
    r, c, size = (last - first + 1).astype(np.float64), start - g_row * n, pos[last] + 1 - start
    d = harmonic[c + size] - harmonic[c]
    gain = r / size * ((before[first] + 1) * d + (r - 1) / np.maximum(size - 1, 1) * (size - (c + 1) * d))
    return sums + np.bincount(g_row, gain, minlength=m), n_relevant


def chunked_average_precision(
    chunk: Callable[[slice], tuple[np.ndarray, np.ndarray]], n_queries: int, n_items: int, *,
    empty_target_action: EmptyTargetAction | str = "error", chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_threads: int = DEFAULT_THREADS,
) -> np.ndarray:
    """AP (n_queries,) from ``chunk(rows)`` -> (scores, relevant), each (rows, n_items), built on demand.

    Only ``n_threads`` chunks of scores exist at once. numpy releases the GIL in sort and ufuncs,
    so the threads run in parallel; every row is independent, so results do not depend on
    chunk_size or n_threads. Queries with no relevant item follow ``empty_target_action``.
    """
    action = EmptyTargetAction.parse(empty_target_action)
    if int(chunk_size) < 1 or int(n_threads) < 1:
        raise XmbenchError(f"chunk_size and n_threads must be >= 1, got {chunk_size} and {n_threads}")
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n_items + 1))])  # H(0..n_items)
    slices = [slice(i, min(i + chunk_size, n_queries)) for i in range(0, n_queries, chunk_size)]
    with ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(lambda rows: row_sums(*chunk(rows), harmonic), slices))
    sums = np.concatenate([np.zeros(0)] + [p[0] for p in parts])
    n_relevant = np.concatenate([np.zeros(0, int)] + [p[1] for p in parts])
    empty = n_relevant == 0
    if action is EmptyTargetAction.ERROR and empty.any():
        raise XmbenchError(
            f"{int(empty.sum())} of {empty.size} queries have no relevant item in the gallery; "
            "pass empty_target_action='skip' (NaN) or 'zero' (0.0) to score them anyway"
        )
    ap = sums / np.maximum(n_relevant, 1)
    ap[empty] = np.nan if action is EmptyTargetAction.SKIP else 0.0
    return ap


def average_precision(
    scores: np.ndarray, relevant: np.ndarray, *, empty_target_action: EmptyTargetAction | str = "error",
    chunk_size: int = DEFAULT_CHUNK_SIZE, n_threads: int = DEFAULT_THREADS,
) -> np.ndarray:
    """Expected (tie-aware) average precision of each query over the whole ranked gallery.

    ``scores``: (q, n) float, higher = more similar; -inf marks an item excluded from the gallery
    (it must not be relevant and changes nothing, as if its column were deleted); NaN or +inf
    raise. -0.0 ties with 0.0. ``relevant``: (q, n) bool. Returns (q,) float64.
    ``empty_target_action`` decides what a query with no relevant item gets: "error" (default)
    raises and says how many queries are empty, "skip" gives NaN, "zero" gives 0.0. float32 is
    fastest; scores float32 cannot represent exactly are ranked exactly, by a slower lexsort.
    """
    scores, relevant = np.asarray(scores), np.asarray(relevant)
    if scores.ndim != 2 or relevant.shape != scores.shape or relevant.dtype != bool \
            or not np.issubdtype(scores.dtype, np.floating):
        raise XmbenchError("scores (q, n) float and relevant (q, n) bool expected, got "
                           f"{scores.shape} {scores.dtype} and {relevant.shape} {relevant.dtype}")
    return chunked_average_precision(
        lambda rows: (scores[rows], relevant[rows]), *scores.shape,
        empty_target_action=empty_target_action, chunk_size=chunk_size, n_threads=n_threads,
    )
