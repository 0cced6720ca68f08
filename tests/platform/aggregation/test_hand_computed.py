"""Hand-computed cases, one or more per rule and pre-aggregator (values worked out in comments)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ledgerlearn import aggregation as agg
from ledgerlearn.aggregation.bucketing import seeded_permutation
from ledgerlearn.aggregation.bulyan import bulyan_selection
from ledgerlearn.aggregation.distances import pairwise_squared_distances
from ledgerlearn.aggregation.krum import krum_scores

torch.set_num_threads(1)


def col(*values: float) -> np.ndarray:
    """Updates of dimension 1: one row per value."""
    return np.array(values, dtype=np.float64)[:, None]


# points 0, 1, 2, 3, 14 on a line (d = 1), f = 1: Krum scores n - f - 2 = 2 neighbours.
# (their mean, 4, is exact, so the centred distances are exact integers and ties are exact)
# squared distances:      to 0   1   2   3   14     two nearest    score
#   0                         -   1   4   9  196     1 + 4          5
#   1                         1   -   1   4  169     1 + 1          2
#   2                         4   1   -   1  144     1 + 1          2
#   3                         9   4   1   -  121     1 + 4          5
#   14                      196 169 144 121   -      121 + 144      265
LINE = col(0, 1, 2, 3, 14)


def test_krum_scores_and_tie_to_lowest_index() -> None:
    scores = krum_scores(pairwise_squared_distances(LINE), 2)
    assert scores.tolist() == [5, 2, 2, 5, 265]
    # indices 1 and 2 tie at 2: the lowest index wins -> the update 1
    assert agg.get("krum", num_byzantine=1)(LINE).tolist() == [1.0]


def test_multi_krum() -> None:
    # default m = n - f = 4: scores 2, 2, 5, 5 -> updates 0, 1, 2, 3 -> mean 1.5
    assert agg.get("multi_krum", num_byzantine=1)(LINE).tolist() == [1.5]
    # m = 3: stable order of scores is 1, 2, 0, 3, 4 -> {0, 1, 2} (0 beats 3 on the tie) -> 1
    assert agg.get("multi_krum", num_byzantine=1, num_selected=3)(LINE).tolist() == [1.0]


def test_mean() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
    # (1 + 3 + 5) / 3 = 3; (2 + 4 + 9) / 3 = 5
    assert agg.get("mean")(x).tolist() == [3.0, 5.0]


def test_median_even_and_odd() -> None:
    x = np.array([[1.0, 10.0], [2.0, 0.0], [100.0, 5.0], [4.0, -1.0]])
    # column 0 sorted 1 2 4 100 -> (2 + 4) / 2 = 3; column 1 sorted -1 0 5 10 -> (0 + 5) / 2
    assert agg.get("median")(x).tolist() == [3.0, 2.5]
    assert agg.get("median")(col(1, 7, 3)).tolist() == [3.0]


def test_trimmed_mean() -> None:
    x = np.array([[1.0, -50.0], [2.0, 0.0], [3.0, 1.0], [4.0, 2.0], [100.0, 3.0]])
    # f = 1 per side: column 0 keeps 2 3 4 -> 3; column 1 keeps 0 1 2 -> 1
    assert agg.get("trimmed_mean", num_byzantine=1)(x).tolist() == [3.0, 1.0]


def test_meamed_and_its_tie_rule() -> None:
    x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 3.0], [10.0, 4.0]])
    # column 0: median 1.5; distances 1.5 .5 .5 8.5 -> keep 0 1 2 -> 1
    # column 1: median 2; distances 2 1 1 2: 0 and 4 tie, the smaller is kept -> (0+1+3)/3
    out = agg.get("meamed", num_byzantine=1)(x)
    np.testing.assert_allclose(out, [1.0, 4.0 / 3.0], rtol=1e-15)


def test_geometric_median() -> None:
    # collinear 0, 1, 10: the geometric median is the middle point 1
    np.testing.assert_allclose(agg.get("geometric_median")(col(0, 1, 10)), [1.0], atol=1e-5)
    # corners of a square: by symmetry the centre (1, 1); the mean start is already optimal
    square = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(agg.get("geometric_median")(square), [1.0, 1.0], rtol=1e-12)


def test_bulyan_selection_and_aggregate() -> None:
    # n = 7, f = 1: theta = 5 Krum rounds, beta = 3. Points 0 1 2 3 4 5 104 (mean 17, exact).
    # round 1 (7 left, 4 neighbours): scores 30 15 10 10 15 30 huge -> index 2
    # round 2 (0 1 3 4 5 104, 3 neighbours): 26 14 9 11 21 -> index 3
    # round 3 (0 1 4 5 104, 2 neighbours): 17 10 10 17 -> tie, lowest index 1
    # round 4 (0 4 5 104, 1 neighbour): 16 1 1 -> index 4
    # round 5 (0 5 104, 1 neighbour): 25 25 -> index 0
    x = col(0, 1, 2, 3, 4, 5, 104)
    assert bulyan_selection(pairwise_squared_distances(x), 1).tolist() == [0, 1, 2, 3, 4]
    # selected values 0..4: median 2, the beta = 3 closest are 1 2 3 -> 2
    assert agg.get("bulyan", num_byzantine=1)(x).tolist() == [2.0]


def test_mda_and_its_lexicographic_tie() -> None:
    # 0 1 3 10, f = 1: subsets of 3 have diameters {0,1,3}: 3, {0,1,10}: 10, {0,3,10}: 10,
    # {1,3,10}: 9 -> {0,1,3} -> 4/3
    np.testing.assert_allclose(agg.get("mda", num_byzantine=1)(col(0, 1, 3, 10)), [4 / 3])
    # 0 2 4 6: {0,2,4} and {2,4,6} both have diameter 4: the first (indices 0 1 2) -> 2
    assert agg.get("mda", num_byzantine=1)(col(0, 2, 4, 6)).tolist() == [2.0]


def test_monna_with_given_and_default_pivot() -> None:
    x = col(0, 1, 3, 10)
    # pivot 3 (value 10): nearest 3 are 10 (itself), 3, 1 -> 14/3
    np.testing.assert_allclose(agg.get("monna", num_byzantine=1, pivot=3)(x), [14 / 3])
    # default pivot: sum of squared distances to the n - f - 1 = 2 nearest others:
    # 0: 1 + 9 = 10, 1: 1 + 4 = 5, 3: 4 + 9 = 13, 10: 49 + 81 = 130 -> pivot 1 (value 1)
    # its 3 nearest: 1, 0, 3 -> 4/3
    np.testing.assert_allclose(agg.get("monna", num_byzantine=1)(x), [4 / 3])


def test_centered_clipping() -> None:
    x = col(0, 1, 10)
    # v0 = median = 1; distances 1 0 9; radius = the ceil(3/2) = 2nd smallest = 1
    # v1 = 1 + ((0-1)*1 + 0 + (10-1)*(1/9)) / 3 = 1: a fixed point
    np.testing.assert_allclose(agg.get("centered_clipping", num_byzantine=0)(x), [1.0])
    # fixed radius 3, one iteration: v1 = 1 + (-1 + 0 + 9 * 3/9) / 3 = 5/3
    rule = agg.get("centered_clipping", num_byzantine=0, radius=3.0, num_iterations=1)
    np.testing.assert_allclose(rule(x), [5 / 3])


def test_nnm() -> None:
    # f = 1: each point becomes the mean of its 3 nearest (itself included)
    # 0 -> {0,1,3} 4/3; 1 -> {1,0,3} 4/3; 3 -> {3,1,0} 4/3; 10 -> {10,3,1} 14/3
    out = agg.NNM(1)(col(0, 1, 3, 10))
    np.testing.assert_allclose(out[:, 0], [4 / 3, 4 / 3, 4 / 3, 14 / 3])


def test_clipping_radius_from_norms() -> None:
    x = np.array([[3.0, 4.0], [0.0, 1.0], [6.0, 8.0]])
    # norms 5 1 10, f = 0, quantile 0.5: the ceil(0.5 * 3) = 2nd smallest = 5
    # -> [6, 8] is scaled to norm 5: [3, 4]; the others are unchanged
    np.testing.assert_allclose(agg.Clipping(0)(x), [[3, 4], [0, 1], [3, 4]])
    # f = 1 drops the largest norm first: the ceil(0.5 * 2) = 1st smallest = 1
    np.testing.assert_allclose(agg.Clipping(1)(x), [[0.6, 0.8], [0, 1], [0.6, 0.8]])


def test_arc() -> None:
    x = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0], [0.0, -20.0]])
    # n = 4, f = 1: k = floor(2 * 1 * 3 / 4) = 1 clipped, to the 3rd smallest norm (5)
    np.testing.assert_allclose(agg.ARC(1)(x), [[1, 0], [0, 2], [3, 4], [0, -5]])


def test_bucketing_partitions_the_updates() -> None:
    x = np.diag([1.0, 2.0, 4.0, 8.0, 16.0])  # row i has 2**i at coordinate i
    out = agg.Bucketing(bucket_size=2, seed=7)(x)
    assert out.shape == (3, 5)  # ceil(5 / 2) buckets
    # every update lands in exactly one bucket: bucket sizes times means add back to x's sums
    sizes = np.array([2, 2, 1])
    np.testing.assert_allclose((out * sizes[:, None]).sum(axis=0), x.sum(axis=0))
    assert np.array_equal(out, agg.Bucketing(bucket_size=2, seed=7)(x))
    np.testing.assert_allclose(agg.Bucketing(bucket_size=5)(x), x.mean(axis=0, keepdims=True))


@pytest.mark.parametrize("rule", ["krum", "median", "trimmed_mean"])
def test_pipeline_equals_manual_composition(rule: str) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 4))
    piped = agg.get(rule, num_byzantine=2, pre=[{"kind": "nnm"}, {"kind": "arc"}])(x)
    manual = agg.get(rule, num_byzantine=2)(agg.ARC(2)(agg.NNM(2)(x)))
    assert np.array_equal(piped, manual)


def test_bucketing_shuffle_is_pinned() -> None:
    # the shuffle is part of what committee members recompute: it must never change silently
    assert seeded_permutation(10, 0) == [9, 7, 0, 4, 1, 2, 3, 8, 6, 5]
    assert seeded_permutation(10, 1) == [0, 6, 7, 4, 5, 9, 1, 3, 8, 2]
    # seed 7, n = 5 -> order 4 0 3 2 1 -> buckets {4, 0}, {3, 2}, {1}
    x = np.arange(5.0)[:, None]
    assert agg.Bucketing(bucket_size=2, seed=7)(x)[:, 0].tolist() == [2.0, 2.5, 1.0]
