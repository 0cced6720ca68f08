"""The updates matrix: conversion from numpy or torch, validation, and streaming helpers.

Every aggregation works on an ``(n, d)`` matrix of ``n`` updates with ``d`` coordinates,
``float32`` or ``float64``, on the CPU. :func:`as_matrix` turns a numpy array or a torch tensor
into such a C-contiguous numpy array (without a copy when it already is one) and returns a
function that turns a numpy result back into the caller's type, dtype and device, so numpy and
torch inputs go through the very same arithmetic and give bit-identical results.

Finiteness (threat A7) is checked inside the first streaming pass of each rule rather than by
an extra pass: a column sum (or sorted extreme) that is finite proves the column finite, and
only when it is not is the chunk inspected exactly (a finite column whose sum overflowed is
not rejected). :func:`raise_if_not_finite` does that inspection.

Long passes over ``d`` are done in column chunks of :data:`CHUNK_COLUMNS` so that temporaries
stay in cache and no copy of the whole matrix is ever made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from ledgerlearn.aggregation.errors import InvalidUpdatesError, NonFiniteUpdateError

__all__ = [
    "CHUNK_COLUMNS",
    "Matrix",
    "Updates",
    "Vector",
    "as_matrix",
    "column_chunks",
    "ensure_finite",
    "group_means",
    "mean_of_rows",
    "raise_if_not_finite",
    "row_norms",
    "scale_rows",
    "weighted_sum_of_rows",
]

Matrix = npt.NDArray[np.floating[Any]]
"""An ``(n, d)`` float32 or float64 numpy array."""
Vector = npt.NDArray[np.floating[Any]]
"""A ``(d,)`` float32 or float64 numpy array."""

Updates = TypeVar("Updates", npt.NDArray[Any], torch.Tensor)
"""The caller's array type: what goes in comes back out."""

CHUNK_COLUMNS = 16_384
"""Columns per chunk in streaming passes (20 float32 rows x 16384 = 1.3 MB, cache-sized)."""

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_matrix(x: npt.NDArray[Any]) -> Matrix:
    if x.ndim != 2:
        raise InvalidUpdatesError(f"updates must be an (n, d) matrix, got shape {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise InvalidUpdatesError(
            f"updates must have n >= 1 rows and d >= 1 columns, got {x.shape}"
        )
    if x.dtype not in _DTYPES:
        raise InvalidUpdatesError(f"updates must be float32 or float64, got {x.dtype}")
    return np.ascontiguousarray(x)


def as_matrix(vectors: Updates) -> tuple[Matrix, Callable[[Matrix], Updates]]:
    """Return the updates as a C-contiguous numpy matrix and a converter back to the input type.

    Parameters
    ----------
    vectors
        ``(n, d)`` numpy array or torch tensor (any device; a tensor that requires grad is
        detached: aggregation is not differentiated through), float32 or float64.

    Returns
    -------
    matrix, back
        The numpy matrix (shares memory with the input when possible) and a function mapping a
        numpy result (vector or matrix) to the caller's type, on the caller's device.

    Raises
    ------
    InvalidUpdatesError
        Wrong type, number of dimensions, empty, or a non-floating dtype.
    """
    if isinstance(vectors, torch.Tensor):
        device = vectors.device
        array = vectors.detach().cpu().numpy()

        def to_torch(result: Matrix) -> torch.Tensor:
            return torch.from_numpy(result).to(device)

        return _check_matrix(array), to_torch
    if isinstance(vectors, np.ndarray):

        def to_numpy(result: Matrix) -> npt.NDArray[Any]:
            return result

        return _check_matrix(vectors), to_numpy
    raise InvalidUpdatesError(
        f"updates must be a numpy array or a torch tensor, got {type(vectors).__name__}"
    )


def column_chunks(d: int, width: int = CHUNK_COLUMNS) -> Iterator[slice]:
    """Yield consecutive column slices of at most ``width`` columns covering ``range(d)``."""
    for start in range(0, d, width):
        yield slice(start, min(start + width, d))


def raise_if_not_finite(block: Matrix, columns: slice | None = None) -> None:
    """Raise :class:`NonFiniteUpdateError` naming the first non-finite entry of ``block``.

    Parameters
    ----------
    block
        ``(n, w)`` rows of the updates (all rows, a chunk of columns).
    columns
        Where ``block`` sits in the full matrix (for the coordinate in the message).
    """
    bad = ~np.isfinite(block)
    if not bad.any():
        return
    offset = 0 if columns is None else int(columns.start)
    rows, cols = np.nonzero(bad)
    first = int(np.lexsort((cols, rows))[0])
    raise NonFiniteUpdateError(int(rows[first]), offset + int(cols[first]))


@np.errstate(over="ignore", invalid="ignore")
def ensure_finite(x: Matrix) -> None:
    """Check that every entry of ``x`` is finite (one streaming pass).

    Raises
    ------
    NonFiniteUpdateError
        Naming the first update (row) and coordinate that is inf or NaN.
    """
    for cols in column_chunks(x.shape[1]):
        block = x[:, cols]
        if not np.isfinite(np.add.reduce(block, axis=0)).all():
            raise_if_not_finite(block, cols)


