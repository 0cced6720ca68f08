"""Fixtures of the gateway tests: an anvil devnet, a deployed consortium with members in every
role, a real IPFS node for the test's own members, and the gateway as a real server process
(``ledgerlearn gateway`` under uvicorn on 127.0.0.1) with its own relayer key."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment, deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.config import ChainSettings, DevnetSettings, StorageSettings
from ledgerlearn.data import load_bundled
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.storage import IpfsNode

PASSWORD = "gateway-test"  # throwaway keys of a test devnet
ETHER = 10**18
CLI = [sys.executable, "-m", "ledgerlearn.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_keystore(path: Path, account: LocalAccount) -> Path:
    keystore = Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keystore))
    path.chmod(0o600)
    return path


@dataclass
class World:
    """A devnet with the contracts, members in roles, and the test members' IPFS node."""

    root: Path
    net: Devnet
    chain: Chain
    deployment: Deployment
    deployment_file: Path
    admin: LocalAccount
    publisher: LocalAccount
    outsider: LocalAccount
    relayer: LocalAccount
    validators: list[LocalAccount]
    providers: list[LocalAccount]
    node: IpfsNode
    keystores: dict[str, Path] = field(default_factory=dict)

    def client(self, account: LocalAccount | None = None) -> LedgerClient:
        return LedgerClient(self.chain, self.deployment, account)

    @property
    def committee(self) -> list[str]:
        return [v.address for v in self.validators]


def digits_validation(samples: int = 120) -> bytes:
    """A small .npz of digits (x, y) as a publisher uploads it."""
    data = load_bundled("digits", "test")
    buffer = io.BytesIO()
    np.savez(buffer, x=data.x[:samples], y=data.y[:samples])
    return buffer.getvalue()


def make_world(root: Path, net: Devnet, *, validators: int = 3, providers: int = 3) -> World:
    chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
    accounts = [Account.create() for _ in range(4 + validators + providers)]
    admin, publisher, outsider, relayer = accounts[:4]
    vals, provs = accounts[4 : 4 + validators], accounts[4 + validators :]
    for account in accounts:
        chain.fund(account.address, 100 * ETHER)
    deployment = deploy(chain, admin, admin_delay_s=0)
    deployment_file = root / "deployment.json"
    deployment.save(deployment_file)
    admin_client = LedgerClient(chain, deployment, admin)
    admin_client.grant_role("PUBLISHER", publisher.address)
    admin_client.grant_role("PUBLISHER", relayer.address)  # the gateway: a participant
    relayer2 = Account.create()  # a second gateway's
    chain.fund(relayer2.address, 100 * ETHER)
    admin_client.grant_role("PUBLISHER", relayer2.address)
    for v in vals:
        admin_client.grant_role("VALIDATOR", v.address)
    for p in provs:
        admin_client.grant_role("PROVIDER", p.address)
    node = IpfsNode(StorageSettings(repo_dir=root / "members-ipfs"), handle_signals=False).start()
    for member in [*vals, *provs]:
        LedgerClient(chain, deployment, member).register_member(node.multiaddrs[0])
    world = World(
        root,
        net,
        chain,
        deployment,
        deployment_file,
        admin,
        publisher,
        outsider,
        relayer,
        vals,
        provs,
        node,
    )
    for name, account in (
        ("publisher", publisher),
        ("outsider", outsider),
        ("relayer", relayer),
        ("relayer2", relayer2),
    ):
        world.keystores[name] = write_keystore(root / "keys" / f"{name}.json", account)
    return world


class GatewayProcess:
    """``ledgerlearn gateway`` as a subprocess on 127.0.0.1 (stopped by the test)."""

    def __init__(
        self,
        world: World,
        state_dir: Path,
        *,
        port: int | None = None,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
        relayer: str = "relayer",
    ) -> None:
        self.relayer = relayer
        self.world = world
        self.state_dir = state_dir
        self.port = port or free_port()
        self.extra = extra or []
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = state_dir.parent / f"{state_dir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 120.0, ready_path: str = "/info") -> GatewayProcess:
        """Start it and wait until ``ready_path`` answers 200 (``/health`` when reads are
        closed: ``/info`` then needs a signature)."""
        env = {
            **os.environ,
            "LEDGERLEARN_AGENT__PASSWORD": PASSWORD,
            "LEDGERLEARN_GATEWAY__POLL_INTERVAL_S": "0.2",
            "LEDGERLEARN_LOG": "INFO",
            "OMP_NUM_THREADS": "1",
            **self.env,
        }
        args = [
            *CLI,
            "gateway",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--rpc",
            self.world.net.rpc_url,
            "--deployment",
            str(self.world.deployment_file),
            "--keystore",
            str(self.world.keystores[self.relayer]),
            "--state-dir",
            str(self.state_dir),
            *self.extra,
        ]
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            args, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"gateway did not answer within {timeout_s} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    state = tmp_path_factory.mktemp("api-devnet") / "state.json"
    net = Devnet(DevnetSettings(port=free_port(), state_file=state))
    net.start()
    yield net
    net.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, devnet: Devnet) -> Iterator[World]:
    w = make_world(tmp_path_factory.mktemp("world"), devnet)
    yield w
    w.node.stop()


@pytest.fixture(scope="module")
def gateway(world: World) -> Iterator[GatewayProcess]:
    process = GatewayProcess(world, world.root / "gateway").start()
    yield process
    process.stop()


def publication_form(world: World, **policy: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(files, data) of a small digits task for ``POST /tasks``."""
    fields = {
        "quorum": 2,
        "max_faulty_validators": 0,
        "rounds": 2,
        "round_length": 6,
        "score_window": 6,
        "threshold": 0.0,
        "threshold_mode": "absolute",
    }
    fields.update(policy)
    files = {
        "spec": ("spec.json", logreg_digits().to_json(), "application/json"),
        "validation": ("validation.npz", digits_validation(), "application/octet-stream"),
    }
    data = {"policy": json.dumps(fields), "committee": ",".join(world.committee)}
    return files, data
