"""Tip selection: a score-biased random walk from the initial model toward the tips.

A provider of a dag task chooses the models it builds on by walking the DAG of accepted
updates: it starts at the root (the task's initial weights) and, as long as the current model
has accepted children, moves to one of them with probability

.. math::

    P(x \\to y) \\propto
    \\exp\\big(\\alpha \\, (q(y) - \\max_{z \\in \\text{children}(x)} q(z))\\big)

where :math:`q` is the committee-score quality of :class:`~ledgerlearn.flows.dag_graph.DagGraph`
(metric units, e.g. accuracy in [0, 1]). The walk stops at a tip. ``alpha = 0`` is the
unbiased walk (uniform among children); a large ``alpha`` follows the best-scored child at
every step, so branches grown on poorly scored updates are left to die out. This is the
Markov-chain Monte Carlo tip selection of the IOTA tangle (Popov, "The Tangle", 2018), biased
by the committee's scores instead of cumulative weights.

Each walk draws from a ``numpy.random.Generator``: given the seed and the DAG, the tips chosen
are always the same.
"""

from __future__ import annotations

import math

import numpy as np

from ledgerlearn.flows.dag_graph import DagGraph

__all__ = ["MAX_WALKS_PER_PARENT", "random_walk", "select_parents", "walk_probabilities"]

MAX_WALKS_PER_PARENT = 4
"""Walks :func:`select_parents` tries per parent wanted before it settles for fewer distinct
tips (with a large alpha most walks end at the same, best tip)."""


def walk_probabilities(graph: DagGraph, model: bytes, alpha: float) -> list[float]:
    """Probabilities of moving from ``model`` to each of its children (in acceptance order).

    Raises
    ------
    ValueError
        If ``alpha`` is negative or not finite, or ``model`` has no children.
    """
    _check_alpha(alpha)
    kids = graph.children[model]
    if not kids:
        raise ValueError(f"model 0x{model.hex()} is a tip: it has no children to walk to")
    quality = graph.quality
    best = max(quality[k] for k in kids)
    weights = [math.exp(alpha * (quality[k] - best)) for k in kids]
    total = sum(weights)
    return [w / total for w in weights]


def random_walk(graph: DagGraph, alpha: float, rng: np.random.Generator) -> bytes:
    """One walk from the root to a tip; returns the tip."""
    _check_alpha(alpha)
    model = graph.root
    while graph.children[model]:
        probabilities = walk_probabilities(graph, model, alpha)
        kids = graph.children[model]
        model = kids[int(rng.choice(len(kids), p=probabilities))]
    return model


def select_parents(graph: DagGraph, count: int, alpha: float, seed: int) -> list[bytes]:
    """Up to ``count`` distinct tips, each the end of a random walk, in the order found.

    Parameters
    ----------
    graph
        The DAG as the provider sees it.
    count
        Parents wanted (at least 1; the task's ``maxParents`` caps it).
    alpha
        Bias toward well-scored children (>= 0; 0 is uniform).
    seed
        Seeds the walks: the same seed on the same DAG selects the same parents.

    Returns
    -------
    list of bytes
        Between 1 and ``count`` distinct tips (fewer when the walks keep ending at the same
        ones, e.g. while the DAG has fewer tips than ``count``).
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    chosen: list[bytes] = []
    for _ in range(MAX_WALKS_PER_PARENT * count):
        tip = random_walk(graph, alpha, rng)
        if tip not in chosen:
            chosen.append(tip)
        if len(chosen) == count or len(chosen) == len(graph.tips):
            break
    return chosen


def _check_alpha(alpha: float) -> None:
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
