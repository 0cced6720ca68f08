"""The gateway's download pool (THREATS I7): one fetch per CID however many ask, failures
remembered until they expire, a bound on waiting CIDs, local content in a lane of its own,
and a deadline that starts when the fetch gets its slot. Fetches are stand-ins that block on
events; the clock is the test's."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from ledgerlearn.errors import ContentUnavailableError
from ledgerlearn_gateway.content import Busy, ContentFetches, RecentlyFailed

DIGEST = b"\x01" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Gate:
    """A fetch that blocks until released, recording its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.release: dict[str, threading.Event] = {}
        self.started = threading.Semaphore(0)
        self.fail: set[str] = set()

    def __call__(self, cid: str, digest: bytes, timeout_s: float) -> bytes:
        self.calls.append((cid, timeout_s))
        event = self.release.setdefault(cid, threading.Event())
        self.started.release()
        assert event.wait(30)
        if cid in self.fail:
            raise ContentUnavailableError(f"{cid} was not fetched within {timeout_s} s")
        return cid.encode()

    def open(self, cid: str) -> None:
        self.release.setdefault(cid, threading.Event()).set()


def fetches(
    gate: Gate, clock: Clock, *, local: Callable[[str], bool] = lambda c: False, **kw: float
) -> ContentFetches:
    options: dict[str, float] = {
        "concurrency": 2,
        "max_waiting": 2,
        "timeout_s": 10.0,
        "unavailable_ttl_s": 30.0,
        **kw,
    }
    return ContentFetches(
        gate,
        local,
        concurrency=int(options["concurrency"]),
        max_waiting=int(options["max_waiting"]),
        timeout_s=options["timeout_s"],
        unavailable_ttl_s=options["unavailable_ttl_s"],
        clock=clock,
    )


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def started(gate: Gate, count: int) -> None:
    for _ in range(count):
        assert await asyncio.to_thread(gate.started.acquire, True, 30)


def test_concurrent_requests_for_one_cid_share_one_fetch() -> None:
    async def scenario() -> None:
        gate, clock = Gate(), Clock()
        pool = fetches(gate, clock)
        waiters = [asyncio.create_task(pool.get("dead", DIGEST)) for _ in range(20)]
        await started(gate, 1)
        gate.fail.add("dead")
        gate.open("dead")
        results = await asyncio.gather(*waiters, return_exceptions=True)
        # those that asked before it failed share its error; later ones get it remembered
        assert all(isinstance(r, ContentUnavailableError | RecentlyFailed) for r in results)
        assert isinstance(results[0], ContentUnavailableError)
        assert [c for c, _ in gate.calls] == ["dead"]
        # remembered: answered at once, with the time left
        clock.now += 10
        with pytest.raises(RecentlyFailed) as caught:
            await pool.get("dead", DIGEST)
        assert caught.value.retry_after_s == 20
        assert pool.remembered_failures == 1
        # forgotten after the time: fetched again
        clock.now += 21
        gate.fail.clear()
        assert await pool.get("dead", DIGEST) == b"dead"
        assert len(gate.calls) == 2

    asyncio.run(scenario())


def test_a_client_that_leaves_does_not_cancel_the_fetch_for_the_others() -> None:
    async def scenario() -> None:
        gate, clock = Gate(), Clock()
        pool = fetches(gate, clock)
        first = asyncio.create_task(pool.get("slow", DIGEST))
        second = asyncio.create_task(pool.get("slow", DIGEST))
        await started(gate, 1)
        first.cancel()
        gate.open("slow")
        assert await second == b"slow"
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(scenario())


def test_waiting_cids_are_bounded_and_the_deadline_starts_with_the_slot() -> None:
    async def scenario() -> None:
        gate, clock = Gate(), Clock()
        pool = fetches(gate, clock, concurrency=2, max_waiting=2)
        running = [asyncio.create_task(pool.get(c, DIGEST)) for c in ("a", "b")]
        await started(gate, 2)
        waiting = [asyncio.create_task(pool.get(c, DIGEST)) for c in ("c", "d")]
        await until(lambda: pool.waiting == 2)
        with pytest.raises(Busy):
            await pool.get("e", DIGEST)
        clock.now += 1000  # a long wait for a slot is not held against the fetch
        for cid in "abcd":
            gate.open(cid)
        assert await asyncio.gather(*running, *waiting) == [b"a", b"b", b"c", b"d"]
        assert {t for _, t in gate.calls} == {10.0}  # each fetch got its full deadline

    asyncio.run(scenario())


def test_local_content_never_waits_behind_remote_fetches() -> None:
    async def scenario() -> None:
        gate, clock = Gate(), Clock()
        pool = fetches(gate, clock, local=lambda c: c == "mine", concurrency=1, max_waiting=1)
        stuck = asyncio.create_task(pool.get("remote", DIGEST))
        await started(gate, 1)
        queued = asyncio.create_task(pool.get("remote-2", DIGEST))
        await until(lambda: pool.waiting == 1)
        mine = asyncio.create_task(pool.get("mine", DIGEST))
        await started(gate, 1)
        gate.open("mine")
        assert await mine == b"mine"
        assert not stuck.done()
        gate.open("remote")
        gate.open("remote-2")
        assert await stuck == b"remote" and await queued == b"remote-2"

    asyncio.run(scenario())


def test_an_unavailable_cid_is_remembered_whatever_hash_it_is_asked_with() -> None:
    async def scenario() -> None:
        gate, clock = Gate(), Clock()
        pool = fetches(gate, clock)
        gate.fail.add("dead")
        gate.open("dead")
        with pytest.raises(ContentUnavailableError):
            await pool.get("dead", DIGEST)
        remembered = pool.unavailable("dead")
        assert remembered is not None and remembered.retry_after_s == 30
        assert pool.unavailable("other") is None
        clock.now += 31
        assert pool.unavailable("dead") is None

    asyncio.run(scenario())
