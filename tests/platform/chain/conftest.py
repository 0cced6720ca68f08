"""Fixtures: one behaviour suite, run on both backends (in-process EVM and the anvil devnet)."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment, deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.core.task_params import TaskParams

ETHER = 10**18


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@pytest.fixture(scope="session")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    state = tmp_path_factory.mktemp("devnet") / "state.json"
    net = Devnet(DevnetSettings(port=free_port(), state_file=state))
    net.start()
    yield net
    net.stop()


@pytest.fixture(params=["embedded", "anvil"])
def chain(request: pytest.FixtureRequest) -> Chain:
    if request.param == "embedded":
        return connect(ChainSettings())
    net: Devnet = request.getfixturevalue("devnet")
    return connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))


@dataclass
class Consortium:
    """A deployed consortium with funded participants in every role."""

    chain: Chain
    deployment: Deployment
    admin: LocalAccount
    publisher: LocalAccount
    providers: list[LocalAccount]
    validators: list[LocalAccount]
    outsider: LocalAccount

    def client(self, account: LocalAccount | None = None) -> LedgerClient:
        return LedgerClient(self.chain, self.deployment, account)

    def params(self, **overrides: object) -> TaskParams:
        n = len(self.validators)
        fields: dict[str, object] = dict(
            model_spec_hash=sha("spec"),
            model_spec_cid="bafy-spec",
            initial_weights_hash=sha("weights-0"),
            initial_weights_cid="bafy-weights-0",
            committee=tuple(v.address for v in self.validators),
            fragment_hashes=tuple(sha(f"fragment-{i}") for i in range(n)),
            fragment_cids=tuple(f"bafy-fragment-{i}" for i in range(n)),
            quorum=3,
            max_faulty_validators=2,
            threshold=500_000,
            round_length=8,
            score_window=8,
            max_rounds=2,
        )
        fields.update(overrides)
        return TaskParams(**fields)  # type: ignore[arg-type]


@pytest.fixture
def consortium(chain: Chain) -> Consortium:
    accounts = [Account.create() for _ in range(10)]
    for account in accounts:
        chain.fund(account.address, 100 * ETHER)
    admin, publisher, outsider = accounts[0], accounts[1], accounts[2]
    providers, validators = accounts[3:5], accounts[5:10]
    deployment = deploy(chain, admin, admin_delay_s=0)
    admin_client = LedgerClient(chain, deployment, admin)
    admin_client.grant_role("PUBLISHER", publisher.address)
    for p in providers:
        admin_client.grant_role("PROVIDER", p.address)
    for v in validators:
        admin_client.grant_role("VALIDATOR", v.address)
    return Consortium(chain, deployment, admin, publisher, providers, validators, outsider)
