"""Give SIGTERM and SIGINT back to Python once kubo runs in the process.

Starting a kubo node makes the Go runtime install its own handlers for SIGTERM and SIGINT
(``signal.Notify``): from then on SIGTERM is swallowed and the process only dies by SIGKILL,
and Ctrl-C no longer raises ``KeyboardInterrupt``. Python still *believes* its handlers are
installed, so :func:`acquire` re-installs them at the C level (CPython installs them with
``SA_ONSTACK``, as the Go runtime requires of foreign handlers):

- a Python handler the application installed (or SIGINT's ``KeyboardInterrupt``) is kept;
- ``SIG_IGN`` stays ignored;
- the default action of SIGTERM becomes :func:`request_shutdown`, which raises
  ``SystemExit(0)`` in the main thread, so ``with`` blocks and ``finally`` clauses close the
  node and the process exits cleanly. A second signal during that shutdown exits at once
  with status ``128 + signum``.

The handlers are reference-counted by the nodes of the process; :func:`release` by the last
node restores what was there before. Signals can only be handled in the main thread: called
from another thread, :func:`acquire` does nothing and says so in the log.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["SHUTDOWN_SIGNALS", "acquire", "release", "request_shutdown"]

_LOG = logging.getLogger(__name__)

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

_lock = threading.Lock()
_users = 0
_previous: dict[signal.Signals, _Handler] = {}
_shutting_down = False


def request_shutdown(signum: int, frame: FrameType | None) -> None:
    """Signal handler: raise ``SystemExit(0)`` once; exit immediately on a repeated signal."""
    global _shutting_down
    del frame
    if _shutting_down:
        _LOG.warning("signal %d during shutdown: exiting now", signum)
        os._exit(128 + signum)
    _shutting_down = True
    _LOG.info("signal %d received: shutting down", signum)
    raise SystemExit(0)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def acquire() -> bool:
    """Re-install Python-level handlers for the shutdown signals (after a node started).

    Returns
    -------
    bool
        False if called outside the main thread (nothing was installed).
    """
    global _users
    if not _in_main_thread():
        _LOG.warning("node started outside the main thread: SIGTERM/SIGINT stay with kubo")
        return False
    with _lock:
        for signum in SHUTDOWN_SIGNALS:
            current = signal.getsignal(signum)
            if _users == 0:
                _previous[signum] = current
            if current in (signal.SIG_DFL, None):
                signal.signal(signum, request_shutdown)
            else:  # a Python handler or SIG_IGN: arm it again at the C level
                signal.signal(signum, current)
        _users += 1
    return True


def release() -> None:
    """Undo one :func:`acquire`; the last one restores the handlers found by the first."""
    global _users
    if not _in_main_thread():
        return
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            for signum, handler in _previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
            _previous.clear()
