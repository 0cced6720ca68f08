"""Partitioners: split a dataset's samples among clients, by index, deterministically.

Experiments need many providers with their own shard of one dataset, identically distributed
or not. Every function here is pure: it takes the labels (a 1-D integer array) and returns one
array of sample indices per client, sorted ascending, disjoint, covering every sample exactly
once. The same labels, parameters and seed always give the same partition (numpy's
``default_rng(seed)``), on every platform. Every client gets at least one sample; a request
that cannot honour that raises :class:`~ledgerlearn.data.errors.PartitionError` naming the
numbers.

- :func:`iid_partition`: a uniformly random split into near-equal parts (sizes differ by at
  most one).
- :func:`dirichlet_partition`: label skew. For each class ``k`` a vector of client proportions
  ``p_k ~ Dir(alpha, ..., alpha)`` is drawn and the samples of class ``k`` are dealt out in
  those proportions. Small ``alpha`` (0.1) gives each client few classes; large ``alpha``
  (100) approaches IID. Hsu, Qi and Brown, *Measuring the effects of non-identical data
  distribution for federated visual classification*, 2019 (arXiv:1909.06335); Yurochkin et
  al., *Bayesian nonparametric federated learning of neural networks*, ICML 2019.
- :func:`shard_partition`: the pathological non-IID split of McMahan et al., *Communication-
  efficient learning of deep networks from decentralized data*, AISTATS 2017: sort the samples
  by label, cut them into ``num_clients * shards_per_client`` equal shards and give each client
  ``shards_per_client`` random shards, so that each client sees about that many classes.
- :func:`stratified_partition`: parts with the same label distribution (each class's count
  differs by at most one between parts); used for validation fragments.
- :func:`holdout_indices`: a stratified train / test split.

The pydantic models :class:`IidPartitioner`, :class:`DirichletPartitioner` and
:class:`ShardPartitioner` (union :data:`Partitioner`, discriminated on ``kind``) carry the
parameters at the configuration edge and call the functions.

Design decisions
----------------
- Dirichlet partitions guarantee the minimum size by *repair*, not by resampling: after the
  draw, each client below ``min_samples`` takes one sample at a time from the currently largest
  client (from that client's most frequent class). Resampling until every client is large
  enough can loop for a very long time with small ``alpha``; the repair moves at most
  ``num_clients * min_samples`` samples and keeps the partition deterministic.
- Ties are broken by seeded random permutations, never by the input order alone.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from ledgerlearn.data.errors import PartitionError

__all__ = [
    "PARTITIONERS",
    "DirichletPartitioner",
    "IidPartitioner",
    "IndexArray",
    "Partitioner",
    "ShardPartitioner",
    "class_counts",
    "dirichlet_partition",
    "holdout_indices",
    "iid_partition",
    "shard_partition",
    "stratified_partition",
]

IndexArray = npt.NDArray[np.int64]
"""A 1-D array of sample indices."""


# --- pure functions ------------------------------------------------------------------------


def iid_partition(labels: npt.ArrayLike, num_clients: int, *, seed: int) -> list[IndexArray]:
    """Split the samples uniformly at random into ``num_clients`` near-equal parts.

    Parameters
    ----------
    labels
        1-D integer labels, one per sample (only their number is used).
    num_clients
        Number of parts, at least 1 and at most the number of samples.
    seed
        Seed of the random permutation.

    Returns
    -------
    list of numpy.ndarray
        One sorted int64 index array per client; sizes differ by at most one.

    Raises
    ------
    PartitionError
        If the labels are not a 1-D integer array or there are fewer samples than clients.
    """
    y = _check_labels(labels)
    _check_count("num_clients", num_clients)
    _check_enough(y.size, num_clients, 1, "iid")
    order = _rng(seed).permutation(y.size)
    return [_sorted(part) for part in np.array_split(order, num_clients)]


def dirichlet_partition(
    labels: npt.ArrayLike,
    num_clients: int,
    *,
    alpha: float,
    seed: int,
    num_classes: int | None = None,
    min_samples: int = 1,
) -> list[IndexArray]:
    """Split the samples with Dirichlet(alpha) label skew.

    For each class (in increasing order) a proportion vector over the clients is drawn from a
    symmetric Dirichlet distribution with concentration ``alpha``, the samples of that class
    are shuffled and cut at the cumulative proportions. Clients left with fewer than
    ``min_samples`` samples are then topped up from the largest client (see the module notes).

    Parameters
    ----------
    labels
        1-D non-negative integer labels, one per sample.
    num_clients
        Number of clients.
    alpha
        Concentration, finite and > 0. Smaller is more skewed.
    seed
        Seed of the draws.
    num_classes
        Number of classes; default ``max(labels) + 1``. Classes without samples still consume
        a draw, so adding an empty class does not change the rest of the partition.
    min_samples
        Smallest number of samples any client gets (at least 1).

    Returns
    -------
    list of numpy.ndarray
        One sorted int64 index array per client.

    Raises
    ------
    PartitionError
        If ``alpha`` is not a finite positive number, there are fewer than
        ``num_clients * min_samples`` samples, or a label is negative or not below
        ``num_classes``.
    """
    y = _check_labels(labels)
    _check_count("num_clients", num_clients)
    _check_count("min_samples", min_samples)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 0:
        raise PartitionError(f"dirichlet alpha must be a positive number, got {alpha!r}")
    if not math.isfinite(alpha):
        raise PartitionError(f"dirichlet alpha must be finite, got {alpha!r}")
    classes = _num_classes(y, num_classes)
    _check_enough(y.size, num_clients, min_samples, "dirichlet")

    rng = _rng(seed)
    pieces: list[list[IndexArray]] = [[] for _ in range(num_clients)]
    for k in range(classes):
        proportions = rng.dirichlet(np.full(num_clients, float(alpha)))
        members = rng.permutation(np.flatnonzero(y == k))
        if not np.all(np.isfinite(proportions)):  # pragma: no cover - numpy guards this
            raise PartitionError(f"dirichlet draw for class {k} is not finite (alpha={alpha})")
        cuts = np.floor(np.cumsum(proportions)[:-1] * members.size).astype(np.int64)
        cuts = np.clip(cuts, 0, members.size)
        for client, chunk in enumerate(np.split(members, cuts)):
            pieces[client].append(chunk.astype(np.int64, copy=False))
    parts = [np.concatenate(p) if p else np.empty(0, np.int64) for p in pieces]
    parts = _top_up(parts, y, min_samples)
    return [_sorted(part) for part in parts]


def shard_partition(
    labels: npt.ArrayLike, num_clients: int, *, shards_per_client: int = 2, seed: int
) -> list[IndexArray]:
    """McMahan et al.'s shards: sort by label, cut into shards, deal shards to clients.

    Parameters
    ----------
    labels
        1-D integer labels, one per sample.
    num_clients
        Number of clients.
    shards_per_client
        Shards each client gets; each client then holds about that many classes (at most
        ``2 * shards_per_client`` when shards straddle a class boundary).
    seed
        Seed of the within-class order and of the shard assignment.

    Returns
    -------
    list of numpy.ndarray
        One sorted int64 index array per client; sizes differ by at most
        ``shards_per_client``.

    Raises
    ------
    PartitionError
        If there are fewer samples than ``num_clients * shards_per_client`` shards.
    """
    y = _check_labels(labels)
    _check_count("num_clients", num_clients)
    _check_count("shards_per_client", shards_per_client)
    num_shards = num_clients * shards_per_client
    if y.size < num_shards:
        raise PartitionError(
            f"shards: {num_clients} clients x {shards_per_client} shards per client = "
            f"{num_shards} shards, but there are only {y.size} samples (one at least per shard)"
        )
    rng = _rng(seed)
    order = _class_grouped_order(y, rng)
    shards = np.array_split(order, num_shards)
    assignment = rng.permutation(num_shards)
    return [
        _sorted(np.concatenate([shards[s] for s in assignment[c::num_clients]]))
        for c in range(num_clients)
    ]


def stratified_partition(labels: npt.ArrayLike, num_parts: int, *, seed: int) -> list[IndexArray]:
    """Split the samples into parts with the same label distribution.

    The samples are grouped by class (shuffled within each class) and dealt out round-robin;
    which part receives which share is then shuffled. Each class's count differs by at most one
    between parts, and so do the part sizes.

    Parameters
    ----------
    labels
        1-D integer labels, one per sample.
    num_parts
        Number of parts, at most the number of samples.
    seed
        Seed of the shuffles.

    Returns
    -------
    list of numpy.ndarray
        One sorted int64 index array per part.

    Raises
    ------
    PartitionError
        If there are fewer samples than parts.
    """
    y = _check_labels(labels)
    _check_count("num_parts", num_parts)
    _check_enough(y.size, num_parts, 1, "stratified")
    rng = _rng(seed)
    order = _class_grouped_order(y, rng)
    dealt = [order[i::num_parts] for i in range(num_parts)]
    shuffle = rng.permutation(num_parts)
    return [_sorted(dealt[i]) for i in shuffle]


def holdout_indices(
    labels: npt.ArrayLike, test_fraction: float, *, seed: int
) -> tuple[IndexArray, IndexArray]:
    """A stratified train / test split.

    ``round(n * test_fraction)`` samples are taken at evenly spaced positions of the
    class-grouped, within-class-shuffled order, so each class contributes its share (within
    one sample).

    Parameters
    ----------
    labels
        1-D integer labels, one per sample.
    test_fraction
        Share of the samples held out, strictly between 0 and 1.
    seed
        Seed of the within-class shuffle.

    Returns
    -------
    tuple of numpy.ndarray
        ``(train, test)`` sorted int64 index arrays, disjoint, covering every sample.

    Raises
    ------
    PartitionError
        If the fraction is not in (0, 1) or leaves the train or the test part empty.
    """
    y = _check_labels(labels)
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, int | float)
        or not 0.0 < test_fraction < 1.0
    ):
        raise PartitionError(f"test_fraction must lie strictly in (0, 1), got {test_fraction!r}")
    n = y.size
    n_test = round(n * test_fraction)
    if not 1 <= n_test <= n - 1:
        raise PartitionError(
            f"test_fraction={test_fraction} of {n} samples gives {n_test} test samples; "
            f"both the train and the test part need at least one"
        )
    order = _class_grouped_order(y, _rng(seed))
    positions = ((np.arange(n_test) + 0.5) * n / n_test).astype(np.int64)
    is_test = np.zeros(n, dtype=bool)
    is_test[order[positions]] = True
    return np.flatnonzero(~is_test).astype(np.int64), np.flatnonzero(is_test).astype(np.int64)


def class_counts(
    parts: list[IndexArray], labels: npt.ArrayLike, num_classes: int | None = None
) -> npt.NDArray[np.int64]:
    """How many samples of each class each part holds.

    Parameters
    ----------
    parts
        Index arrays, e.g. the result of a partitioner.
    labels
        The labels the indices refer to.
    num_classes
        Number of columns; default ``max(labels) + 1``.

    Returns
    -------
    numpy.ndarray
        ``(len(parts), num_classes)`` int64 counts.
    """
    y = _check_labels(labels)
    classes = _num_classes(y, num_classes)
    return (
        np.stack([np.bincount(y[part], minlength=classes).astype(np.int64) for part in parts])
        if parts
        else np.zeros((0, classes), np.int64)
    )


# --- configuration edge --------------------------------------------------------------------


class _PartitionerBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IidPartitioner(_PartitionerBase):
    """Uniformly random near-equal parts (:func:`iid_partition`)."""

    kind: Literal["iid"] = "iid"

    def __call__(self, labels: npt.ArrayLike, num_clients: int, *, seed: int) -> list[IndexArray]:
        """Partition ``labels`` among ``num_clients``; see :func:`iid_partition`."""
        return iid_partition(labels, num_clients, seed=seed)


class DirichletPartitioner(_PartitionerBase):
    """Dirichlet(alpha) label skew (:func:`dirichlet_partition`).

    Attributes
    ----------
    alpha
        Concentration, finite and > 0; smaller is more skewed.
    min_samples
        Smallest number of samples per client.
    """

    kind: Literal["dirichlet"] = "dirichlet"
    alpha: Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
    min_samples: Annotated[int, Field(ge=1)] = 1

    def __call__(self, labels: npt.ArrayLike, num_clients: int, *, seed: int) -> list[IndexArray]:
        """Partition ``labels`` among ``num_clients``; see :func:`dirichlet_partition`."""
        return dirichlet_partition(
            labels, num_clients, alpha=self.alpha, seed=seed, min_samples=self.min_samples
        )


class ShardPartitioner(_PartitionerBase):
    """McMahan et al.'s label-sorted shards (:func:`shard_partition`).

    Attributes
    ----------
    shards_per_client
        Shards per client (about that many classes per client).
    """

    kind: Literal["shards"] = "shards"
    shards_per_client: Annotated[int, Field(ge=1)] = 2

    def __call__(self, labels: npt.ArrayLike, num_clients: int, *, seed: int) -> list[IndexArray]:
        """Partition ``labels`` among ``num_clients``; see :func:`shard_partition`."""
        return shard_partition(
            labels, num_clients, shards_per_client=self.shards_per_client, seed=seed
        )


Partitioner = Annotated[
    IidPartitioner | DirichletPartitioner | ShardPartitioner, Field(discriminator="kind")
]
"""Any partitioner, as parsed from configuration (discriminated on ``kind``)."""

PARTITIONERS: dict[str, type[IidPartitioner | DirichletPartitioner | ShardPartitioner]] = {
    "iid": IidPartitioner,
    "dirichlet": DirichletPartitioner,
    "shards": ShardPartitioner,
}
"""Partitioner classes by ``kind``."""


# --- helpers -------------------------------------------------------------------------------


def _check_labels(labels: npt.ArrayLike) -> npt.NDArray[np.int64]:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise PartitionError(f"labels must be a 1-D array, got shape {y.shape}")
    if y.size and y.dtype.kind not in "iu":
        raise PartitionError(f"labels must be integers, got dtype {y.dtype}")
    if y.size and int(y.min()) < 0:
        raise PartitionError(f"labels must be non-negative, got {int(y.min())}")
    return y.astype(np.int64, copy=False)


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise PartitionError(f"{name} must be a positive integer, got {value!r}")


def _check_enough(num_samples: int, num_clients: int, min_samples: int, kind: str) -> None:
    if num_samples < num_clients * min_samples:
        need = f"{num_clients * min_samples} samples" if min_samples > 1 else "one sample each"
        raise PartitionError(
            f"{kind}: cannot give {num_clients} clients {need} from {num_samples} samples"
        )


def _num_classes(y: npt.NDArray[np.int64], num_classes: int | None) -> int:
    observed = int(y.max()) + 1 if y.size else 0
    if num_classes is None:
        return max(observed, 1)
    _check_count("num_classes", num_classes)
    if observed > num_classes:
        raise PartitionError(
            f"label {observed - 1} is outside [0, {num_classes}) for num_classes={num_classes}"
        )
    return int(num_classes)


def _rng(seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise PartitionError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def _class_grouped_order(y: npt.NDArray[np.int64], rng: np.random.Generator) -> IndexArray:
    """Indices grouped by class (ascending), in a random order within each class."""
    tiebreak = rng.permutation(y.size)
    return np.lexsort((tiebreak, y)).astype(np.int64)


def _top_up(
    parts: list[IndexArray], y: npt.NDArray[np.int64], min_samples: int
) -> list[IndexArray]:
    parts = list(parts)
    sizes = np.array([p.size for p in parts])
    while sizes.min() < min_samples:
        receiver = int(np.argmin(sizes))
        donor = int(np.argmax(sizes))
        donor_labels = y[parts[donor]]
        common = int(np.argmax(np.bincount(donor_labels)))
        position = int(np.flatnonzero(donor_labels == common)[-1])
        moved = parts[donor][position]
        parts[donor] = np.delete(parts[donor], position)
        parts[receiver] = np.append(parts[receiver], moved)
        sizes[donor] -= 1
        sizes[receiver] += 1
    return parts


def _sorted(indices: npt.NDArray[Any]) -> IndexArray:
    return np.sort(indices.astype(np.int64, copy=False))
