"""Where an agent's time goes: wall time accumulated per category.

Agents measure their work in a few fixed categories (:data:`CATEGORIES`) so a run can say how
much of its time went to learning and how much to the ledger and IPFS. A stopwatch is
cheap (a few clock reads per measured block) and can be saved as JSON and summed across
processes. It also keeps *when* the time was spent — exclusive wall-clock intervals per
category — so a multi-process run can say, round by round, what lay on its critical path
(:mod:`ledgerlearn.lab.round_timing`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ledgerlearn import strict_json

CATEGORIES = ("training", "validation", "aggregation", "ipfs", "chain", "events")
"""``training``: local training; ``validation``: decoding, sanity checks and scoring;
``aggregation``: computing a round's aggregate; ``ipfs``: putting and fetching content;
``chain``: sending transactions (until mined); ``events``: polling the chain for events
(in the background, between steps)."""

WORK = ("training", "validation", "aggregation", "ipfs", "chain")
"""What an agent does in reaction to the ledger: the round's critical path."""

OVERHEAD = ("ipfs", "chain")
"""The work that is the price of coordination (transactions and content), not of learning."""

MAX_INTERVALS = 200_000
"""Intervals kept per stopwatch; later ones are dropped (totals stay exact)."""

Interval = tuple[str, float, float]
"""(category, start, end): wall-clock seconds (``time.time()``), exclusive of nested blocks."""


class Stopwatch:
    """Accumulated seconds and counts per category."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
        self.counts: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
        self.intervals: list[Interval] = []
        self._nested: list[float] = []  # seconds measured inside each open block
        self._open: list[list[object]] = []  # [category, start of its current segment]

    @contextmanager
    def measure(self, category: str) -> Iterator[None]:
        """Add the wall time of the ``with`` block to ``category`` (also when it raises).

        Blocks nest: time measured by an inner block counts for the inner category only
        (an aggregation that fetches its inputs is split into aggregation and IPFS), and the
        recorded intervals are split the same way.
        """
        if category not in self.seconds:
            raise ValueError(f"unknown category {category!r}; expected one of {CATEGORIES}")
        now = time.time()
        if self._open:  # the enclosing block's segment ends here
            self._record(self._open[-1], now)
        self._open.append([category, now])
        started = time.perf_counter()
        self._nested.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            inner = self._nested.pop()
            self.seconds[category] += elapsed - inner
            self.counts[category] += 1
            if self._nested:
                self._nested[-1] += elapsed
            now = time.time()
            self._record(self._open.pop(), now)
            if self._open:  # the enclosing block resumes
                self._open[-1][1] = now

    def _record(self, segment: list[object], end: float) -> None:
        category, start = segment
        assert isinstance(category, str) and isinstance(start, float)
        if end > start and len(self.intervals) < MAX_INTERVALS:
            self.intervals.append((category, start, end))

    def save(self, path: Path) -> None:
        """Write the totals and intervals as JSON (atomically: a reader never sees half a
        file)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {"seconds": self.seconds, "counts": self.counts, "intervals": self.intervals}
            )
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Stopwatch:
        """Read totals and intervals written by :meth:`save`."""
        raw = strict_json.load_file(path)
        watch = cls()
        for name in CATEGORIES:
            watch.seconds[name] = float(raw["seconds"].get(name, 0.0))
            watch.counts[name] = int(raw["counts"].get(name, 0))
        watch.intervals = [
            (str(c), float(a), float(b))
            for c, a, b in raw.get("intervals", [])
            if c in watch.seconds
        ]
        return watch

    def seconds_between(self, start: float, end: float) -> dict[str, float]:
        """Seconds per category spent within the wall-clock window ``[start, end]``."""
        out = dict.fromkeys(CATEGORIES, 0.0)
        for category, a, b in self.intervals:
            overlap = min(b, end) - max(a, start)
            if overlap > 0:
                out[category] += overlap
        return out

    def add(self, other: Stopwatch) -> None:
        """Add another stopwatch's totals to this one (not its intervals)."""
        for name in CATEGORIES:
            self.seconds[name] += other.seconds[name]
            self.counts[name] += other.counts[name]

    @property
    def busy_s(self) -> float:
        """Total measured seconds."""
        return sum(self.seconds.values())

    def overhead_share(self) -> float:
        """Share of the agent's work (:data:`WORK`, event polling excluded) spent on IPFS and
        transactions; 0 when nothing was measured."""
        work = sum(self.seconds[c] for c in WORK)
        return sum(self.seconds[c] for c in OVERHEAD) / work if work > 0 else 0.0


def combine(watches: Mapping[str, Stopwatch]) -> Stopwatch:
    """The sum of several stopwatches."""
    total = Stopwatch()
    for watch in watches.values():
        total.add(watch)
    return total
