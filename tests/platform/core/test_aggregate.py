"""The flows' aggregate maths on flat vectors: a round's aggregate, a merge of parents,
staleness dampening."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ledgerlearn.core.aggregate import aggregate_vectors, dampen, merge_vectors, round_aggregator


def rows(*values: float) -> np.ndarray:
    return np.array([[v, 2 * v, -v] for v in values], dtype=np.float32)


def test_a_round_aggregate_is_the_rule_at_the_count_it_allows() -> None:
    assert np.array_equal(aggregate_vectors(rows(1, 2, 9), "median", 0), rows(2)[0])
    assert np.allclose(aggregate_vectors(rows(1, 2, 9), "mean", 0), rows(4)[0])
    assert aggregate_vectors(rows(1, 2, 9), "mean", 0).dtype == np.float32
    # Krum with f=1 needs 2f + 3 = 5 updates: with 3 it falls back to f=0
    assert round_aggregator("krum", 1, 5).num_byzantine == 1
    assert round_aggregator("krum", 1, 3).num_byzantine == 0
    # and with fewer than Krum accepts at all, the coordinate-wise median
    assert np.array_equal(aggregate_vectors(rows(1, 3), "krum", 1), rows(2)[0])


def test_a_merge_is_the_rule_over_the_parents_and_one_parent_is_itself() -> None:
    assert np.array_equal(merge_vectors(rows(1, 2, 9), "median", 0), rows(2)[0])
    alone = rows(3)
    copy = merge_vectors(alone, "median", 0, staleness=[5], beta=1.0)
    assert np.array_equal(copy, alone[0])
    copy[0] = 7.0
    assert alone[0, 0] == 3.0  # a copy, not the parent itself
    with pytest.raises(ValueError, match="at least one parent"):
        merge_vectors(rows(), "median", 0)


def test_dampening_pulls_stale_parents_toward_the_freshest() -> None:
    vectors = np.array([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0]], dtype=np.float32)
    out = dampen(vectors, [1, 3, 1], beta=0.5)
    # the freshest (first least stale) row is the reference and stays
    assert np.array_equal(out[0], vectors[0]) and np.array_equal(out[2], vectors[2])
    factor = math.exp(-0.5 * 2)
    assert np.allclose(out[1], factor * vectors[1])
    assert np.array_equal(dampen(vectors, [0, 0, 0], beta=3.0), vectors)
    with pytest.raises(ValueError, match="staleness"):
        dampen(vectors, [0, 1], beta=1.0)
    with pytest.raises(ValueError, match="beta"):
        dampen(vectors, [0, 1, 2], beta=-1.0)
    damped = merge_vectors(rows(0, 4), "mean", 0, staleness=[0, 2], beta=math.log(2))
    assert np.allclose(damped, rows(0.5)[0])  # 4 pulled to 1, then the mean
