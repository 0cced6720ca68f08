"""Tip selection statistics: a large alpha follows the best-scored branch, alpha = 0 spreads
evenly; walks are deterministic given the seed."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ledgerlearn.core.dag_graph import DagGraph
from ledgerlearn.core.tip_selection import random_walk, select_parents, walk_probabilities

ROOT = b"root"
WALKS = 3000


def fan(qualities: list[float]) -> DagGraph:
    """The root with one child per quality (absolute scores: quality = score)."""
    names = [bytes([65 + i]) for i in range(len(qualities))]
    return DagGraph(
        ROOT,
        {n: (ROOT,) for n in names},
        dict(zip(names, qualities, strict=True)),
        tuple(names),
        cumulative=False,
    )


def branches() -> DagGraph:
    """Two branches from the root: a good one (g1 -> g2, g3) and a poisoned one (p1 -> p2, p3)
    whose first update the committee scored low (relative scores: quality accumulates)."""
    edges = {
        b"g1": (ROOT,),
        b"p1": (ROOT,),
        b"g2": (b"g1",),
        b"g3": (b"g1",),
        b"p2": (b"p1",),
        b"p3": (b"p1",),
    }
    scores = {b"g1": 0.6, b"p1": 0.1, b"g2": 0.02, b"g3": 0.01, b"p2": 0.3, b"p3": 0.3}
    return DagGraph(ROOT, edges, scores, tuple(edges))


def frequencies(graph: DagGraph, alpha: float, walks: int = WALKS) -> Counter[bytes]:
    rng = np.random.default_rng(7)
    return Counter(random_walk(graph, alpha, rng) for _ in range(walks))


def test_alpha_zero_spreads_evenly() -> None:
    g = fan([0.9, 0.6, 0.3, 0.1])
    counts = frequencies(g, 0.0)
    assert set(counts) == set(g.tips)
    expected = WALKS / 4
    # chi-square with 3 degrees of freedom: 16.3 is its 0.1 % quantile
    chi2 = sum((counts[t] - expected) ** 2 / expected for t in g.tips)
    assert chi2 < 16.3, counts
    assert walk_probabilities(g, ROOT, 0.0) == pytest.approx([0.25] * 4)


def test_high_alpha_picks_the_best_branch_most_often() -> None:
    g = fan([0.9, 0.6, 0.3, 0.1])
    low, high = frequencies(g, 5.0), frequencies(g, 50.0)
    assert high.most_common(1)[0][0] == b"A"
    assert high[b"A"] / WALKS > 0.99
    assert low[b"A"] / WALKS < high[b"A"] / WALKS  # more bias, more often the best
    shares = [low[t] for t in (b"A", b"B", b"C", b"D")]
    assert shares == sorted(shares, reverse=True)  # the order of the scores
    p = walk_probabilities(g, ROOT, 5.0)
    assert p[0] / p[1] == pytest.approx(np.exp(5.0 * 0.3))
    assert len(p) == 4  # no option to stop at the root


def test_the_walk_follows_the_good_branch_down_the_dag() -> None:
    g = branches()
    counts = frequencies(g, 20.0)
    good = counts[b"g1"] + counts[b"g2"] + counts[b"g3"]
    assert good / WALKS > 0.99  # the poisoned branch is reached through p1 only
    assert counts[b"g1"] < 0.1 * WALKS  # children about as good: the walk moves on
    uniform = frequencies(g, 0.0)
    poisoned = (uniform[b"p1"] + uniform[b"p2"] + uniform[b"p3"]) / WALKS
    assert 0.45 < poisoned < 0.55


def test_a_good_model_whose_only_child_is_poisoned_is_not_a_trap() -> None:
    """The walk may stop at a model rather than move to a much worse child: honest
    providers then build next to the poisoned update, not on it."""
    edges = {b"x": (ROOT,), b"y": (ROOT,), b"bad": (b"x",)}
    scores = {b"x": 0.9, b"y": 0.6, b"bad": 0.2}
    g = DagGraph(ROOT, edges, scores, tuple(edges), cumulative=False)
    assert g.tips == [b"y", b"bad"]
    biased = frequencies(g, 20.0)
    assert biased[b"x"] / WALKS > 0.99 and biased[b"bad"] == 0
    uniform = frequencies(g, 0.0)  # half the walks go to x, half of those on to the child
    assert 0.2 < uniform[b"bad"] / WALKS < 0.3
    # the option to stop counts a little below the model itself
    p = walk_probabilities(g, b"x", 10.0, stop_penalty=0.1)
    assert p[1] / p[0] == pytest.approx(np.exp(10.0 * (0.9 - 0.1 - 0.2)))


def test_select_parents_is_deterministic_and_distinct() -> None:
    g = fan([0.5, 0.5, 0.5, 0.5, 0.5])
    first = select_parents(g, 3, 1.0, seed=11)
    assert first == select_parents(g, 3, 1.0, seed=11)
    assert 1 <= len(first) <= 3 and len(set(first)) == len(first)
    draws = [tuple(select_parents(g, 3, 1.0, seed=s)) for s in range(40)]
    assert len(set(draws)) > 10 and max(len(d) for d in draws) == 3
    # the best tip only, when the bias is extreme and the walks keep ending there
    assert select_parents(fan([0.9, 0.1]), 2, 1000.0, seed=1) == [b"A"]
    assert select_parents(DagGraph(ROOT, {}, {}, ()), 2, 1.0, seed=1) == [ROOT]


def test_bad_parameters_are_refused() -> None:
    g = fan([0.5])
    with pytest.raises(ValueError, match="alpha"):
        select_parents(g, 1, -1.0, seed=0)
    with pytest.raises(ValueError, match="alpha"):
        random_walk(g, float("nan"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="count"):
        select_parents(g, 0, 1.0, seed=0)
    with pytest.raises(ValueError, match="is a tip"):
        walk_probabilities(g, b"A", 1.0)
