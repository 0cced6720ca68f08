"""What every test suite shares.

Ctrl-C as a terminal delivers it: a shell that starts a job in the background without job
control (``make test &``, ``nohup ... &``, some CI launchers) starts it with SIGINT ignored, and
an ignored signal stays ignored in every process started from it, so the tests that send
SIGINT to a command would see it do nothing. The test session takes SIGINT back (Python's own
handler), which its subprocesses then start with at the default, as under a terminal.
"""

from __future__ import annotations

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
