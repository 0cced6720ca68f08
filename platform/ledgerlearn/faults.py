"""Named fault injection for restart tests: SIGKILL this process at a chosen point.

A crash at a precise point (after reading an event, after broadcasting a transaction, after
it is mined) cannot be caused from outside reliably, so the restart tests use this fake: with
``LEDGERLEARN_CRASH_AT=<point>`` and ``LEDGERLEARN_CRASH_MARKER=<file>`` in the environment,
the first process to pass ``<point>`` creates the marker and kills itself with SIGKILL (no
cleanup, no flush, exactly like a power cut for the process). Restarted with the same marker,
it passes the point normally. Without the variables this is a no-op.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

CRASH_AT = "LEDGERLEARN_CRASH_AT"
CRASH_MARKER = "LEDGERLEARN_CRASH_MARKER"


def crash_point(name: str) -> None:
    """SIGKILL this process here, once, if the environment asks for a crash at ``name``."""
    if os.environ.get(CRASH_AT) != name:
        return
    marker = os.environ.get(CRASH_MARKER)
    if not marker:
        return
    path = Path(marker)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # crashed here before: this is the restarted process
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
