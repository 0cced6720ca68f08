"""Content downloads by CID for the gateway's routes, so that no CID can starve the others.

Requests for a CID nobody serves used to take one thread of the shared pool each for the
whole fetch deadline, and queue in the fetch worker behind each other: twenty of them made an
available download time out and ``/health`` slow. :class:`ContentFetches` gives downloads

- their own bounded pools (threads taken by fetches are never the ones reads and ``/health``
  run on): ``concurrency`` remote fetches at once, and a separate lane for content the
  gateway's own node holds, which never waits behind a remote fetch;
- one fetch per (CID, content hash) at a time: concurrent requests for it wait for that one
  fetch (a client that goes away does not cancel it for the others);
- a memory of failures: a CID that could not be fetched is answered at once, with
  ``Retry-After``, for ``unavailable_ttl_s``;
- a bound on distinct CIDs waiting for a slot (:class:`Busy` beyond ``max_waiting``);
- a deadline that starts when the fetch gets its slot, not while it waits for one.

It counts every download's result (:attr:`ContentFetches.results`, for the metrics).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread

from ledgerlearn.errors import (
    ContentHashMismatchError,
    ContentTooLargeError,
    ContentUnavailableError,
    StorageError,
)

__all__ = ["RESULTS", "Busy", "ContentFetches", "RecentlyFailed"]

RESULTS = ("ok", "remembered", "busy", "unavailable", "too_large", "hash_mismatch", "failed")
"""What a download ended with: the verified bytes; a failure answered from the memory of a
recent one; no slot (too many CIDs waiting); a fetch that failed because nobody served the
content in time, it was too large, did not match its hash, or another storage error."""

Fetch = Callable[[str, bytes, float], bytes]
"""``fetch(cid, expected_sha256, timeout_s)``: verified bytes, or a :class:`StorageError`."""


class Busy(Exception):
    """Too many distinct CIDs wait for a fetch slot; ``retry_after_s`` says when to retry."""

    def __init__(self, waiting: int, retry_after_s: int) -> None:
        super().__init__(f"{waiting} downloads are waiting for a fetch slot")
        self.retry_after_s = retry_after_s


class RecentlyFailed(Exception):
    """The CID's last fetch failed less than the negative-cache time ago."""

    def __init__(self, error: StorageError, retry_after_s: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


@dataclass
class _Failure:
    error: StorageError
    until: float


class ContentFetches:
    """Downloads by CID through bounded pools, coalesced, with a negative cache.

    Parameters
    ----------
    fetch
        Fetches and verifies one content (e.g. ``IpfsNode.get`` with its size cap).
    is_local
        Whether the gateway's own node holds a CID (read in a lane of its own).
    concurrency
        Remote fetches at once.
    max_waiting
        Distinct (CID, hash) pairs waiting for a remote slot before :class:`Busy`.
    timeout_s
        Deadline of one fetch, from the moment it gets its slot.
    unavailable_ttl_s
        How long a failed CID is answered with its failure at once.
    clock
        Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        fetch: Fetch,
        is_local: Callable[[str], bool],
        *,
        concurrency: int,
        max_waiting: int,
        timeout_s: float,
        unavailable_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._is_local = is_local
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self.unavailable_ttl_s = unavailable_ttl_s
        self._clock = clock
        self._remote_threads = anyio.CapacityLimiter(concurrency)
        self._local_threads = anyio.CapacityLimiter(max(2, concurrency))
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[tuple[str, bytes], asyncio.Future[bytes]] = {}
        self._failed: dict[tuple[str, bytes], _Failure] = {}
        self._unavailable: dict[str, _Failure] = {}
        """CIDs no peer served recently, whatever hash they were asked with."""
        self.waiting = 0
        self.fetches = 0
        """Fetches started (coalesced and remembered requests start none)."""
        self.results: dict[str, int] = dict.fromkeys(RESULTS, 0)
        """Downloads (calls of :meth:`get`, and failures :meth:`unavailable` remembered) by
        how they ended (:data:`RESULTS`)."""

    async def get(self, cid: str, digest: bytes) -> bytes:
        """The verified content of ``cid`` (see :meth:`_get`), its result counted."""
        try:
            data = await self._get(cid, digest)
        except RecentlyFailed:
            self.results["remembered"] += 1
            raise
        except Busy:
            self.results["busy"] += 1
            raise
        except ContentUnavailableError:
            self.results["unavailable"] += 1
            raise
        except ContentTooLargeError:
            self.results["too_large"] += 1
            raise
        except ContentHashMismatchError:
            self.results["hash_mismatch"] += 1
            raise
        except StorageError:
            self.results["failed"] += 1
            raise
        self.results["ok"] += 1
        return data

    async def _get(self, cid: str, digest: bytes) -> bytes:
        """The verified content of ``cid``.

        Raises
        ------
        RecentlyFailed
            Its last fetch failed within ``unavailable_ttl_s``.
        Busy
            Too many other CIDs wait for a slot.
        StorageError
            This fetch failed (as :meth:`IpfsNode.get` raises it).
        """
        key = (cid, digest)
        running = self._running.get(key)
        if running is None:
            self._raise_if_failed(key)
            local = await anyio.to_thread.run_sync(self._is_local, cid, limiter=self._local_threads)
            running = self._running.get(key)  # another request may have started it meanwhile
            if running is None:
                self._raise_if_failed(key)  # ... or finished it
                if not local and self.waiting >= self.max_waiting:
                    raise Busy(self.waiting, max(1, math.ceil(self.timeout_s)))
                running = asyncio.get_running_loop().create_future()
                running.add_done_callback(_consume)
                self._running[key] = running
                task = asyncio.create_task(self._run(key, local, running))
                task.add_done_callback(_consume)
        return await asyncio.shield(running)

    def unavailable(self, cid: str) -> RecentlyFailed | None:
        """The remembered failure when no peer served ``cid`` recently: a request for it needs
        no lookup of what the chain records for it."""
        failure = self._unavailable.get(cid)
        if failure is None:
            return None
        now = self._clock()
        if now >= failure.until:
            del self._unavailable[cid]
            return None
        self.results["remembered"] += 1
        return RecentlyFailed(failure.error, max(1, math.ceil(failure.until - now)))

    def _raise_if_failed(self, key: tuple[str, bytes]) -> None:
        failure = self._failed.get(key)
        if failure is None:
            return
        now = self._clock()
        if now < failure.until:
            raise RecentlyFailed(failure.error, max(1, math.ceil(failure.until - now)))
        del self._failed[key]

    @property
    def remembered_failures(self) -> int:
        """(CID, hash) pairs currently answered from the negative cache."""
        now = self._clock()
        return sum(1 for f in self._failed.values() if f.until > now)

    async def _run(
        self, key: tuple[str, bytes], local: bool, result: asyncio.Future[bytes]
    ) -> None:
        cid, digest = key
        try:
            if local:
                data = await self._call(cid, digest, self._local_threads)
            else:
                self.waiting += 1
                try:
                    await self._slots.acquire()
                finally:
                    self.waiting -= 1
                try:
                    data = await self._call(cid, digest, self._remote_threads)
                finally:
                    self._slots.release()
        except StorageError as exc:
            self._remember(key, exc)
            result.set_exception(exc)
        except BaseException as exc:  # cancelled at shutdown, or a bug: the waiters learn it
            result.set_exception(exc)
            raise
        else:
            result.set_result(data)
        finally:
            self._running.pop(key, None)
            if not result.done():  # pragma: no cover - every path above resolves it
                result.cancel()

    async def _call(self, cid: str, digest: bytes, limiter: anyio.CapacityLimiter) -> bytes:
        self.fetches += 1
        data: bytes = await anyio.to_thread.run_sync(
            self._fetch, cid, digest, self.timeout_s, limiter=limiter
        )
        return data

    def _remember(self, key: tuple[str, bytes], error: StorageError) -> None:
        if self.unavailable_ttl_s <= 0:
            return
        now = self._clock()
        for old in [k for k, f in self._failed.items() if f.until <= now]:
            del self._failed[old]
        for cid in [c for c, f in self._unavailable.items() if f.until <= now]:
            del self._unavailable[cid]
        failure = _Failure(error, now + self.unavailable_ttl_s)
        self._failed[key] = failure
        if isinstance(error, ContentUnavailableError):  # about the CID, not the hash
            self._unavailable[key[0]] = failure


def _consume(done: asyncio.Future[bytes] | asyncio.Task[None]) -> None:
    """Retrieve a finished fetch's exception: its waiters got it, or all of them left."""
    if not done.cancelled():
        done.exception()
