"""The maths of both flows' aggregates, on flat vectors: a round's aggregate, a merge of parents.

A federation round aggregates its accepted models with the task's robust rule at the largest
number of Byzantine inputs the count allows (:func:`round_aggregator`,
:func:`aggregate_vectors`). A dag update's parents are merged the same way
(:func:`merge_vectors`), optionally after pulling stale parents toward the freshest one
(:func:`dampen`). Everything is deterministic, so every member recomputes the same bytes; the
flows flatten models in their spec's order, call these and unflatten the result.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from ledgerlearn.aggregation import Aggregator, BreakdownPointError, get
from ledgerlearn.core.types import Float32Array, Vector

__all__ = ["aggregate_vectors", "dampen", "merge_vectors", "round_aggregator"]

log = logging.getLogger(__name__)


def round_aggregator(rule: str, num_byzantine: int, accepted: int) -> Aggregator:
    """The task's rule for a round that accepted ``accepted`` updates.

    The task declares ``num_byzantine`` for all its providers; the committee has already
    rejected some updates, and fewer accepted updates than the rule needs at that count must
    not stall the round. The rule then tolerates the largest count ``f' <= num_byzantine``
    its breakdown point allows for ``accepted`` updates; if even ``f' = 0`` is refused (e.g.
    Krum with fewer than 3 updates), the coordinate-wise median is used. Deterministic, so
    every member recomputes the same aggregate.
    """
    for f in range(num_byzantine, -1, -1):
        aggregator = get(rule, num_byzantine=f)
        try:
            aggregator.check_num_updates(accepted)
        except BreakdownPointError:
            continue
        if f < num_byzantine:
            log.info("%s: %d accepted updates allow num_byzantine=%d", rule, accepted, f)
        return aggregator
    log.info("%s: %d accepted updates are too few; coordinate-wise median", rule, accepted)
    return get("median")


def aggregate_vectors(vectors: Float32Array, rule: str, num_byzantine: int) -> Vector:
    """The aggregate of ``(n, d)`` flat models (not deltas), in the order given, with the
    task's rule at the count :func:`round_aggregator` allows for ``n``."""
    aggregator = round_aggregator(rule, num_byzantine, len(vectors))
    return np.asarray(aggregator(vectors), dtype=np.float32)


def dampen(vectors: Float32Array, staleness: Sequence[int], beta: float) -> Float32Array:
    """Pull stale rows toward the freshest one: Kardam's exponential dampening on models.

    Row ``i`` becomes ``fresh + exp(-beta * (s_i - s_fresh)) * (row_i - fresh)``, where
    ``fresh`` is the first row with the least staleness ``s`` (Damaskinos et al.,
    "Asynchronous Byzantine Machine Learning (the case of SGD)", ICML 2018: a gradient
    computed ``s`` steps ago is weighted by ``Lambda(s) = exp(-beta * s)``).
    """
    if len(staleness) != len(vectors):
        raise ValueError(f"{len(vectors)} models but {len(staleness)} staleness values")
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    fresh = int(np.argmin(staleness))
    reference = vectors[fresh].astype(np.float64)
    out = np.empty_like(vectors)
    for i, row in enumerate(vectors):
        factor = math.exp(-beta * (staleness[i] - staleness[fresh]))
        out[i] = (reference + factor * (row.astype(np.float64) - reference)).astype(np.float32)
    return out


def merge_vectors(
    vectors: Float32Array,
    rule: str,
    num_byzantine: int,
    *,
    staleness: Sequence[int] | None = None,
    beta: float | None = None,
) -> Vector:
    """The parents' merge: the task's rule over the ``(n, d)`` flat parents, in the order
    named.

    The rule tolerates as many Byzantine inputs as the number of parents allows (see
    :func:`round_aggregator`); one parent is its own merge (a copy). With ``staleness`` and
    ``beta``, stale parents are dampened first (:func:`dampen`).
    """
    if len(vectors) == 0:
        raise ValueError("a merge needs at least one parent")
    if len(vectors) == 1:
        return np.array(vectors[0], dtype=np.float32, copy=True)
    if staleness is not None and beta is not None:
        vectors = dampen(vectors, staleness, beta)
    return aggregate_vectors(vectors, rule, num_byzantine)
