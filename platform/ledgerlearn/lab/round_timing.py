"""Where a federation round's wall time went, phase by phase, in a multi-process run.

A round has three phases, delimited by blocks:

- **submitting** — from the round's start block to the block of its last update: providers
  notice the round (event polling), fetch the base model (IPFS), train, put their update
  (IPFS) and submit it (a transaction, until mined);
- **waiting** — from the last update to the block where submissions close: the margin the
  publisher's round length leaves beyond the slowest provider (nothing runs);
- **closing** — from the close of submissions to the finalization block: validators fetch
  what they miss, score and submit their scores, the keeper proposes the aggregate, the
  committee recomputes and attests it.

The compute on each phase's critical path is taken from the agents' own stopwatch
intervals (:class:`~ledgerlearn.stopwatch.Stopwatch`): the slowest provider's training in
the submitting phase; in the closing phase, the slowest validator's validation plus the
aggregation (the keeper's computation and the slowest validator's recomputation). Everything
else in those two phases — transactions until mined, IPFS, noticing events, scheduling — is
counted as ledger + IPFS overhead. That attributes to the ledger even the time an agent waits
for a CPU, so the figure is an upper bound.

Block times are the wall-clock times at which the run's driver first saw each block
(:class:`BlockClock`), so they share the agents' clock (chain timestamps do not: a devnet
that mined many blocks in one second runs ahead of the wall clock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledgerlearn import strict_json
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.stopwatch import Stopwatch

__all__ = ["BlockClock", "RoundTiming", "round_timings"]


@dataclass(frozen=True)
class RoundTiming:
    """One round's wall time by phase, and the ledger + IPFS time on its critical path.

    Attributes
    ----------
    wall_s
        From the round's start block to its finalization block.
    submitting_s, waiting_s, closing_s
        The three phases (see the module docstring); they add up to ``wall_s``.
    training_s
        The slowest provider's training during the submitting phase.
    scoring_s
        The slowest validator's validation (decoding, sanity checks, scoring) while closing.
    aggregating_s
        While closing: the keeper's aggregation plus the slowest validator's recomputation.
    """

    round: int
    wall_s: float
    submitting_s: float
    waiting_s: float
    closing_s: float
    training_s: float
    scoring_s: float
    aggregating_s: float

    @property
    def ledger_ipfs_s(self) -> float:
        """Seconds of the submitting and closing phases not spent computing."""
        submitting = max(self.submitting_s - self.training_s, 0.0)
        closing = max(self.closing_s - self.scoring_s - self.aggregating_s, 0.0)
        return submitting + closing

    @property
    def share(self) -> float:
        """Ledger + IPFS overhead as a share of the round's wall time."""
        return self.ledger_ipfs_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def busy_share(self) -> float:
        """The same share of the round without its waiting phase (the stricter figure)."""
        busy = self.wall_s - self.waiting_s
        return self.ledger_ipfs_s / busy if busy > 0 else 0.0


def round_timings(
    task: TaskRecord,
    block_times: Mapping[int, float],
    roles: Mapping[str, Sequence[Stopwatch]],
) -> list[RoundTiming]:
    """Phase timings of every finalized round of ``task``.

    Parameters
    ----------
    task
        The task as the index folded it (rounds, updates with their blocks).
    block_times
        Wall-clock time at which each block was first seen; a block missing from it takes
        the time of the nearest earlier block known.
    roles
        The agents' stopwatches (with intervals) by role: ``publisher``, ``validators``,
        ``providers``.
    """
    if not block_times:
        return []
    known = sorted(block_times)

    def at(block: int) -> float:
        earlier = [b for b in known if b <= block]
        return block_times[earlier[-1]] if earlier else block_times[known[0]]

    out: list[RoundTiming] = []
    for number in sorted(task.rounds):
        record = task.rounds[number]
        if record.finalized_block is None:
            continue
        start = at(record.start_block)
        close = at(task.round_deadlines(number).submissions_close)
        final = at(record.finalized_block)
        blocks = [task.updates[u].block_number for u in record.updates]
        last = at(max(blocks)) if blocks else start
        last = min(max(last, start), close)

        def most(role: str, a: float, b: float, category: str) -> float:
            return max(
                (w.seconds_between(a, b)[category] for w in roles.get(role, [])), default=0.0
            )

        keeper = sum(w.seconds_between(close, final)["aggregation"] for w in roles["publisher"])
        out.append(
            RoundTiming(
                round=number,
                wall_s=final - start,
                submitting_s=last - start,
                waiting_s=close - last,
                closing_s=final - close,
                training_s=most("providers", start, last, "training"),
                scoring_s=most("validators", close, final, "validation"),
                aggregating_s=keeper + most("validators", close, final, "aggregation"),
            )
        )
    return out


class BlockClock:
    """Records the wall-clock time at which each new block is first seen.

    A background thread polls ``block_number`` every ``interval_s``; blocks mined between
    two polls get the time of the poll that saw them (so times are late by at most
    ``interval_s``).
    """

    def __init__(self, block_number: Callable[[], int], interval_s: float = 0.1) -> None:
        self._block_number = block_number
        self._interval_s = interval_s
        self.times: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="block-clock", daemon=True)
        self._last = -1

    def start(self) -> BlockClock:
        """Start polling in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def __enter__(self) -> BlockClock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                number = self._block_number()
            except Exception:  # a transient RPC error: try again at the next tick
                number = self._last
            now = time.time()
            for block in range(self._last + 1, number + 1):
                self.times.setdefault(block, now)
            self._last = max(self._last, number)
            self._stop.wait(self._interval_s)

    def save(self, path: Path) -> None:
        """Write the block times as JSON."""
        strict_json.write_file(path, {str(b): t for b, t in sorted(self.times.items())})

    @staticmethod
    def load(path: Path) -> dict[int, float]:
        """Read block times written by :meth:`save`."""
        return {
            int(b): float(t) for b, t in strict_json.load_file(path, max_bytes=64 * 2**20).items()
        }
