"""The ``ledgerlearn`` command: devnet up, account new, chain deploy / grant / info."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

import requests

from tests.platform.chain.conftest import free_port

CLI = [sys.executable, "-m", "ledgerlearn.cli"]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_devnet_deploy_grant_info(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGERLEARN_AGENT__PASSWORD": "pw", "COLUMNS": "200"}
    port = free_port()
    state = tmp_path / "state.json"
    devnet = subprocess.Popen(
        [*CLI, "devnet", "up", "--port", str(port), "--state-file", str(state)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.post(
                    url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1
                )
                break
            except requests.RequestException:
                time.sleep(0.2)
        admin = run("account", "new", str(tmp_path / "admin.json"), env=env)
        assert admin.returncode == 0, admin.stderr
        member = run("account", "new", str(tmp_path / "member.json"), env=env)
        member_address = member.stdout.split()[0]
        deployment = tmp_path / "deployment.json"
        deployed = run(
            "chain", "deploy", "--keystore", str(tmp_path / "admin.json"), "--rpc", url,
            "--fund", "--out", str(deployment), env=env,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr
        assert deployment.exists()
        granted = run(
            "chain", "grant", "validator", member_address, "--keystore",
            str(tmp_path / "admin.json"), "--rpc", url, "-d", str(deployment), env=env,
        )  # fmt: skip
        assert granted.returncode == 0, granted.stderr
        refused = run(
            "chain", "grant", "oracle", member_address, "--keystore",
            str(tmp_path / "admin.json"), "--rpc", url, "-d", str(deployment), env=env,
        )  # fmt: skip
        assert refused.returncode == 1 and "unknown role 'ORACLE'" in refused.stderr
        info = run("chain", "info", "--rpc", url, "-d", str(deployment), env=env)
        assert info.returncode == 0, info.stderr
        assert "members" in info.stdout and "tasks" in info.stdout
    finally:
        devnet.send_signal(signal.SIGTERM)
        out, _ = devnet.communicate(timeout=30)
    assert devnet.returncode == 0, out
    assert f"devnet at {url}" in out
    assert state.exists()  # anvil wrote its state on the way out


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
