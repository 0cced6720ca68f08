"""The gateway's held-out set is used only for models it fits: shape, classes, and the input
range the spec declares (after the spec's transform)."""

from __future__ import annotations

from typing import Any

from ledgerlearn.model import ModelSpec, logreg_digits
from ledgerlearn_gateway.evaluation import Evaluator


def with_input(section: Any) -> ModelSpec:
    document = logreg_digits().model_dump(mode="json", exclude_none=True)
    document["input"] = section
    return ModelSpec.from_dict(document)


def test_a_model_that_scales_raw_pixels_itself_does_not_fit_the_prescaled_digits() -> None:
    evaluator = Evaluator("digits", node=None, fetch_timeout_s=1.0)  # type: ignore[arg-type]
    assert evaluator._held_out(1, logreg_digits()) is not None
    assert 1 not in evaluator.unfit
    raw_pixels = with_input({"range": [0, 1], "transform": {"scale": 0.0625}})
    assert evaluator._held_out(2, raw_pixels) is None
    assert evaluator.unfit[2].startswith(
        "the task's model expects other values than the digits test split: digits: values span "
        "only 6% of "
        "[0, 1] after the task's transform (min 0, max 0.0625"
    )
    assert evaluator._held_out(3, with_input({"range": [0, 255]})) is None  # 0-1 of 0-255
    assert evaluator._held_out(4, logreg_digits().model_copy(update={"input": None})) is not None
