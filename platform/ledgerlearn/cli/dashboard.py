"""The demo's dashboard: a read-only ``ledgerlearn gateway`` on the demo's devnet, in a process
of its own, serving the dashboard while the demo runs and, when asked, the finished task until
Ctrl-C (the lab never imports the gateway: the command starts it)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from ledgerlearn.cli.common import report_console as console

__all__ = ["DEFAULT_PORT", "DemoDashboard", "wait_for_ctrl_c"]

DEFAULT_PORT = 8000
"""The dashboard's port unless ``--port`` says otherwise (a free one when it is taken)."""


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DemoDashboard:
    """The gateway process of a demo: started when the demo's contracts are deployed,
    stopped with the demo; its log is ``OUT/logs/gateway.log``."""

    def __init__(self, out: Path, eval_dataset: str, port: int | None) -> None:
        self.out = out
        self.eval_dataset = eval_dataset
        if port is None:
            port = DEFAULT_PORT if _free(DEFAULT_PORT) else _any_port()
            if port != DEFAULT_PORT:
                console.print(f"port {DEFAULT_PORT} is taken: the dashboard uses {port}")
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, rpc_url: str, deployment: Path) -> None:
        """Start the gateway on the demo's chain (it answers a few seconds later)."""
        log = self.out / "logs" / "gateway.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "ledgerlearn.cli", "gateway",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--rpc", rpc_url, "--deployment", str(deployment),
            "--state-dir", str(self.out / "gateway"), "--eval-dataset", self.eval_dataset,
        ]  # fmt: skip
        with log.open("ab") as handle:
            self.process = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        threading.Thread(target=self._announce, daemon=True, name="dashboard").start()

    def _announce(self) -> None:
        """Say when the dashboard answers, or that its gateway stopped (see its log)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and self.process is not None:
            if self.process.poll() is not None:
                console.print(
                    f"the dashboard's gateway exited ({self.process.returncode}): "
                    f"see {self.out / 'logs' / 'gateway.log'}"
                )
                return
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code < 500:
                    console.print(f"dashboard live at [bold]{self.url}[/]")
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the gateway (SIGTERM, then SIGKILL after 30 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_ctrl_c(what: str) -> None:
    """Block until SIGINT or SIGTERM (then return normally)."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        console.print(f"{what}; Ctrl-C stops it")
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