@np.errstate(over="ignore", invalid="ignore")
def mean_of_rows(x: Matrix, rows: Sequence[int] | npt.NDArray[np.intp] | None = None) -> Vector:
    """Average of the given rows of ``x`` (all rows when ``None``), in ascending row order.

    Rows are added one after the other in the input dtype (a fixed order, so the result is
    bit-reproducible), then divided by their count. If that sum overflows although every
    entry is finite, the chunk is summed again in float64, so the mean of finite values is
    finite. Non-finite entries raise :class:`NonFiniteUpdateError`.
    """
    idx = np.arange(x.shape[0]) if rows is None else np.sort(np.asarray(rows, dtype=np.intp))
    if idx.size == 0:
        raise InvalidUpdatesError("cannot average an empty set of updates")
    out = np.empty(x.shape[1], dtype=x.dtype)
    count = float(idx.size)
    for cols in column_chunks(x.shape[1]):
        acc = out[cols]
        if rows is None:
            np.add.reduce(x[:, cols], axis=0, out=acc)
        else:
            acc[...] = x[idx[0], cols]
            for i in idx[1:]:
                acc += x[i, cols]
        if not np.isfinite(acc).all():
            block = x[idx, cols]
            raise_if_not_finite(block, cols)
            acc[...] = np.add.reduce(block, axis=0, dtype=np.float64) / count
        else:
            acc /= x.dtype.type(count)
    return out


def weighted_sum_of_rows(
    x: Matrix,
    weights: npt.NDArray[np.float64],
    extra: Matrix | None = None,
    extra_weights: npt.NDArray[np.float64] | None = None,
) -> Vector:
    """``sum_i weights[i] * x[i]`` (plus ``sum_j extra_weights[j] * extra[j]``), in ascending
    row order, accumulated in float64 per chunk and rounded once to the dtype of ``x``.

    Used with convex weights (non-negative, summing to one) so the result lies in the convex
    hull of the rows and is finite when the rows are.
    """
    out = np.empty(x.shape[1], dtype=x.dtype)
    terms = [(x, int(i), float(weights[i])) for i in np.flatnonzero(weights)]
    if extra is not None and extra_weights is not None:
        terms += [(extra, int(j), float(extra_weights[j])) for j in np.flatnonzero(extra_weights)]
    for cols in column_chunks(x.shape[1]):
        acc = np.zeros(cols.stop - cols.start, dtype=np.float64)
        for rows, i, w in terms:
            acc += w * rows[i, cols]
        out[cols] = acc
    return out


@np.errstate(over="ignore", invalid="ignore")
def group_means(x: Matrix, groups: Sequence[Sequence[int] | npt.NDArray[np.intp]]) -> Matrix:
    """``(len(groups), d)`` matrix whose row ``g`` is the mean of the rows ``groups[g]`` of ``x``.

    Each group is summed in ascending row order in the input dtype (in float64 for a chunk whose
    float32 sum overflowed although finite), then divided by its size. Inf/NaN raise
    :class:`NonFiniteUpdateError`.
    """
    members = [np.sort(np.asarray(g, dtype=np.intp)) for g in groups]
    if any(g.size == 0 for g in members):
        raise InvalidUpdatesError("cannot average an empty group of updates")
    out = np.empty((len(members), x.shape[1]), dtype=x.dtype)
    for cols in column_chunks(x.shape[1]):
        block = x[:, cols]
        if not np.isfinite(np.add.reduce(block, axis=0)).all():
            raise_if_not_finite(block, cols)
        for g, rows in enumerate(members):
            acc = out[g, cols]
            acc[...] = block[rows[0]]
            for i in rows[1:]:
                acc += block[i]
            if not np.isfinite(acc).all():
                acc[...] = np.add.reduce(block[rows], axis=0, dtype=np.float64) / rows.size
            else:
                acc /= x.dtype.type(rows.size)
    return out


@np.errstate(over="ignore", invalid="ignore")
def row_norms(x: Matrix) -> npt.NDArray[np.float64]:
    """Euclidean norm of every row (float64), checking finiteness in the same pass."""
    sq = np.zeros(x.shape[0], dtype=np.float64)
    for cols in column_chunks(x.shape[1]):
        block = x[:, cols]
        part = np.einsum("ij,ij->i", block, block)
        if not np.isfinite(part).all():
            raise_if_not_finite(block, cols)
            wide = block.astype(np.float64)
            part = np.einsum("ij,ij->i", wide, wide)
        sq += part
    norms: npt.NDArray[np.float64] = np.sqrt(sq)
    return norms


def scale_rows(x: Matrix, factors: npt.NDArray[np.float64]) -> Matrix:
    """A new matrix with row ``i`` of ``x`` multiplied by ``factors[i]`` (rows with factor 1 are
    copied unchanged)."""
    out = np.empty_like(x)
    for i, factor in enumerate(factors.tolist()):
        if factor == 1.0:
            out[i] = x[i]
        else:
            np.multiply(x[i], x.dtype.type(factor), out=out[i])
    return out
