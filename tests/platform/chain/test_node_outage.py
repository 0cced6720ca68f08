"""A chain node that goes away (issue 15, section 5): its absence is told apart from a refusal
(``NodeUnreachableError``, naming the node), a transaction signed while it was away is kept in
the outbox and, once the node is back, broadcast as the same bytes and mined once; an agent's
loop waits the outage out, saying so once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from eth_account import Account

from ledgerlearn.agents.runner import run_agent
from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.chain.roles import role_id
from ledgerlearn.chain.transactor import Transactor
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.errors import ChainError, NodeUnreachableError

from .conftest import free_port


def test_no_node_at_the_address_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match=f"no JSON-RPC node answers at {url}"):
        connect(ChainSettings(backend="rpc", rpc_url=url))


def test_a_transaction_signed_while_the_node_is_away_is_mined_once_when_it_is_back(
    tmp_path: Path,
) -> None:
    settings = DevnetSettings(port=free_port(), state_file=tmp_path / "state.json")
    admin, member = Account.create(), Account.create()
    outbox = tmp_path / "outbox.jsonl"
    net = Devnet(settings)
    net.start()
    try:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url, rpc_timeout_s=2))
        chain.fund(admin.address, 10**20)
        deployment = deploy(chain, admin, admin_delay_s=0)
        consortium = LedgerClient(chain, deployment).consortium
        grant = consortium.functions.grantRole(role_id("PROVIDER"), member.address)
        sender = Transactor(chain, admin, outbox=Outbox(outbox))
        sender.send(consortium.functions.grantRole(role_id("VALIDATOR"), member.address))
        sent = chain.w3.eth.get_transaction_count(admin.address)
        net.stop()  # the node goes away after the sender learnt its nonce and fees

        with pytest.raises(NodeUnreachableError, match=f"chain node at {net.rpc_url}"):
            sender.send(grant, gas=200_000, key="grant:provider")
        with pytest.raises(NodeUnreachableError):  # a read too, by its type (waited out)
            LedgerClient(chain, deployment).has_role("PROVIDER", member.address)
        kept = Outbox(outbox).get("grant:provider")
        assert kept is not None and kept.nonce == sent  # signed and kept

        net.start()  # back, on its saved state
        receipt = sender.send(grant, gas=200_000, key="grant:provider")
        assert receipt["transactionHash"].hex().removeprefix("0x") == kept.tx_hash.removeprefix(
            "0x"
        )  # the same bytes
        assert chain.w3.eth.get_transaction_count(admin.address) == sent + 1  # mined once
        assert LedgerClient(chain, deployment).has_role("PROVIDER", member.address)
    finally:
        net.stop()


class Participant:
    """A stand-in for an agent's participant (named as such): its sync reads the real node,
    which the test stops, and starts again after ``failures`` failed syncs; the loop's handling
    of the outage is what is tested."""

    def __init__(self, net: Devnet, failures: int) -> None:
        self.net = net
        self.chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url, rpc_timeout_s=1))
        self.failures = failures
        self.synced = 0
        self.failed = 0

    def sync(self) -> None:
        try:
            self.chain.w3.eth.get_block_number()
        except NodeUnreachableError:
            self.failed += 1
            if self.failed == self.failures:
                self.net.start()  # the node comes back (the next sync reaches it)
            raise
        self.synced += 1


def test_the_agent_loop_waits_for_the_node_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    net = Devnet(DevnetSettings(port=free_port(), state_file=tmp_path / "state.json"))
    net.start()
    participant = Participant(net, failures=3)
    steps = 0

    def step() -> bool:
        nonlocal steps
        steps += 1
        if steps == 1:
            net.stop()  # the node goes away after the first step
        return False

    try:
        with caplog.at_level(logging.INFO, logger="ledgerlearn.agents.runner"):
            run_agent(
                participant,  # type: ignore[arg-type]
                step,
                until=lambda: participant.failed >= 3 and participant.synced >= 3,
                poll_s=0.05,
                timeout_s=120,
            )
    finally:
        net.stop()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once per outage
    assert f"chain node at {net.rpc_url} does not answer" in warnings[0].getMessage()
    assert any("answers again after" in r.getMessage() for r in caplog.records)
    assert participant.failed == 3 and steps >= 2  # it went on stepping once the node was back
