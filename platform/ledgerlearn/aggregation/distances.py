"""Pairwise squared distances between updates from one mean-centred Gram matrix.

Krum, Multi-Krum, Bulyan, MDA, MoNNA, NNM, the geometric median and centered clipping all need
the distances between the ``n`` updates (or between the updates and a few extra points). They
are computed once, in one streaming pass, as

    ``D[i, j] = G[i, i] + G[j, j] - 2 G[i, j]``  with  ``G = (X - 1 m^T)(X - 1 m^T)^T``,

where ``m`` is the coordinate-wise mean of the updates: one GEMM per column chunk on centred
data, accumulated in float64 across chunks.

Why centre: the expansion ``||x||^2 - 2<x, y> + ||y||^2`` of uncentred float32 data cancels
catastrophically when the updates are large and close to each other (weights of a trained
model, or updates shifted by a common offset): every term is ~``||x||^2`` while the difference
is many orders of magnitude smaller, and float32 keeps 7 digits. Distances are invariant to a
common shift, so subtracting the mean first costs nothing in exactness and brings every term
down to the scale of the spread of the updates. Within a chunk the subtraction of two nearby
float32 numbers is exact, and the GEMM accumulates over at most
:data:`~ledgerlearn.aggregation.inputs.CHUNK_COLUMNS` products before the float64 sum.

Distances also stay in "weight space": a point ``z = sum_i w_i x_i`` with ``sum_i w_i = 1`` has
``||x_i - z||^2 = G[i, i] - 2 (G w)[i] + w^T G w``, which lets iterative rules (Weiszfeld,
centered clipping) iterate on ``n x n`` matrices and touch the ``d`` coordinates only twice.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.inputs import (
    CHUNK_COLUMNS,
    Matrix,
    column_chunks,
    raise_if_not_finite,
)

__all__ = [
    "centred_gram",
    "distances_to_combination",
    "pairwise_squared_distances",
    "squared_distances_from_gram",
]

FloatMatrix64 = npt.NDArray[np.float64]


@np.errstate(over="ignore", invalid="ignore")
def centred_gram(x: Matrix, extra: Matrix | None = None) -> FloatMatrix64:
    """Gram matrix of the rows of ``x`` (and of ``extra``) centred on the mean of ``x``.

    Also checks that every entry of ``x`` and ``extra`` is finite, in the same pass.

    Parameters
    ----------
    x
        ``(n, d)`` updates.
    extra
        Optional ``(e, d)`` further points (same dtype), e.g. a reference point; their rows come
        after those of ``x`` in the result. They do not move the centre.

    Returns
    -------
    numpy.ndarray
        ``(n + e, n + e)`` float64, exactly symmetric.

    Raises
    ------
    NonFiniteUpdateError
        An entry of ``x`` (or ``extra``) is inf or NaN.
    """
    n, d = x.shape
    e = 0 if extra is None else extra.shape[0]
    gram = np.zeros((n + e, n + e), dtype=np.float64)
    inv_n = x.dtype.type(1.0 / n)
    buffer = np.empty((n + e, min(d, CHUNK_COLUMNS)), dtype=x.dtype)
    centre = np.empty(min(d, CHUNK_COLUMNS), dtype=x.dtype)
    for cols in column_chunks(d):
        width = cols.stop - cols.start
        block = x[:, cols]
        mu = np.add.reduce(block, axis=0, out=centre[:width])
        if not np.isfinite(mu).all():
            raise_if_not_finite(block, cols)
            mu[...] = np.add.reduce(block, axis=0, dtype=np.float64) / n
        else:
            mu *= inv_n
        centred = buffer[:, :width]
        np.subtract(block, mu, out=centred[:n])
        if extra is not None:
            extra_block = extra[:, cols]
            if not np.isfinite(extra_block).all():
                raise_if_not_finite(extra_block, cols)
            np.subtract(extra_block, mu, out=centred[n:])
        product = centred @ centred.T
        if not np.isfinite(product).all():
            # finite but huge entries overflowed the float32 products: redo the chunk in float64
            wide = centred.astype(np.float64)
            product = wide @ wide.T
        gram += product
    return (gram + gram.T) * 0.5


def squared_distances_from_gram(gram: FloatMatrix64) -> FloatMatrix64:
    """``D[i, j] = G[i, i] + G[j, j] - 2 G[i, j]``, clamped at zero, with an exact zero diagonal."""
    diag = np.diag(gram)
    dist = diag[:, None] + diag[None, :] - 2.0 * gram
    np.maximum(dist, 0.0, out=dist)
    np.fill_diagonal(dist, 0.0)
    return (dist + dist.T) * 0.5


def pairwise_squared_distances(x: Matrix) -> FloatMatrix64:
    """``(n, n)`` squared Euclidean distances between the rows of ``x`` (float64).

    One streaming pass over ``x`` (see the module docstring). Raises
    :class:`~ledgerlearn.aggregation.errors.NonFiniteUpdateError` on inf/NaN.
    """
    return squared_distances_from_gram(centred_gram(x))


def distances_to_combination(
    gram: FloatMatrix64, weights: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Euclidean distances from every point of ``gram`` to ``z = sum_i weights[i] * point_i``.

    ``weights`` must sum to one (an affine combination), so the centre of the Gram matrix
    cancels. Computed with element-wise products and sums (no BLAS), so the result does not
    depend on the BLAS build.
    """
    gw = (gram * weights[None, :]).sum(axis=1)
    wgw = float((weights * gw).sum())
    sq = np.diag(gram) - 2.0 * gw + wgw
    dist: npt.NDArray[np.float64] = np.sqrt(np.maximum(sq, 0.0))
    return dist
