"""Coordinate-wise order statistics of the updates, by a sorting network over rows.

Median, trimmed mean, Meamed, Bulyan's second phase and the reference point of centered
clipping all need, per coordinate, the ``n`` values in sorted order. Sorting each of the ``d``
columns separately costs a function call per column; here the ``n`` rows of a cache-sized
column chunk are sorted all at once by a fixed network of compare-exchange steps (Batcher's
odd-even merge sort, pruned to ``n`` inputs), each step one vectorised ``minimum`` and one
``maximum`` over the chunk. The network is data-independent, so the work and the result are
deterministic and the same on every machine.

Finiteness comes for free: ``minimum``/``maximum`` propagate NaN, and every input of a sorting
network reaches its first output, so a NaN anywhere in a column makes the sorted minimum NaN;
an infinite value ends up first or last. Checking the first and last sorted rows is therefore
a complete inf/NaN check of the chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

import numpy as np

from ledgerlearn.aggregation.inputs import (
    CHUNK_COLUMNS,
    Matrix,
    Vector,
    column_chunks,
    raise_if_not_finite,
)

__all__ = [
    "SORT_CHUNK_COLUMNS",
    "closest_to_median_mean",
    "median_of_sorted",
    "sorted_column_chunks",
    "sorting_network",
]

SORT_CHUNK_COLUMNS = CHUNK_COLUMNS // 2
"""Columns per chunk when sorting (smaller than for the Gram: n row buffers stay in L2)."""


@cache
def sorting_network(n: int) -> tuple[tuple[int, int], ...]:
    """Compare-exchange pairs ``(i, j)``, ``i < j``, that sort ``n`` values.

    Batcher's odd-even merge sort for the next power of two, keeping the comparators whose
    both wires are below ``n`` (the missing inputs act as ``+inf`` and never move).
    """
    size = 1
    while size < n:
        size *= 2
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        a, b = i + j, i + j + k
                        if b < n:
                            pairs.append((a, b))
            k //= 2
        p *= 2
    return tuple(pairs)


def sorted_column_chunks(
    x: Matrix,
    row_indices: Sequence[int] | None = None,
    width: int = SORT_CHUNK_COLUMNS,
) -> Iterator[tuple[slice, list[Vector]]]:
    """Yield ``(columns, rows)``: ``rows[k]`` is the ``k``-th smallest value of each column.

    Only the rows ``row_indices`` of ``x`` take part when given (without copying them out).
    The row buffers are reused between chunks: consume them before asking for the next one.

    Raises
    ------
    NonFiniteUpdateError
        A column of ``x`` contains inf or NaN.
    """
    sources = list(range(x.shape[0])) if row_indices is None else [int(i) for i in row_indices]
    n, d = len(sources), x.shape[1]
    network = sorting_network(n)
    buffers = [np.empty(min(d, width), dtype=x.dtype) for _ in range(n + 1)]
    for cols in column_chunks(d, width):
        w = cols.stop - cols.start
        rows = [buf[:w] for buf in buffers[:n]]
        spare = buffers[n][:w]
        for i, source in enumerate(sources):
            rows[i][...] = x[source, cols]
        for a, b in network:
            np.minimum(rows[a], rows[b], out=spare)
            np.maximum(rows[a], rows[b], out=rows[b])
            rows[a], spare = spare, rows[a]
        if not (np.isfinite(rows[0]).all() and np.isfinite(rows[-1]).all()):
            raise_if_not_finite(x[sources, cols], cols)
        yield cols, rows


@np.errstate(over="ignore")
def median_of_sorted(rows: list[Vector]) -> Vector:
    """Median of each column from its sorted rows: the middle one, or the mean of the two middle.

    The mean of the two middle values is ``(a + b) / 2`` (as numpy's median); where ``a + b``
    overflows, ``a / 2 + b / 2`` instead.
    """
    m = len(rows)
    if m % 2 == 1:
        return rows[m // 2].copy()
    low, high = rows[m // 2 - 1], rows[m // 2]
    half = low.dtype.type(0.5)
    mid: Vector = (low + high) * half
    overflow = ~np.isfinite(mid)
    if overflow.any():
        mid[overflow] = low[overflow] * half + high[overflow] * half
    return mid


@np.errstate(over="ignore", invalid="ignore")
def closest_to_median_mean(rows: list[Vector], keep: int) -> Vector:
    """Per column, the mean of the ``keep`` values closest to the column's median.

    In a sorted column the ``keep`` values closest to a point form a window of consecutive
    values; its start ``s`` is the number of positions ``t`` (``0 <= t < m - keep``) where
    ``a[t]`` is strictly farther below the median than ``a[t + keep]`` is above it (that test
    is monotone in ``t``). Ties at equal distance keep the smaller value. Values are added in
    ascending order, then divided by ``keep``.

    Parameters
    ----------
    rows
        The ``m`` sorted rows of a column chunk (from :func:`sorted_column_chunks`).
    keep
        How many values to average, ``1 <= keep <= m``.
    """
    m = len(rows)
    med = median_of_sorted(rows)
    block = np.stack(rows)
    slack = m - keep
    below = med - block[:slack]
    above = block[keep:] - med
    start = np.add.reduce(below > above, axis=0, dtype=np.intp)
    # gather the window from the flattened block: row (start + k) of column c sits at
    # (start + k) * w + c; values are added in ascending sorted position
    width = block.shape[1]
    flat = block.reshape(-1)
    where = start * width + np.arange(width, dtype=np.intp)
    acc: Vector = flat[where]
    for _ in range(1, keep):
        where += width
        acc += flat[where]
    if not np.isfinite(acc).all():
        # the float32 sum overflowed although every value is finite: redo it in float64
        where = start * width + np.arange(width, dtype=np.intp)
        wide = flat[where].astype(np.float64)
        for _ in range(1, keep):
            where += width
            wide += flat[where]
        wide /= keep
        narrowed: Vector = wide.astype(med.dtype)
        return narrowed
    acc /= med.dtype.type(keep)
    return acc
