"""The stopwatch agents measure their work with: nesting, persistence, shares."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ledgerlearn.stopwatch import Stopwatch, combine


def test_nested_time_counts_for_the_inner_category_only() -> None:
    watch = Stopwatch()
    with watch.measure("aggregation"):
        time.sleep(0.02)
        with watch.measure("ipfs"):
            time.sleep(0.05)
    assert watch.seconds["ipfs"] >= 0.05
    assert 0.02 <= watch.seconds["aggregation"] < 0.05  # the fetch is not counted twice
    assert watch.counts == {**dict.fromkeys(watch.counts, 0), "aggregation": 1, "ipfs": 1}


def test_time_is_counted_when_the_block_raises() -> None:
    watch = Stopwatch()
    with pytest.raises(RuntimeError), watch.measure("chain"):
        time.sleep(0.01)
        raise RuntimeError("revert")
    assert watch.seconds["chain"] >= 0.01 and watch.counts["chain"] == 1


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown category 'gpu'"), Stopwatch().measure("gpu"):
        pass


def test_overhead_share_excludes_event_polling(tmp_path: Path) -> None:
    watch = Stopwatch()
    watch.seconds.update(training=6.0, ipfs=1.0, chain=1.0, events=100.0)
    assert watch.overhead_share() == pytest.approx(0.25)
    assert Stopwatch().overhead_share() == 0.0
    watch.save(tmp_path / "t.json")
    loaded = Stopwatch.load(tmp_path / "t.json")
    assert loaded.seconds == watch.seconds
    total = combine({"a": watch, "b": loaded})
    assert total.seconds["training"] == 12.0 and total.busy_s == pytest.approx(216.0)


def test_intervals_are_exclusive_and_survive_a_save(tmp_path: Path) -> None:
    watch = Stopwatch()
    before = time.time()
    with watch.measure("validation"):
        time.sleep(0.02)
        with watch.measure("ipfs"):
            time.sleep(0.03)
        time.sleep(0.02)
    after = time.time()
    assert [c for c, _, _ in watch.intervals] == ["validation", "ipfs", "validation"]
    for (_, _, end), (_, start, _) in zip(watch.intervals, watch.intervals[1:], strict=False):
        assert start >= end  # no overlap: nested time is not counted twice
    window = watch.seconds_between(before, after)
    assert window["ipfs"] == pytest.approx(watch.seconds["ipfs"], abs=1e-3)
    assert window["validation"] == pytest.approx(watch.seconds["validation"], abs=1e-3)
    # a window covering only the end of the block sees only that part
    middle = watch.intervals[1][2]
    assert watch.seconds_between(middle, after)["ipfs"] == 0.0
    assert watch.seconds_between(middle, after)["validation"] >= 0.02
    watch.save(tmp_path / "t.json")
    assert Stopwatch.load(tmp_path / "t.json").intervals == watch.intervals
