"""Dataset invariants and the bundled digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ledgerlearn.data import (
    DataError,
    Dataset,
    DatasetError,
    DirichletPartitioner,
    LabelRangeError,
    load_bundled,
    load_digits,
)
from ledgerlearn.model import ModelSpec, logreg_digits

torch.set_num_threads(1)


def _tiny(**changes: object) -> Dataset:
    values: dict[str, object] = {
        "x": np.zeros((3, 2), np.float32),
        "y": np.array([0, 1, 2], np.int64),
        "num_classes": 3,
        "name": "tiny",
    }
    values.update(changes)
    return Dataset(**values)  # type: ignore[arg-type]


def test_digits() -> None:
    digits = load_digits()
    assert digits.x.shape == (1797, 64) and digits.x.dtype == np.float32
    assert digits.y.dtype == np.int64 and digits.num_classes == 10
    assert float(digits.x.min()) == 0.0 and float(digits.x.max()) == 1.0
    image = load_digits(input_shape=(1, 8, 8))
    assert image.x.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(image.x.reshape(1797, 64), digits.x)


def test_digits_train_and_test_are_a_fixed_disjoint_stratified_split() -> None:
    train, test = load_digits("train"), load_digits("test")
    assert (len(train), len(test)) == (1438, 359)
    assert (train.name, test.name) == ("digits/train", "digits/test")
    rows = {row.tobytes() for row in train.x}
    assert sum(row.tobytes() in rows for row in test.x) <= 5  # a few duplicate images exist
    assert np.abs(test.class_counts() - load_digits().class_counts() * 0.2).max() <= 1
    again = load_digits("test")
    np.testing.assert_array_equal(again.x, test.x)


def test_load_bundled_dispatch() -> None:
    d = load_bundled("digits", "all", input_shape=[1, 8, 8])
    assert d.sample_shape == (1, 8, 8)
    with pytest.raises(DataError, match=r"unknown bundled dataset 'cifar'; choose one of digits"):
        load_bundled("cifar")
    with pytest.raises(DataError, match=r"unknown split 'valid'"):
        load_bundled("digits", "valid")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x": np.zeros((3, 2), np.float64)}, r"tiny: x must have dtype float32, got float64"),
        ({"y": np.array([0, 1, 2], np.int32)}, r"y must have dtype int64, got int32"),
        ({"x": np.zeros(3, np.float32)}, r"x must have shape \(samples, \*sample_shape\)"),
        ({"y": np.array([[0, 1, 2]], np.int64)}, r"y must have shape \(samples,\)"),
        ({"y": np.array([0, 1], np.int64)}, r"x has 3 samples but y has 2 labels"),
        (
            {"x": np.zeros((0, 2), np.float32), "y": np.zeros(0, np.int64)},
            r"the dataset is empty",
        ),
        (
            {"x": np.array([[0, 0], [np.nan, 1], [np.inf, np.nan]], np.float32)},
            r"x holds 2 NaN and 1 infinite values \(first in sample 1\)",
        ),
        ({"num_classes": 0}, r"num_classes must be a positive integer"),
        ({"x": [[0.0]]}, r"x must be a numpy array, got list"),
    ],
)
def test_invalid_arrays_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        _tiny(**changes)


def test_labels_outside_the_classes_are_refused() -> None:
    with pytest.raises(
        LabelRangeError,
        match=(
            r"tiny: 2 labels lie outside \[0, 2\) of a model with 2 classes "
            r"\(first: sample 1 has label 5; values outside: -1, 5\)"
        ),
    ):
        _tiny(y=np.array([0, 5, -1], np.int64), num_classes=2)


def test_subset_reshape_split_partition() -> None:
    digits = load_digits()
    sub = digits.subset([3, 1, 2], name="three")
    assert len(sub) == 3 and sub.name == "three"
    np.testing.assert_array_equal(sub.y, digits.y[[3, 1, 2]])
    with pytest.raises(DatasetError, match=r"empty subset"):
        digits.subset([])
    with pytest.raises(DatasetError, match=r"indices out of range"):
        digits.subset([1797])
    with pytest.raises(DatasetError, match=r"cannot reshape samples of shape \(64,\)"):
        digits.reshaped((1, 9, 9))
    train, test = digits.split(0.25, seed=1)
    assert len(train) + len(test) == 1797 and test.name == "digits/test"
    clients = digits.partition(DirichletPartitioner(alpha=0.5), 5, seed=0)
    assert sum(len(c) for c in clients) == 1797 and clients[4].name == "digits/client-4"


def test_check_matches_a_spec() -> None:
    digits = load_digits()
    digits.check_matches(logreg_digits())
    with pytest.raises(DatasetError, match=r"use dataset.reshaped\(\(64,\)\)"):
        digits.reshaped((1, 8, 8)).check_matches(logreg_digits())
    with pytest.raises(LabelRangeError, match=r"outside \[0, 5\)"):
        digits.check_matches(logreg_digits(num_classes=5))
    spec = ModelSpec.from_dict(
        {
            "input_shape": [2],
            "num_classes": 3,
            "layers": [{"type": "Linear", "in_features": 2, "out_features": 3}],
        }
    )
    # A dataset declaring more classes than the model is fine while its labels fit.
    _tiny(num_classes=12).check_matches(spec)
