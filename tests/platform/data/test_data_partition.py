"""Partitioners: coverage, determinism, skew, minimum sizes, clear refusals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from ledgerlearn.data import (
    DirichletPartitioner,
    IidPartitioner,
    IndexArray,
    Partitioner,
    PartitionError,
    ShardPartitioner,
    class_counts,
    dirichlet_partition,
    holdout_indices,
    iid_partition,
    load_digits,
    shard_partition,
    stratified_partition,
)

torch.set_num_threads(1)

PartitionFn = Callable[[npt.NDArray[np.int64], int, int], list[IndexArray]]

PARTITIONS: dict[str, PartitionFn] = {
    "iid": lambda y, n, seed: iid_partition(y, n, seed=seed),
    "dirichlet-0.1": lambda y, n, seed: dirichlet_partition(y, n, alpha=0.1, seed=seed),
    "dirichlet-100": lambda y, n, seed: dirichlet_partition(y, n, alpha=100.0, seed=seed),
    "shards-2": lambda y, n, seed: shard_partition(y, n, shards_per_client=2, seed=seed),
    "stratified": lambda y, n, seed: stratified_partition(y, n, seed=seed),
}


@pytest.fixture(scope="module")
def digits_labels() -> npt.NDArray[np.int64]:
    return load_digits().y


def _check_is_partition(parts: list[IndexArray], total: int, num_clients: int) -> None:
    assert len(parts) == num_clients
    assert sum(p.size for p in parts) == total
    assert all(p.size >= 1 for p in parts)
    assert all(p.dtype == np.int64 and np.all(np.diff(p) > 0) for p in parts)  # sorted, unique
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(total))


def _mean_label_entropy(parts: list[IndexArray], labels: npt.NDArray[np.int64]) -> float:
    counts = class_counts(parts, labels, 10).astype(np.float64)
    shares = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(shares > 0, -shares * np.log2(shares), 0.0)
    return float(terms.sum(axis=1).mean())


@pytest.mark.parametrize("kind", sorted(PARTITIONS))
@pytest.mark.parametrize("num_clients", [1, 7, 10, 50])
def test_every_sample_once_every_client_some(
    kind: str, num_clients: int, digits_labels: npt.NDArray[np.int64]
) -> None:
    parts = PARTITIONS[kind](digits_labels, num_clients, 3)
    _check_is_partition(parts, digits_labels.size, num_clients)


@pytest.mark.parametrize("kind", sorted(PARTITIONS))
def test_deterministic_for_a_seed(kind: str, digits_labels: npt.NDArray[np.int64]) -> None:
    first = PARTITIONS[kind](digits_labels, 10, 42)
    again = PARTITIONS[kind](digits_labels, 10, 42)
    other = PARTITIONS[kind](digits_labels, 10, 43)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 9), min_size=1, max_size=300),
    num_clients=st.integers(1, 40),
    seed=st.integers(0, 2**32),
    alpha=st.sampled_from([0.01, 0.3, 1.0, 1000.0]),
)
def test_partition_invariants_hold_for_any_labels(
    labels: list[int], num_clients: int, seed: int, alpha: float
) -> None:
    y = np.array(labels, dtype=np.int64)
    if y.size < num_clients:
        for kind in ("iid", "stratified"):
            with pytest.raises(PartitionError, match=r"cannot give \d+ clients one sample each"):
                PARTITIONS[kind](y, num_clients, seed)
        with pytest.raises(PartitionError):
            dirichlet_partition(y, num_clients, alpha=alpha, seed=seed)
        return
    _check_is_partition(iid_partition(y, num_clients, seed=seed), y.size, num_clients)
    _check_is_partition(stratified_partition(y, num_clients, seed=seed), y.size, num_clients)
    _check_is_partition(
        dirichlet_partition(y, num_clients, alpha=alpha, seed=seed), y.size, num_clients
    )
    if y.size >= 2 * num_clients:
        _check_is_partition(shard_partition(y, num_clients, seed=seed), y.size, num_clients)


def test_iid_sizes_differ_by_at_most_one(digits_labels: npt.NDArray[np.int64]) -> None:
    sizes = [p.size for p in iid_partition(digits_labels, 10, seed=0)]
    assert max(sizes) - min(sizes) <= 1


def test_dirichlet_small_alpha_is_more_skewed(digits_labels: npt.NDArray[np.int64]) -> None:
    entropies = {
        alpha: np.mean(
            [
                _mean_label_entropy(
                    dirichlet_partition(digits_labels, 10, alpha=alpha, seed=s), digits_labels
                )
                for s in range(3)
            ]
        )
        for alpha in (0.1, 1.0, 100.0)
    }
    assert entropies[0.1] < entropies[1.0] < entropies[100.0]
    assert entropies[100.0] > 3.2  # close to log2(10) = 3.32: nearly IID
    assert entropies[0.1] < 1.5  # a couple of classes per client
    iid = _mean_label_entropy(iid_partition(digits_labels, 10, seed=0), digits_labels)
    assert iid > entropies[1.0]


def test_dirichlet_minimum_size_by_repair() -> None:
    y = np.repeat(np.arange(10), 10)
    parts = dirichlet_partition(y, 50, alpha=0.01, seed=1)
    _check_is_partition(parts, 100, 50)
    parts = dirichlet_partition(y, 20, alpha=0.01, seed=1, min_samples=5)
    assert all(p.size == 5 for p in parts)
    with pytest.raises(PartitionError, match=r"cannot give 21 clients 105 samples from 100"):
        dirichlet_partition(y, 21, alpha=0.5, seed=1, min_samples=5)


def test_dirichlet_empty_classes_do_not_change_the_draws(
    digits_labels: npt.NDArray[np.int64],
) -> None:
    default = dirichlet_partition(digits_labels, 5, alpha=0.5, seed=9)
    explicit = dirichlet_partition(digits_labels, 5, alpha=0.5, seed=9, num_classes=10)
    assert all(np.array_equal(a, b) for a, b in zip(default, explicit, strict=True))
    with pytest.raises(PartitionError, match=r"label 9 is outside \[0, 5\)"):
        dirichlet_partition(digits_labels, 5, alpha=0.5, seed=9, num_classes=5)


def test_shards_give_each_client_few_classes(digits_labels: npt.NDArray[np.int64]) -> None:
    parts = shard_partition(digits_labels, 10, shards_per_client=2, seed=0)
    classes_per_client = (class_counts(parts, digits_labels, 10) > 0).sum(axis=1)
    assert classes_per_client.max() <= 4  # two shards, each straddling at most two classes
    assert classes_per_client.mean() <= 3.0  # against 10 for an IID split
    # With equal classes and shards half a class long, each client has at most two classes.
    balanced = np.repeat(np.arange(10), 100)
    exact = shard_partition(balanced, 10, shards_per_client=2, seed=5)
    assert (class_counts(exact, balanced, 10) > 0).sum(axis=1).max() <= 2
    sizes = [p.size for p in parts]
    assert max(sizes) - min(sizes) <= 2


def test_stratified_parts_share_the_label_distribution(
    digits_labels: npt.NDArray[np.int64],
) -> None:
    counts = class_counts(stratified_partition(digits_labels, 7, seed=0), digits_labels, 10)
    assert (counts.max(axis=0) - counts.min(axis=0)).max() <= 1
    sizes = counts.sum(axis=1)
    assert sizes.max() - sizes.min() <= 1


def test_holdout_is_stratified(digits_labels: npt.NDArray[np.int64]) -> None:
    train, test = holdout_indices(digits_labels, 0.2, seed=0)
    assert test.size == round(0.2 * digits_labels.size)
    assert np.intersect1d(train, test).size == 0 and train.size + test.size == 1797
    expected = np.bincount(digits_labels) * 0.2
    assert np.abs(np.bincount(digits_labels[test]) - expected).max() <= 1
    with pytest.raises(PartitionError, match=r"strictly in \(0, 1\)"):
        holdout_indices(digits_labels, 1.0, seed=0)
    with pytest.raises(PartitionError, match=r"gives 0 test samples"):
        holdout_indices(np.array([0, 1, 0]), 0.1, seed=0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: iid_partition(np.arange(3), 4, seed=0), r"cannot give 4 clients one sample"),
        (lambda: iid_partition(np.arange(3), 0, seed=0), r"num_clients must be a positive"),
        (lambda: iid_partition(np.arange(3), 2, seed=-1), r"seed must be a non-negative"),
        (lambda: iid_partition(np.zeros((2, 2), int), 2, seed=0), r"1-D array"),
        (lambda: iid_partition(np.array([0.5, 1.0]), 2, seed=0), r"labels must be integers"),
        (lambda: iid_partition(np.array([-1, 1]), 2, seed=0), r"labels must be non-negative"),
        (
            lambda: dirichlet_partition(np.arange(9), 3, alpha=0.0, seed=0),
            r"alpha must be a positive number, got 0.0",
        ),
        (
            lambda: dirichlet_partition(np.arange(9), 3, alpha=float("inf"), seed=0),
            r"alpha must be finite",
        ),
        (
            lambda: dirichlet_partition(np.arange(9), 3, alpha=float("nan"), seed=0),
            r"alpha must be a positive number",
        ),
        (
            lambda: shard_partition(np.arange(9), 5, shards_per_client=2, seed=0),
            r"5 clients x 2 shards per client = 10 shards, but there are only 9 samples",
        ),
        (lambda: stratified_partition(np.arange(2), 3, seed=0), r"cannot give 3 clients"),
    ],
)
def test_impossible_requests_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(PartitionError, match=message):
        call()


def test_configuration_edge(digits_labels: npt.NDArray[np.int64]) -> None:
    adapter: TypeAdapter[IidPartitioner | DirichletPartitioner | ShardPartitioner] = TypeAdapter(
        Partitioner
    )
    parsed = adapter.validate_python({"kind": "dirichlet", "alpha": 0.5})
    assert isinstance(parsed, DirichletPartitioner)
    expected = dirichlet_partition(digits_labels, 4, alpha=0.5, seed=2)
    got = parsed(digits_labels, 4, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    assert isinstance(adapter.validate_python({"kind": "shards"}), ShardPartitioner)
    assert isinstance(adapter.validate_python({"kind": "iid"}), IidPartitioner)
    for bad in ({"kind": "dirichlet", "alpha": 0}, {"kind": "zipf"}, {"kind": "iid", "x": 1}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
