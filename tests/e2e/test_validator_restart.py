"""G1: validators SIGKILLed after reading the events that make them score, right after
broadcasting their scores, and after the scores are mined — restarted on their own state —
score every update at most once, send no second transaction for an intent, and the task
finishes. The crashes are injected at named points (ledgerlearn.faults: a fake for a fault
that cannot be timed from outside). A restarted validator listens at the address it
registered (its IPFS port is kept), so it registers once and nobody dials a stale address."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.events import EventStream
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.faults import CRASH_AT, CRASH_MARKER
from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.demo import run_demo
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig

POINTS = {
    "validator-0": "validator:after_events",
    "validator-1": "transactor:after_broadcast",
    "validator-2": "validator:after_mined",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_killed_validators_restart_without_double_work(tmp_path: Path) -> None:
    config = RunConfig.preset(quick=True)
    config.policy = Policy(
        quorum=3, max_faulty_validators=2, rounds=2, round_length=15, score_window=15
    )
    run = tmp_path / "run"
    env = {
        name: {CRASH_AT: point, CRASH_MARKER: str(tmp_path / f"{name}.crashed")}
        for name, point in POINTS.items()
    }
    result = run_demo(config, run, timeout_s=600, agent_env=env, restart_killed=True)
    assert len(rounds_of(result)) == 2
    for name in POINTS:
        assert (tmp_path / f"{name}.crashed").exists(), f"{name} never reached its crash point"

    # Reopen the chain from the devnet's saved state and audit every validator's transactions.
    settings = DevnetSettings(port=free_port(), state_file=run / "devnet" / "state.json")
    with Devnet(settings) as net:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        deployment = Deployment.load(run / "deployment.json")
        client = LedgerClient(chain, deployment)
        events = EventStream(client).poll().events
        committee = json.loads((run / "run.json").read_text())["committee"]
        scores: dict[tuple[str, bytes], int] = {}
        for e in events:
            if e.name == "ScoreSubmitted":
                key = (e.args["validator"], e.args["update"])
                scores[key] = scores.get(key, 0) + 1
        assert scores and max(scores.values()) == 1  # no update scored twice by anyone
        for i, address in enumerate(committee):  # one transaction per intent, none repeated
            outbox = Outbox(run / "agents" / f"validator-{i}" / "outbox.jsonl")
            entries = outbox.entries()
            if f"validator-{i}" in ("validator-1", "validator-2"):  # crashed after sending
                assert entries, f"validator-{i} sent nothing"
            for entry in entries:
                receipt = chain.w3.eth.get_transaction_receipt(
                    "0x" + entry.tx_hash.removeprefix("0x")
                )
                # an attestation may lose a race with the quorum that finalized the round
                if entry.key.startswith("scores:"):
                    assert receipt["status"] == 1, f"validator-{i}: {entry.key} reverted"
            # a restarted node listens on its kept port: no second registration
            registrations = sum(
                e.name == "MemberRegistered" and e.args["account"] == address for e in events
            )
            assert registrations == 1, f"validator-{i} registered {registrations} times"
            sent = int(chain.w3.eth.get_transaction_count(address))
            assert sent == len(entries) + registrations, (
                f"validator-{i} sent {sent} transactions for {len(entries)} intents "
                f"and {registrations} registrations"
            )
    decided = [u for u in result.updates if u.status in ("accepted", "rejected")]
    assert len(decided) == len(result.updates)
    stale = [
        f"{log.name}: {line}"
        for log in sorted((run / "logs").glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if re.search(r"WARNING.*(cannot connect|cannot reach)", line)
    ]
    assert not stale, "\n".join(stale)
