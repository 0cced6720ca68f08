"""A dataset's values against the input range its task's spec declares."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ledgerlearn.data import Dataset, load_digits, range_report
from ledgerlearn.data.inputs import MAX_OUTSIDE_SHARE
from ledgerlearn.model import ModelSpec, cnn_mnist, logreg_digits


def with_input(spec: ModelSpec, section: Any) -> ModelSpec:
    document = spec.model_dump(mode="json", exclude_none=True)
    document["input"] = section
    return ModelSpec.from_dict(document)


@pytest.fixture(scope="module")
def digits() -> tuple[Dataset, Dataset]:
    scaled = load_digits("train")
    raw = Dataset((scaled.x * 16).round().astype(np.float32), scaled.y, 10, "alice.csv")
    return scaled, raw


def test_no_declared_range_no_report(digits: tuple[Dataset, Dataset]) -> None:
    assert range_report(logreg_digits().model_copy(update={"input": None}), digits[0]) is None


def test_prescaled_digits_fit_the_preset(digits: tuple[Dataset, Dataset]) -> None:
    report = range_report(logreg_digits(), digits[0])
    assert report is not None and report.fits
    assert (report.minimum, report.maximum, report.outside) == (0.0, 1.0, 0.0)
    assert report.mean == pytest.approx(float(digits[0].x.mean(dtype=np.float64)))
    assert report.values == digits[0].x.size and not report.transformed


def test_raw_pixels_on_a_unit_range_task_are_far_outside(digits: tuple[Dataset, Dataset]) -> None:
    raw = digits[1]
    report = range_report(logreg_digits(), raw)
    assert report is not None and not report.fits
    expected = float(np.mean(raw.x > 1.0))
    assert report.outside == pytest.approx(expected) and expected > 0.4
    assert (report.minimum, report.maximum) == (0.0, 16.0)
    line = report.describe("alice.csv")
    assert line == (
        f"alice.csv: {round(100 * expected)}% of values lie outside [0, 1] (min 0, max 16, "
        f"mean {report.mean:.3g}); the task says: 8x8 digit images, 64 pixels row by row, "
        "each 0-16 divided by 16 (in [0, 1])"
    )


def test_the_transform_is_applied_before_the_check(digits: tuple[Dataset, Dataset]) -> None:
    scaled, raw = digits
    task = with_input(logreg_digits(), {"range": [0, 1], "transform": {"scale": 0.0625}})
    fits = range_report(task, raw)
    assert fits is not None and fits.fits and fits.transformed and fits.maximum == 1.0
    # pre-scaled data on a task whose model divides by 16 again: a sixteenth of the range
    twice = range_report(task, scaled)
    assert twice is not None and not twice.fits and twice.outside == 0.0
    assert twice.maximum == 0.0625
    assert "values span only 6% of [0, 1] after the task's transform" in twice.describe("b")
    assert "already scaled?" in twice.describe("b")


def test_a_few_outliers_still_fit() -> None:
    x = np.linspace(0, 1, 1000, dtype=np.float32).reshape(10, 100)
    x[0, :5] = 3.0  # 0.5 % outside
    report = range_report(
        with_input(logreg_digits(), {"range": [0, 1]}).model_copy(update={"input_shape": (100,)}),
        Dataset(x, np.zeros(10, np.int64), 10, "d"),
    )
    assert report is not None and report.outside == 0.005 <= MAX_OUTSIDE_SHARE and report.fits


def test_per_channel_standardisation_on_images() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(0.13, 0.31, size=(50, 1, 28, 28))).astype(np.float32)
    task = with_input(cnn_mnist(), {"range": [-4, 4], "transform": {"mean": [0.13], "std": 0.31}})
    report = range_report(task, Dataset(x, np.zeros(50, np.int64), 10, "img"))
    assert report is not None and report.fits
    assert abs(report.mean) < 0.05 and report.maximum < 6
