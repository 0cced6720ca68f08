"""The line search of the optimised attacks: the scale that moves the rule's aggregate most.

Reference: Allouah et al., "Fixing by Mixing: A Recipe for Optimal Byzantine ML under
Heterogeneity" (AISTATS 2023), and ByzFL's optimal ALIE and IPM: the task's aggregation rule
is public, so the attackers try their attack at every scale of a grid and keep the one whose
vectors pull the rule's aggregate farthest from the honest mean.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ledgerlearn.aggregation import get
from ledgerlearn.core.attacks.attack import Matrix, Vector, rows

__all__ = ["SCALE_GRID", "LineSearched", "line_search", "scale_gaps"]

log = logging.getLogger(__name__)

SCALE_GRID = tuple(float(x) for x in np.geomspace(0.05, 100.0, 24))
"""Scales the optimised attacks try (a geometric grid)."""


def scale_gaps(
    honest: Matrix,
    rule: str,
    num_byzantine: int,
    num_attackers: int,
    vector_at: Callable[[float], Vector],
) -> list[tuple[float, float]]:
    """Every scale of :data:`SCALE_GRID` with how far its vector moves the task's aggregate
    from the honest mean, the most damaging first (ties: the smaller scale first).

    The aggregate is computed as the task would: the honest vectors plus ``num_attackers``
    copies of ``vector_at(scale)``, with the task's rule and num_byzantine (a rule that
    refuses the count falls back to the mean: the attacker still needs a number).
    """
    mean = honest.mean(axis=0)
    try:
        aggregator = get(rule, num_byzantine=num_byzantine)
        aggregator.check_num_updates(len(honest) + num_attackers)
    except Exception:  # the attacker's estimate of the round differs from the task's
        aggregator = get("mean")
    gaps = []
    for scale in SCALE_GRID:
        vector = vector_at(scale)
        stacked = np.vstack([honest, np.repeat(vector[None, :], num_attackers, axis=0)])
        gaps.append((scale, float(np.linalg.norm(np.asarray(aggregator(stacked)) - mean))))
    return sorted(gaps, key=lambda sg: (-sg[1], sg[0]))


def line_search(
    honest: Matrix,
    rule: str,
    num_byzantine: int,
    num_attackers: int,
    vector_at: Callable[[float], Vector],
) -> tuple[float, Vector]:
    """The scale whose vector moves the task's aggregate farthest from the honest mean (see
    :func:`scale_gaps`), and that vector."""
    scale, gap = scale_gaps(honest, rule, num_byzantine, num_attackers, vector_at)[0]
    log.info("line search picked scale %.3g (aggregate moved by %.3g)", scale, gap)
    return scale, vector_at(scale)


class LineSearched:
    """A family of attack vectors with its scale chosen by :func:`line_search` against the
    task's rule; a subclass names the family (``at``: scale -> vector, for given honest
    vectors)."""

    name: str
    at: Callable[[Matrix], Callable[[float], Vector]]

    def __call__(
        self,
        honest_vectors: Matrix,
        *,
        num_attackers: int,
        providers: int,
        rule: str,
        num_byzantine: int,
        rng: np.random.Generator,
    ) -> Matrix:
        """The family's vector at its most damaging scale, once per attacker."""
        at = self.at(honest_vectors)
        _, vector = line_search(honest_vectors, rule, num_byzantine, num_attackers, at)
        return rows(vector, num_attackers)
