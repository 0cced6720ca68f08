"""The DAG as a value: tips, quality, depth, staleness, ranking."""

from __future__ import annotations

import pytest

from ledgerlearn.core.dag_graph import DagGraph

ROOT = b"root"


def graph(
    edges: dict[bytes, tuple[bytes, ...]], scores: dict[bytes, float], **kw: object
) -> DagGraph:
    return DagGraph(ROOT, edges, scores, tuple(edges), **kw)  # type: ignore[arg-type]


def test_tips_children_depth_and_staleness() -> None:
    g = graph(
        {b"a": (ROOT,), b"b": (ROOT,), b"c": (b"a", b"b"), b"d": (b"c",)},
        {b"a": 0.1, b"b": 0.2, b"c": 0.0, b"d": 0.0},
    )
    assert g.children[ROOT] == [b"a", b"b"] and g.children[b"c"] == [b"d"]
    assert g.tips == [b"d"]
    assert g.depth == {ROOT: 0, b"a": 1, b"b": 1, b"c": 2, b"d": 3}
    assert g.staleness([b"d", b"a", ROOT]) == [0, 2, 3]
    empty = graph({}, {})
    assert empty.tips == [ROOT] and empty.ranked_tips() == [ROOT]


def test_quality_accumulates_relative_scores_and_is_the_score_when_absolute() -> None:
    edges = {b"a": (ROOT,), b"b": (ROOT,), b"c": (b"a", b"b")}
    scores = {b"a": 0.4, b"b": 0.2, b"c": 0.05}
    relative = graph(edges, scores)
    assert relative.quality[b"c"] == pytest.approx(max(0.4, 0.2) + 0.05)
    absolute = graph(edges, scores, cumulative=False)
    assert absolute.quality[b"c"] == 0.05 and absolute.quality[b"a"] == 0.4


def test_ranked_tips_best_first_with_horizon_and_margin() -> None:
    edges = {b"a": (ROOT,), b"b": (ROOT,), b"c": (ROOT,), b"d": (ROOT,)}
    scores = {b"a": 0.9, b"b": 0.7, b"c": 0.7, b"d": 0.85}
    decided = {b"a": 10, b"b": 50, b"c": 60, b"d": 100}
    g = graph(edges, scores, cumulative=False, decided=decided)
    assert g.ranked_tips() == [b"a", b"d", b"b", b"c"]  # ties in acceptance order
    assert g.ranked_tips(horizon=50) == [b"d", b"b", b"c"]  # a is stale (90 blocks old)
    assert g.ranked_tips(horizon=50, margin=0.1) == [b"d"]
    assert g.ranked_tips(horizon=0) == [b"d"]
    assert g.ranked_tips(margin=0.05) == [b"a", b"d"]


def test_parents_must_be_earlier_accepted_models() -> None:
    with pytest.raises(ValueError, match="not earlier accepted"):
        graph({b"a": (b"b",), b"b": (ROOT,)}, {b"a": 0.0, b"b": 0.0})
    with pytest.raises(ValueError, match="not earlier accepted"):
        graph({b"a": ()}, {b"a": 0.0})
    with pytest.raises(ValueError, match="no parents or no score"):
        DagGraph(ROOT, {b"a": (ROOT,)}, {}, (b"a",))
