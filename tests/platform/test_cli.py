"""The ``ledgerlearn`` command: stopping ``simulate``, the demo's flows (the operator's
commands: test_cli_operator.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

CLI = [sys.executable, "-m", "ledgerlearn.cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_simulate_stops_on_sigterm_and_ctrl_c_once_its_ipfs_node_runs(tmp_path: Path) -> None:
    # kubo takes SIGTERM and SIGINT over when its node starts; the command must still stop
    for sig in (signal.SIGTERM, signal.SIGINT):
        scratch = tmp_path / f"tmp-{sig.name}"
        scratch.mkdir()
        env = {**os.environ, "TMPDIR": str(scratch)}
        process = subprocess.Popen(
            [*CLI, "simulate", "--quick", "--out", str(tmp_path / f"out-{sig.name}")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180
            while not list(scratch.glob("*/ipfs/config")):  # the node's repository exists
                assert process.poll() is None, "simulate exited before its node started"
                assert time.monotonic() < deadline, "the IPFS node never started"
                time.sleep(0.2)
            time.sleep(3)  # the node runs (and the task with it)
            process.send_signal(sig)
            code = process.wait(timeout=60)  # hangs without the handlers given back
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert code != 0 or sig == signal.SIGTERM, code
        assert not (tmp_path / f"out-{sig.name}" / "report.md").exists()  # it stopped early


def test_the_demo_offers_every_flow() -> None:
    from ledgerlearn.cli.lab import FlowOpt
    from ledgerlearn.flows.registry import FLOW_NAMES

    choices, _ = typing.get_args(FlowOpt)
    assert set(typing.get_args(choices)) == set(FLOW_NAMES)
