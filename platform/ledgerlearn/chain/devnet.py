"""The local devnet: anvil (npm ``@foundry-rs/anvil``, a native binary) on 127.0.0.1.

The binary is started directly — the ``node_modules/.bin/anvil`` Node wrapper would orphan the
node when killed. The chain persists to a state file (``--state``), written periodically and
on exit, so a restarted devnet continues where it stopped.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import requests

from ledgerlearn.config import DevnetSettings
from ledgerlearn.errors import ChainError, ConfigError

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[3]
_ANVIL_IN_NODE_MODULES = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")


def find_anvil(configured: Path | None = None) -> Path:
    """Locate the anvil binary: the setting, the repo's node_modules, the cwd's, then PATH."""
    candidates = [configured] if configured else []
    candidates += [_REPO_ROOT / _ANVIL_IN_NODE_MODULES, Path.cwd() / _ANVIL_IN_NODE_MODULES]
    for candidate in candidates:
        if candidate is not None and candidate.is_file():
            return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ConfigError(
        "anvil not found: run `npm ci` in the repository (package @foundry-rs/anvil) "
        "or set LEDGERLEARN_DEVNET__ANVIL_PATH"
    )


class Devnet:
    """An anvil process serving JSON-RPC on ``settings.host:settings.port``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        settings: DevnetSettings,
        *,
        log_file: Path | None = None,
        wrapper: list[str] | None = None,
    ) -> None:
        """``wrapper``: a command anvil's runs under (e.g. ``ip netns exec HOST``, which execs)."""
        self.settings = settings
        self.log_file = log_file
        self.wrapper = wrapper or []
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC endpoint."""
        return f"http://{self.settings.host}:{self.settings.port}"

    def command(self) -> list[str]:
        """The anvil command line."""
        s = self.settings
        s.state_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(find_anvil(s.anvil_path)),
            "--host", s.host,
            "--port", str(s.port),
            "--chain-id", str(s.chain_id),
            "--hardfork", "cancun",
            "--state", str(s.state_file),
            "--state-interval", str(s.state_interval_s),
            "--accounts", "1",
        ]  # fmt: skip
        if s.block_time_s is not None:
            cmd += ["--block-time", str(s.block_time_s)]
        return cmd

    def start(self, timeout_s: float = 30.0) -> str:
        """Start anvil and wait until it answers; returns the RPC URL."""
        if self.process is not None:
            raise ChainError("devnet already started")
        if self.is_up():
            raise ChainError(
                f"a node already answers at {self.rpc_url}: stop it or pick another port"
            )
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log_handle = self.log_file.open("ab")
            out = self._log_handle
        self.process = subprocess.Popen(
            [*self.wrapper, *self.command()], stdout=out, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise ChainError(f"anvil exited with code {code} (port {self.settings.port} busy?)")
            if self.is_up():
                log.info("devnet up at %s (state %s)", self.rpc_url, self.settings.state_file)
                return self.rpc_url
            time.sleep(0.1)
        self.stop()
        raise ChainError(f"anvil did not answer at {self.rpc_url} within {timeout_s} s")

    def is_up(self) -> bool:
        """Whether a node answers JSON-RPC at the URL."""
        try:
            response = requests.post(
                self.rpc_url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                timeout=1,
            )
            return response.ok
        except requests.RequestException:
            return False

    def stop(self, *, kill: bool = False, timeout_s: float = 10.0) -> None:
        """Stop anvil: SIGTERM (it writes its state file) or, with ``kill``, SIGKILL (no write)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def __enter__(self) -> Devnet:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
