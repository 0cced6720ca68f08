"""Agents that restart keep their registered IPFS address: no registration when it did not
change, exactly one when it did, and the other members then dial the new address (and forget
the old one). A member that cannot be dialled is said once at INFO, never as a WARNING.

Real parts: an anvil devnet, the contracts, a real kubo node per agent session (several in
this process), and the agent commands as subprocesses for the CLI's one-line error.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.agents.session import AgentSession, open_session
from ledgerlearn.agents.validator import Validator
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment, deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.events import EventStream
from ledgerlearn.config import ChainSettings, DevnetSettings, StorageSettings
from ledgerlearn.storage import PeerAddress
from ledgerlearn.storage.listen_port import KEPT_FILE
from tests.platform.chain.conftest import free_port
from tests.platform.test_cli_agents import agent_env, assert_clear_error, run, write_keystore

ETHER = 10**18


@dataclass
class Consortium:
    chain: Chain
    settings: ChainSettings
    deployment_file: Path
    reader: LedgerClient
    accounts: dict[str, LocalAccount]

    def registrations(self, name: str) -> int:
        address = self.accounts[name].address
        events = EventStream(self.reader).poll().events
        return sum(e.name == "MemberRegistered" and e.args["account"] == address for e in events)

    def sent(self, name: str) -> int:
        return int(self.chain.w3.eth.get_transaction_count(self.accounts[name].address))


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("reregistration")
    net = Devnet(DevnetSettings(port=free_port(), state_file=root / "devnet" / "state.json"))
    net.start()
    try:
        settings = ChainSettings(backend="rpc", rpc_url=net.rpc_url)
        chain = connect(settings)
        admin = Account.create()
        chain.fund(admin.address, 100 * ETHER)
        deployment = deploy(chain, admin, admin_delay_s=0)
        deployment_file = root / "deployment.json"
        deployment.save(deployment_file)
        admin_client = LedgerClient(chain, deployment, admin)
        accounts: dict[str, LocalAccount] = {}
        for name, role in (("validator", "VALIDATOR"), ("provider", "PROVIDER")):
            accounts[name] = Account.create()
            chain.fund(accounts[name].address, 100 * ETHER)
            admin_client.grant_role(role, accounts[name].address)
        reader = LedgerClient(chain, Deployment.load(deployment_file))
        yield Consortium(chain, settings, deployment_file, reader, accounts)
    finally:
        net.stop()


def session(
    consortium: Consortium, name: str, home: Path, **storage: object
) -> AbstractContextManager[AgentSession]:
    return open_session(
        consortium.accounts[name],
        consortium.settings,
        consortium.deployment_file,
        home / name / "state",
        StorageSettings(repo_dir=home / name / "ipfs", **storage),  # type: ignore[arg-type]
        handle_signals=False,
    )


def refreshed(agent: AgentSession) -> AgentSession:
    agent.participant.sync()
    agent.peering.refresh()
    return agent


def test_a_restarted_member_registers_only_a_changed_address_and_peers_follow_it(
    consortium: Consortium, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ledgerlearn")
    key = consortium.accounts["validator"].key

    def register(agent: AgentSession) -> bool:
        return Validator(agent.participant, key).register(agent.peer_address)

    with session(consortium, "provider", tmp_path) as provider:
        assert provider.register_peer()
        with session(consortium, "validator", tmp_path) as validator:
            assert register(validator)
            first = validator.peer_address
            refreshed(provider)
            assert PeerAddress.parse(first).peer_id in provider.node.connected_peers()
        assert consortium.registrations("validator") == 1
        sent = consortium.sent("validator")

        # A restart keeps the port: same address, no transaction.
        with session(consortium, "validator", tmp_path) as validator:
            assert validator.peer_address == first
            assert not register(validator)
            refreshed(validator)  # as a restarted agent does: it dials the members
        assert consortium.registrations("validator") == 1
        assert consortium.sent("validator") == sent

        # Its kept port is taken meanwhile: it moves and registers its new address, once.
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            kept = tmp_path / "validator" / "ipfs" / KEPT_FILE
            kept.write_text(json.dumps({"port": holder.getsockname()[1]}))
            with session(consortium, "validator", tmp_path) as validator:
                second = validator.peer_address
                assert second != first
                assert register(validator)
        assert consortium.registrations("validator") == 2
        assert consortium.sent("validator") == sent + 1

        # The validator is down now: the provider learns the new address, forgets the old
        # one, and says once that the member is unreachable.
        refreshed(provider)
        refreshed(provider)
        assert provider.peering.addresses[consortium.accounts["validator"].address] == second
        assert second in provider.node.known_peers and first not in provider.node.known_peers
        unreachable = [r for r in caplog.records if "unreachable at" in r.getMessage()]
        assert [r.levelname for r in unreachable] == ["INFO"], caplog.text
        assert second in unreachable[0].getMessage()

        # Back on the same (kept) address: no transaction; the provider's fetch worker dials
        # the new address, and once the validator dialled it the provider says so once.
        with session(consortium, "validator", tmp_path) as validator:
            assert validator.peer_address == second
            assert not register(validator)
            cid, digest = validator.node.put(b"served at the new address")
            assert provider.node.get(cid, digest, timeout_s=20) == b"served at the new address"
            refreshed(validator)
            refreshed(provider)
            again = [r for r in caplog.records if "reachable again" in r.getMessage()]
            assert [r.levelname for r in again] == ["INFO"], caplog.text
        assert consortium.registrations("validator") == 2
        assert consortium.sent("validator") == sent + 1

        # A provider restarted on its kept port sends nothing either.
        address, sent = provider.peer_address, consortium.sent("provider")
    with session(consortium, "provider", tmp_path) as provider:
        assert provider.peer_address == address
        assert not provider.register_peer()
    assert consortium.sent("provider") == sent

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warnings, "\n".join(r.getMessage() for r in warnings)


def test_an_agent_command_given_a_taken_ipfs_port_says_so_in_one_line(
    consortium: Consortium, tmp_path: Path
) -> None:
    keystore = write_keystore(tmp_path / "validator.json", consortium.accounts["validator"])
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(
            "validator", "run", "--keystore", str(keystore),
            "--deployment", str(consortium.deployment_file),
            "--rpc", consortium.settings.rpc_url, "--ipfs-port", str(port),
            env=agent_env(tmp_path),
        )  # fmt: skip
    assert_clear_error(result, f"IPFS port {port} on 127.0.0.1 is in use", "--ipfs-port")
