"""Restart safety of sends: one intent, one transaction, whatever happens between."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.core.rules import Status
from ledgerlearn.errors import ChainError

from .conftest import Consortium, sha


class Crash(BaseException):
    """Stands in for the process dying (SIGKILL cannot be caught inside one test process)."""


def scored_task(c: Consortium) -> int:
    task_id = c.client(c.publisher).publish_task(c.params(round_length=50))
    provider = c.client(c.providers[0])
    provider.join_task(task_id)
    provider.submit_update(task_id, 1, sha("u"), "bafy-u", 1)
    return task_id


def nonce(c: Consortium, client: LedgerClient) -> int:
    return int(c.chain.w3.eth.get_transaction_count(client.address))  # type: ignore[arg-type]


def test_same_intent_after_restart_returns_the_first_transaction(
    consortium: Consortium, tmp_path: Path
) -> None:
    c = consortium
    task_id = scored_task(c)
    validator = c.validators[0]
    first = c.client().with_account(validator, Outbox(tmp_path / "outbox.jsonl"))
    receipt = first.submit_score(task_id, sha("u"), 900_000)
    sent = nonce(c, first)
    restarted = c.client().with_account(validator, Outbox(tmp_path / "outbox.jsonl"))
    again = restarted.submit_score(task_id, sha("u"), 900_000)
    assert again["transactionHash"] == receipt["transactionHash"]
    assert nonce(c, restarted) == sent  # nothing new was sent
    assert c.client().update(task_id, sha("u")).score_count == 1


def crash_before_broadcast(
    c: Consortium, task_id: int, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> int:
    """The first validator signs a score into ``outbox`` and crashes before broadcasting it;
    its nonce before (still the chain's)."""
    crashing = c.client().with_account(c.validators[0], Outbox(outbox))
    before = nonce(c, crashing)

    def die(*_: object) -> None:
        raise Crash

    monkeypatch.setattr(c.chain.w3.eth, "send_raw_transaction", die)
    with pytest.raises(Crash):
        crashing.submit_score(task_id, sha("u"), 900_000)
    monkeypatch.undo()
    assert nonce(c, crashing) == before  # signed and recorded, never broadcast
    return before


def test_crash_between_signing_and_broadcast(
    consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = consortium
    task_id = scored_task(c)
    validator = c.validators[0]
    before = crash_before_broadcast(c, task_id, tmp_path / "outbox.jsonl", monkeypatch)
    restarted = c.client().with_account(validator, Outbox(tmp_path / "outbox.jsonl"))
    restarted.submit_score(task_id, sha("u"), 900_000)
    assert nonce(c, restarted) == before + 1
    info = c.client().update(task_id, sha("u"))
    assert info.score_count == 1 and info.status is Status.PENDING


def test_a_restart_finds_its_transaction_still_pending_and_waits_for_it(
    consortium: Consortium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI saw a restarted agent's recovery broadcast still in the node's pool when the intent
    was resumed: the second broadcast's "already imported" is the node holding it, not a
    failure (anvil with mining paused makes the race certain)."""
    c = consortium
    if c.chain.tester is not None:
        pytest.skip("the in-process EVM mines every transaction at once: nothing is pending")
    task_id = scored_task(c)
    validator = c.validators[0]
    path = tmp_path / "outbox.jsonl"
    before = crash_before_broadcast(c, task_id, path, monkeypatch)
    rpc = c.chain.w3.provider.make_request
    assert "error" not in rpc("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        restarted = c.client().with_account(validator, Outbox(path))
        outcome: list[object] = []
        worker = threading.Thread(
            target=lambda: outcome.append(
                restarted.submit_score(task_id, sha("u"), 900_000)
            )  # recovery broadcasts it, the intent finds it pending and broadcasts again
        )
        worker.start()
        entry = Outbox(path).entries()[0]
        while not _pending(c, entry.tx_hash) and worker.is_alive():
            time.sleep(0.05)
        c.chain.mine(1)
        worker.join(timeout=60)
        assert outcome and not worker.is_alive()
    finally:
        rpc("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert nonce(c, restarted) == before + 1
    assert c.client().update(task_id, sha("u")).score_count == 1


def _pending(c: Consortium, tx_hash: str) -> bool:
    try:
        c.chain.w3.eth.get_transaction(HexBytes(tx_hash))
    except TransactionNotFound:
        return False
    return True


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    path.write_text('{"key": "a", "nonce": 0, "tx_hash": "00", "raw": "00"}\n{"key": "b", "no')
    outbox = Outbox(path)
    assert outbox.get("a") is not None and outbox.get("b") is None


def test_broadcast_without_waiting_then_follow_the_intent(
    consortium: Consortium, tmp_path: Path
) -> None:
    c = consortium
    task_id = c.client(c.publisher).publish_task(c.params(round_length=50))
    provider = c.client().with_account(c.providers[0], Outbox(tmp_path / "outbox.jsonl"))
    provider.join_task(task_id)
    assert provider.intent_status(f"update:{task_id}:{sha('v').hex()}") == "unknown"
    commit = provider.broadcast_commit(task_id, sha("v"))
    c.chain.mine(1)  # the devnet mines on its own; the in-process EVM already did
    assert provider.intent_status(commit) == "mined"
    assert provider.committed(task_id, sha("v")) > 0
    key = provider.broadcast_update(task_id, 1, sha("v"), "bafy-v", 3)
    c.chain.mine(1)
    assert provider.intent_status(key) == "mined"
    assert c.client().update(task_id, sha("v")).provider == provider.address
    # a second broadcast of the same intent sends nothing new
    sent = nonce(c, provider)
    assert provider.broadcast_update(task_id, 1, sha("v"), "bafy-v", 3) == key
    assert nonce(c, provider) == sent
    with pytest.raises(ChainError, match="needs an outbox"):
        c.client(c.providers[1]).broadcast_update(task_id, 1, sha("w"), "bafy-w", 1)
