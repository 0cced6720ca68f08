"""Per-round phase timings from block times and the agents' stopwatch intervals."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ledgerlearn.chain.index import RoundRecord, TaskRecord, UpdateRecord
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.lab.round_timing import BlockClock, round_timings
from ledgerlearn.stopwatch import Stopwatch

T0 = 1_000.0


def watch(*intervals: tuple[str, float, float]) -> Stopwatch:
    w = Stopwatch()
    w.intervals = [(c, T0 + a, T0 + b) for c, a, b in intervals]
    return w


def task_with_one_round(
    submissions: tuple[int, ...] = (13, 14), finalized: int = 25, **policy: int
) -> TaskRecord:
    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="w0",
        committee=("0xv",),
        fragment_hashes=(b"\x03" * 32,),
        fragment_cids=("f",),
        quorum=1,
        max_faulty_validators=0,
        threshold=0,
        round_length=10,
        score_window=10,
        max_rounds=2,
        **policy,  # type: ignore[arg-type]
    )
    task = TaskRecord(1, "0xp", params, published_block=1)
    record = RoundRecord(1, b"\x02" * 32, "w0", start_block=10, finalized_block=finalized)
    for i, block in enumerate(submissions):
        u = bytes([10 + i]) * 32
        task.updates[u] = UpdateRecord(1, u, f"0x{i}", 1, 5, f"cid{i}", [], block)
        record.updates.append(u)
    task.rounds[1] = record
    task.rounds[2] = RoundRecord(2, b"\x04" * 32, "w1", start_block=finalized)  # not finalized
    return task


def test_phases_and_the_critical_path() -> None:
    blocks = {b: T0 + (b - 10) for b in range(10, 26)}  # one block per second from block 10
    roles = {
        "providers": [
            watch(("training", 1.0, 3.0), ("ipfs", 3.0, 3.2)),  # 2.0 s of training
            watch(("training", 1.0, 3.5), ("training", 20.0, 30.0)),  # 2.5 s in the phase
        ],
        "validators": [
            watch(("validation", 10.0, 11.0), ("aggregation", 13.0, 13.5)),
            watch(("validation", 10.0, 12.0), ("chain", 12.0, 13.0)),
        ],
        "publisher": [watch(("aggregation", 12.5, 13.0))],
    }
    [timing] = round_timings(task_with_one_round(), blocks, roles)
    assert timing.round == 1
    assert timing.wall_s == pytest.approx(15.0)  # blocks 10 -> 25
    assert timing.submitting_s == pytest.approx(4.0)  # blocks 10 -> 14 (last update)
    assert timing.waiting_s == pytest.approx(6.0)  # 14 -> 20 (submissions close)
    assert timing.closing_s == pytest.approx(5.0)  # 20 -> 25
    assert timing.training_s == pytest.approx(2.5)  # the slowest provider, inside the phase
    assert timing.scoring_s == pytest.approx(2.0)
    assert timing.aggregating_s == pytest.approx(1.0)  # keeper 0.5 + slowest validator 0.5
    assert timing.ledger_ipfs_s == pytest.approx((4.0 - 2.5) + (5.0 - 2.0 - 1.0))
    assert timing.share == pytest.approx(3.5 / 15.0)
    assert timing.busy_share == pytest.approx(3.5 / 9.0)


def test_a_round_waiting_for_min_updates_submits_until_its_extended_close() -> None:
    """The round waits for its 2nd update (block 22, after round_length): submissions close
    the block after, not at start + round_length."""
    blocks = {b: T0 + (b - 10) for b in range(10, 29)}
    task = task_with_one_round((13, 22), 28, min_updates=2, round_extension=10)
    assert task.round_deadlines(1).submissions_close == 23
    [timing] = round_timings(task, blocks, {"providers": [], "validators": [], "publisher": []})
    assert timing.submitting_s == pytest.approx(12.0)  # blocks 10 -> 22 (last update)
    assert timing.waiting_s == pytest.approx(1.0)  # 22 -> 23 (submissions close)
    assert timing.closing_s == pytest.approx(5.0)  # 23 -> 28


def test_missing_block_times_take_the_nearest_earlier_block() -> None:
    blocks = {10: T0, 14: T0 + 4.0, 20: T0 + 10.0, 25: T0 + 15.0}
    [timing] = round_timings(
        task_with_one_round(), blocks, {"providers": [], "validators": [], "publisher": []}
    )
    assert timing.submitting_s == pytest.approx(4.0)
    assert timing.ledger_ipfs_s == pytest.approx(4.0 + 5.0)  # nothing computed: all overhead
    assert round_timings(task_with_one_round(), {}, {}) == []


def test_block_clock_records_when_blocks_appear(tmp_path: Path) -> None:
    height = [3]
    lock = threading.Lock()

    def block_number() -> int:
        with lock:
            return height[0]

    with BlockClock(block_number, interval_s=0.01) as clock:
        time.sleep(0.1)
        seen = time.time()
        with lock:
            height[0] = 6
        time.sleep(0.1)
    assert sorted(clock.times) == [0, 1, 2, 3, 4, 5, 6]
    assert clock.times[4] == clock.times[6] >= seen  # seen by the same poll
    clock.save(tmp_path / "blocks.json")
    assert BlockClock.load(tmp_path / "blocks.json") == clock.times
