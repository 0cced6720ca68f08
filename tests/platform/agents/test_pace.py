"""A provider's pace: modelled training time in blocks."""

from __future__ import annotations

import pytest

from ledgerlearn.agents.pace import BlockPace


def test_training_time_scales_with_samples_and_speed() -> None:
    fast, slow = BlockPace(100.0), BlockPace(100.0, speed_factor=5.0)
    assert fast.blocks(350) == 4 and slow.blocks(350) == 18
    assert fast.blocks(1) == 1 and fast.blocks(0) == 1  # never instantaneous
    assert slow.ready_block(40, 200) == 50


@pytest.mark.parametrize("field", ["samples_per_block", "speed_factor"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("inf"), float("nan")])
def test_bad_paces_are_refused(field: str, value: float) -> None:
    kwargs = {"samples_per_block": 10.0, "speed_factor": 1.0, field: value}
    with pytest.raises(ValueError, match=field):
        BlockPace(**kwargs)
