"""Metrics checked by hand on tiny cases, the registry, and batched evaluation."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from ledgerlearn.core.rules import MetricId as OnChainMetric
from ledgerlearn.data import Dataset, load_digits, load_mnist
from ledgerlearn.model import build, cnn_mnist, flatten, logreg_digits, state_dict_to_arrays
from ledgerlearn.training import (
    METRICS,
    METRICS_BY_ID,
    Metric,
    MetricError,
    NonFiniteOutputError,
    accuracy,
    evaluate,
    evaluate_all,
    get_metric,
    macro_f1,
    negative_loss,
    predict_logits,
)

torch.set_num_threads(1)


def _one_hot(predictions: list[int], num_classes: int) -> np.ndarray:
    logits = np.zeros((len(predictions), num_classes), np.float32)
    logits[np.arange(len(predictions)), predictions] = 5.0
    return logits


# --- accuracy ----------------------------------------------------------------------------


def test_accuracy_by_hand() -> None:
    assert accuracy(_one_hot([0, 1, 1, 2], 3), np.array([0, 1, 2, 2])) == 0.75
    assert accuracy(_one_hot([1], 2), np.array([0])) == 0.0
    # Ties go to the first class.
    assert accuracy(np.zeros((2, 3), np.float32), np.array([0, 1])) == 0.5


# --- macro-F1 ----------------------------------------------------------------------------


def test_macro_f1_with_a_class_missing_from_the_labels() -> None:
    labels = np.array([0, 0, 1, 1])
    predictions = [0, 1, 1, 2]  # class 2 predicted but absent from the labels; class 3 nowhere
    # class 0: TP 1, FP 0, FN 1 -> 2/3; class 1: TP 1, FP 1, FN 1 -> 1/2; class 2: TP 0, FP 1
    # -> 0; class 3 occurs nowhere and is left out: (2/3 + 1/2 + 0) / 3 = 7/18.
    assert macro_f1(_one_hot(predictions, 4), labels) == pytest.approx(7 / 18)
    assert macro_f1(_one_hot(predictions, 4), labels) == pytest.approx(
        f1_score(labels, predictions, average="macro", zero_division=0)
    )


def test_macro_f1_with_a_class_never_predicted() -> None:
    labels = np.array([0, 1, 2, 2])
    predictions = [0, 1, 1, 1]  # class 2 never predicted: F1 = 0; class 1: 2/(2+2+0) = 1/2
    assert macro_f1(_one_hot(predictions, 3), labels) == pytest.approx((1 + 0.5 + 0) / 3)
    assert macro_f1(_one_hot([0, 1, 2], 3), np.array([0, 1, 2])) == 1.0


def test_macro_f1_matches_scikit_learn_on_random_cases() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n, c = int(rng.integers(1, 40)), int(rng.integers(2, 7))
        labels = rng.integers(0, c, n)
        logits = rng.normal(size=(n, c)).astype(np.float32)
        expected = f1_score(labels, logits.argmax(axis=1), average="macro", zero_division=0)
        assert macro_f1(logits, labels) == pytest.approx(expected)


# --- negative loss -----------------------------------------------------------------------


def test_negative_loss_by_hand() -> None:
    assert negative_loss(np.zeros((3, 4), np.float32), np.array([0, 1, 3])) == pytest.approx(
        -math.log(4)
    )
    # softmax([log 3, 0]) = [3/4, 1/4]
    logits = np.array([[math.log(3), 0.0], [math.log(3), 0.0]], np.float32)
    expected = (math.log(0.75) + math.log(0.25)) / 2
    assert negative_loss(logits, np.array([0, 1])) == pytest.approx(expected, rel=1e-6)
    # Large logits stay finite and exact (stable log-sum-exp).
    assert negative_loss(np.array([[1000.0, 0.0]], np.float32), np.array([1])) == pytest.approx(
        -1000.0
    )
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, 5)).astype(np.float32)
    y = rng.integers(0, 5, 20)
    torch_loss = torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(y))
    assert negative_loss(z, y) == pytest.approx(-float(torch_loss), rel=1e-5)


# --- input checks ------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [accuracy, macro_f1, negative_loss])
def test_malformed_inputs(metric: Callable[..., float]) -> None:
    f = metric
    with pytest.raises(
        NonFiniteOutputError, match=r"1 NaN or infinite logits \(first for sample 1\)"
    ):
        f(np.array([[0.0, 1.0], [np.nan, 0.0]]), np.array([0, 1]))
    with pytest.raises(MetricError, match=r"labels must lie in \[0, 2\)"):
        f(np.zeros((1, 2)), np.array([2]))
    with pytest.raises(MetricError, match=r"2 rows of logits but 1 labels"):
        f(np.zeros((2, 2)), np.array([0]))
    with pytest.raises(MetricError, match=r"empty"):
        f(np.zeros((0, 2)), np.zeros(0, int))
    with pytest.raises(MetricError, match=r"2-D float array"):
        f(np.zeros(2), np.array([0, 1]))


# --- registry ----------------------------------------------------------------------------


def test_registry_ids_are_the_on_chain_ids() -> None:
    assert {name: m.metric_id for name, m in METRICS.items()} == {
        "accuracy": OnChainMetric.ACCURACY,
        "macro_f1": OnChainMetric.MACRO_F1,
        "negative_loss": OnChainMetric.NEGATIVE_LOSS,
    }
    assert sorted(METRICS_BY_ID) == [0, 1, 2]
    assert get_metric("macro_f1") is get_metric(1) is METRICS_BY_ID[1]
    assert get_metric(METRICS["accuracy"]) is METRICS["accuracy"]
    assert isinstance(get_metric(2), Metric) and get_metric(2).compute is negative_loss
    for bad in ("f1", 3, -1, True, 1.0):
        with pytest.raises(MetricError, match=r"unknown metric .* choose one of accuracy \(0\)"):
            get_metric(bad)  # type: ignore[arg-type]


# --- evaluation --------------------------------------------------------------------------


def test_evaluate_is_batched_and_consistent() -> None:
    spec = logreg_digits()
    data: Dataset = load_digits("test")
    weights = state_dict_to_arrays(build(spec, seed=4))
    whole = evaluate_all(spec, weights, data, batch_size=10_000)
    small = evaluate_all(spec, weights, data, batch_size=7)
    assert list(whole) == ["accuracy", "macro_f1", "negative_loss"]
    assert whole["accuracy"] == small["accuracy"] and whole["macro_f1"] == small["macro_f1"]
    assert whole["negative_loss"] == pytest.approx(small["negative_loss"], rel=1e-6)
    assert evaluate(spec, flatten(weights, spec), data, "accuracy") == whole["accuracy"]
    assert evaluate(spec, weights, data, 2) == whole["negative_loss"]
    logits = predict_logits(spec, weights, data.x, batch_size=50)
    assert logits.shape == (359, 10) and logits.dtype == np.float32
    with pytest.raises(MetricError, match=r"batch_size must be a positive integer"):
        evaluate(spec, weights, data, "accuracy", batch_size=0)


def test_overflowing_weights_cannot_be_scored() -> None:
    spec = logreg_digits()
    weights = state_dict_to_arrays(build(spec, seed=0))
    weights["0.weight"] = np.full_like(weights["0.weight"], 3e38)
    with pytest.raises(NonFiniteOutputError):
        evaluate(spec, weights, load_digits("test"), "accuracy")


def test_cnn_on_the_mnist_test_set() -> None:
    spec = cnn_mnist()
    test = load_mnist("test")
    scores = evaluate_all(spec, state_dict_to_arrays(build(spec, seed=0)), test, batch_size=1024)
    assert 0.0 <= scores["accuracy"] <= 0.3  # untrained: chance level
    assert scores["negative_loss"] == pytest.approx(-math.log(10), abs=0.1)
