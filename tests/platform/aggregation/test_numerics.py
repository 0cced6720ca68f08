"""Numerics: one-GEMM centred distances, Krum against a float64 reference, inf/NaN, overflow."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlearn import aggregation as agg
from ledgerlearn.aggregation.distances import centred_gram, pairwise_squared_distances
from ledgerlearn.aggregation.inputs import CHUNK_COLUMNS
from ledgerlearn.aggregation.sorting import sorting_network

torch.set_num_threads(1)

RULE_PARAMS: dict[str, dict[str, Any]] = {
    "mean": {},
    "median": {"num_byzantine": 1},
    "trimmed_mean": {"num_byzantine": 1},
    "geometric_median": {"num_byzantine": 1},
    "krum": {"num_byzantine": 1},
    "multi_krum": {"num_byzantine": 1},
    "bulyan": {"num_byzantine": 1},
    "centered_clipping": {"num_byzantine": 1},
    "mda": {"num_byzantine": 1},
    "meamed": {"num_byzantine": 1},
    "monna": {"num_byzantine": 1},
}


def reference_sq_dist(x: np.ndarray) -> np.ndarray:
    """Exact-ish float64 pairwise squared distances by differences (no expansion)."""
    x64 = x.astype(np.float64)
    return ((x64[:, None, :] - x64[None, :, :]) ** 2).sum(axis=2)


def reference_krum(x: np.ndarray, f: int) -> int:
    dist = reference_sq_dist(x)
    n = x.shape[0]
    scores = [np.sort(np.delete(dist[i], i))[: n - f - 2].sum() for i in range(n)]
    return int(np.argmin(scores))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 15),
    d=st.integers(1, 300),
    offset=st.sampled_from([0.0, 1e3, 1e5, -3e6]),
)
def test_krum_picks_the_float64_reference_index(seed: int, n: int, d: int, offset: float) -> None:
    rng = np.random.default_rng(seed)
    f = (n - 3) // 2
    x = (offset + rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=(n, 1))).astype(
        np.float32
    )
    winner = agg.get("krum", num_byzantine=f)(x)
    assert np.array_equal(winner, x[reference_krum(x, f)])


def test_centring_is_what_saves_float32() -> None:
    # updates of a trained model: a large common part and small differences between them
    rng = np.random.default_rng(0)
    n, d = 12, 5000
    x = (1e4 + rng.standard_normal((n, d)) * 1e-1 * rng.uniform(0.5, 2, size=(n, 1))).astype(
        np.float32
    )
    exact = reference_sq_dist(x)
    ours = pairwise_squared_distances(x)
    off = ~np.eye(n, dtype=bool)
    assert np.max(np.abs(ours - exact)[off] / exact[off]) < 1e-4
    # the naive float32 expansion ||x||^2 - 2<x, y> + ||y||^2 loses everything here
    sq = np.einsum("ij,ij->i", x, x)
    naive = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    assert np.max(np.abs(naive - exact)[off] / exact[off]) > 0.5
    assert agg.get("krum", num_byzantine=4)(x).tolist() == x[reference_krum(x, 4)].tolist()


def test_distances_across_chunk_boundaries() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 2 * CHUNK_COLUMNS + 17)).astype(np.float32)
    np.testing.assert_allclose(pairwise_squared_distances(x), reference_sq_dist(x), rtol=1e-5)
    gram = centred_gram(x)
    assert np.array_equal(gram, gram.T)


@pytest.mark.parametrize("n", range(1, 34))
def test_sorting_network_sorts(n: int) -> None:
    # 0-1 principle would need 2**n inputs; random and adversarial orders are enough here
    rng = np.random.default_rng(n)
    for values in (rng.standard_normal(n), np.arange(n)[::-1].astype(float), np.zeros(n)):
        rows = list(values)
        for a, b in sorting_network(n):
            rows[a], rows[b] = min(rows[a], rows[b]), max(rows[a], rows[b])
        assert rows == sorted(values.tolist())


def test_median_matches_numpy_across_chunks() -> None:
    rng = np.random.default_rng(2)
    for n in (1, 2, 7, 20):
        x = rng.standard_normal((n, CHUNK_COLUMNS + 5)).astype(np.float32)
        assert np.array_equal(agg.get("median")(x), np.median(x, axis=0))


# --- inf / NaN (threat A7) ---------------------------------------------------------------


ALL_CALLABLES = {
    **{name: (lambda name=name: agg.get(name, **RULE_PARAMS[name])) for name in RULE_PARAMS},
    "nnm": lambda: agg.NNM(1),
    "bucketing": lambda: agg.Bucketing(1),
    "clipping": lambda: agg.Clipping(1),
    "arc": lambda: agg.ARC(1),
}


@pytest.mark.parametrize("name", list(ALL_CALLABLES))
@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    bad=st.sampled_from([np.inf, -np.inf, np.nan]),
    row=st.integers(0, 7),
    coordinate=st.integers(0, 4),
)
def test_non_finite_updates_are_rejected(
    name: str, seed: int, bad: float, row: int, coordinate: int
) -> None:
    x = np.random.default_rng(seed).standard_normal((8, 5)).astype(np.float32)
    x[row, coordinate] = bad
    with pytest.raises(agg.NonFiniteUpdateError) as err:
        ALL_CALLABLES[name]()(x)
    assert (err.value.index, err.value.coordinate) == (row, coordinate)
    assert f"update {row}" in str(err.value)


@pytest.mark.parametrize("name", ["mean", "median", "krum", "geometric_median"])
def test_non_finite_found_beyond_the_first_chunk(name: str) -> None:
    x = np.zeros((8, CHUNK_COLUMNS + 100), dtype=np.float32)
    x[5, CHUNK_COLUMNS + 42] = np.nan
    with pytest.raises(agg.NonFiniteUpdateError) as err:
        agg.get(name, **RULE_PARAMS[name])(torch.from_numpy(x))
    assert (err.value.index, err.value.coordinate) == (5, CHUNK_COLUMNS + 42)


@pytest.mark.parametrize("name", list(RULE_PARAMS))
def test_huge_finite_values_give_a_finite_aggregate(name: str) -> None:
    # sums of float32 values near the maximum overflow; the rules redo them in float64
    big = np.finfo(np.float32).max
    x = np.full((8, 3), big * 0.9, dtype=np.float32)
    x[::2] *= 0.99
    out = agg.get(name, **RULE_PARAMS[name])(x)
    assert np.isfinite(out).all()
    assert (out >= x.min(axis=0)).all() and (out <= x.max(axis=0)).all()


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((3, 2), dtype=np.int64),
        np.zeros(3, dtype=np.float32),
        np.zeros((0, 3), dtype=np.float32),
        np.zeros((3, 0), dtype=np.float32),
        np.zeros((2, 2, 2), dtype=np.float32),
        np.zeros((3, 2), dtype=np.float16),
    ],
)
def test_invalid_inputs_are_rejected(bad: np.ndarray) -> None:
    with pytest.raises(agg.InvalidUpdatesError):
        agg.get("median")(bad)


def test_lists_are_not_updates() -> None:
    with pytest.raises(agg.InvalidUpdatesError, match="numpy array or a torch tensor"):
        agg.get("mean")([[1.0], [2.0]])  # type: ignore[type-var]


def test_torch_non_contiguous_and_requires_grad() -> None:
    x = torch.randn(5, 9, dtype=torch.float64, requires_grad=True)
    view = x.T.T[:, ::2]  # a strided view
    out = agg.get("trimmed_mean", num_byzantine=1)(view)
    assert out.shape == (5,) and not out.requires_grad
    expected = np.sort(view.detach().numpy(), axis=0)[1:-1].mean(axis=0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
