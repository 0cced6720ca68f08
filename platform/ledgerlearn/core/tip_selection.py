"""Tip selection: a score-biased random walk from the initial model toward the tips.

A provider of a dag task chooses the models it builds on by walking the DAG of accepted
updates. It starts at the root (the task's initial weights); at a model :math:`x` its options
are the accepted children of :math:`x` and, except at the root, :math:`x` itself (stopping
there). It takes option :math:`y` with probability

.. math::

    P(x \\to y) \\propto \\exp\\big(\\alpha \\, (q(y) - \\max_{z} q(z))\\big)

over the options :math:`z`, where :math:`q` is the committee-score quality of
:class:`~ledgerlearn.core.dag_graph.DagGraph` (metric units, e.g. accuracy in [0, 1]) and
the option to stop counts :data:`STOP_PENALTY` below :math:`q(x)`; it moves on until it
stops or reaches a tip. ``alpha = 0`` is the unbiased walk (uniform among
the options); a large ``alpha`` follows the best-scored option at every step, so branches
grown on poorly scored updates are left to die out. This is the Markov-chain Monte Carlo tip
selection of the IOTA tangle (Popov, "The Tangle", 2018), biased by the committee's scores
instead of cumulative weights.

Why a walk may stop before a tip: a good model whose only accepted child is poisoned (the
committee let it through) would otherwise lead every walk into the poisoned branch. With the
option to stop, the walk builds next to the poisoned child instead, and the branch dies out.
The contract accepts any accepted update as a parent, tip or not.

Each walk draws from a ``numpy.random.Generator``: given the seed and the DAG, the parents
chosen are always the same.
"""

from __future__ import annotations

import math

import numpy as np

from ledgerlearn.core.dag_graph import DagGraph

__all__ = ["STOP_PENALTY", "random_walk", "select_parents", "walk_options", "walk_probabilities"]

STOP_PENALTY = 0.1
"""The option to stop at a model counts as this much worse than the model (metric units):
the walk stops early only when the children are clearly worse, as a poisoned one is, not
for the few points of local skew an honest child may lose (stopping at interior models
narrows the mixing of the DAG: in the flows benchmark, walks stopping without this penalty
cost about 3 points of accuracy)."""


def walk_options(graph: DagGraph, model: bytes) -> list[bytes]:
    """Where a walk at ``model`` may go: its children (acceptance order), then ``model``
    itself (stop) unless it is the root; ``[]`` at a tip."""
    kids = graph.children[model]
    if not kids:
        return []
    return kids if model == graph.root else [*kids, model]


def walk_probabilities(
    graph: DagGraph, model: bytes, alpha: float, stop_penalty: float = STOP_PENALTY
) -> list[float]:
    """Probabilities of each of :func:`walk_options` from ``model``.

    Raises
    ------
    ValueError
        If ``alpha`` is negative or not finite, or ``model`` is a tip (nowhere to go).
    """
    _check_alpha(alpha)
    options = walk_options(graph, model)
    if not options:
        raise ValueError(f"model 0x{model.hex()} is a tip: it has no children to walk to")
    quality = graph.quality
    values = [quality[o] - (stop_penalty if o == model else 0.0) for o in options]
    best = max(values)
    weights = [math.exp(alpha * (v - best)) for v in values]
    total = sum(weights)
    return [w / total for w in weights]


def random_walk(graph: DagGraph, alpha: float, rng: np.random.Generator) -> bytes:
    """One walk from the root; returns where it stopped (a tip, or a model it chose to stop
    at rather than move to a worse child)."""
    _check_alpha(alpha)
    model = graph.root
    while True:
        options = walk_options(graph, model)
        if not options:
            return model
        probabilities = walk_probabilities(graph, model, alpha)
        chosen = options[int(rng.choice(len(options), p=probabilities))]
        if chosen == model:
            return model
        model = chosen


def select_parents(graph: DagGraph, count: int, alpha: float, seed: int) -> list[bytes]:
    """The distinct ends of ``count`` random walks (tips, or models a walk stopped at), in
    the order found.

    Walks that end at a tip already chosen add nothing: drawing more walks until ``count``
    distinct tips turn up would reach the unlikely ones — the poorly scored tips the bias is
    there to avoid — far more often than one walk does.

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
        Between 1 and ``count`` distinct tips (fewer when walks end at the same tip: with a
        large alpha, often the best one).
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    chosen: list[bytes] = []
    for _ in range(count):
        tip = random_walk(graph, alpha, rng)
        if tip not in chosen:
            chosen.append(tip)
    return chosen


def _check_alpha(alpha: float) -> None:
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
