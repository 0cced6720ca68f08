"""Event stream with checkpoints: ordering, resumption, reset and rollback detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.events import EventStream
from ledgerlearn.config import ChainSettings
from ledgerlearn.errors import ChainReorgError, ChainResetError

from .conftest import Consortium, sha


def snapshot(chain: Chain) -> object:
    if chain.tester is not None:
        return chain.tester.take_snapshot()
    return chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]


def revert(chain: Chain, snap: object) -> None:
    if chain.tester is not None:
        chain.tester.revert_to_snapshot(snap)
    else:
        chain.w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


def test_events_arrive_in_order_and_resume_after_restart(
    consortium: Consortium, tmp_path: Path
) -> None:
    c = consortium
    checkpoint = tmp_path / "checkpoint.json"
    stream = EventStream(c.client(), checkpoint)
    first = stream.poll()
    names = [e.name for e in first]
    assert names.count("RoleGranted") == 1 + 1 + 2 + 5  # admin, publisher, providers, validators
    assert [e.position for e in first] == sorted(e.position for e in first)
    stream.commit(first)

    task_id = c.client(c.publisher).publish_task(c.params())
    restarted = EventStream(c.client(), checkpoint)  # a new process reading the same file
    batch = restarted.poll()
    assert [e.name for e in batch] == ["TaskPublished"]
    published = batch.events[0].args
    assert published["task_id"] == task_id
    assert published["params"]["model_spec_cid"] == "bafy-spec"
    assert published["params"]["fragment_cids"][4] == "bafy-fragment-4"
    restarted.commit(batch)
    assert EventStream(c.client(), checkpoint).poll().events == []


def test_rollback_is_detected(consortium: Consortium, tmp_path: Path) -> None:
    c = consortium
    snap = snapshot(c.chain)
    c.client(c.publisher).publish_task(c.params())
    c.chain.mine(2)
    stream = EventStream(c.client(), tmp_path / "cp.json")
    stream.commit(stream.poll())
    revert(c.chain, snap)
    with pytest.raises(ChainReorgError, match="rolled back"):
        stream.poll()
    c.chain.mine(5)  # the chain grows past the checkpoint again, with other blocks
    with pytest.raises(ChainReorgError, match="rolled back"):
        EventStream(c.client(), tmp_path / "cp.json").poll()


def test_reset_chain_is_detected(consortium: Consortium, tmp_path: Path) -> None:
    c = consortium
    stream = EventStream(c.client(), tmp_path / "cp.json")
    stream.commit(stream.poll())
    if c.chain.tester is None:
        pytest.skip("reset of the devnet is covered by test_devnet")
    fresh = connect(ChainSettings())  # a new in-process chain: the old addresses hold no code
    with pytest.raises(ChainResetError, match="no contract code"):
        EventStream(LedgerClient(fresh, c.deployment), tmp_path / "cp.json").poll()
    with pytest.raises(ChainResetError):
        c.deployment.check(fresh)


def test_decided_updates_appear_as_events(consortium: Consortium) -> None:
    c = consortium
    task_id = c.client(c.publisher).publish_task(c.params(round_length=30))
    stream = EventStream(c.client())
    stream.commit(stream.poll())
    provider = c.client(c.providers[0])
    provider.join_task(task_id)
    provider.submit_update(task_id, 1, sha("u"), "bafy-u", 7)
    for v in c.validators[:3]:
        c.client(v).submit_score(task_id, sha("u"), 900_000)
    events = stream.poll().events
    assert [e.name for e in events] == [
        "ProviderJoined",
        "UpdateCommitted",
        "UpdateSubmitted",
        "ScoreSubmitted",
        "ScoreSubmitted",
        "ScoreSubmitted",
        "UpdateAccepted",
    ]
    assert events[1].args["provider"] == c.providers[0].address
    submitted = events[2].args
    assert (submitted["update"], submitted["cid"], submitted["num_samples"]) == (
        sha("u"),
        "bafy-u",
        7,
    )
    assert submitted["parents"] == []
    assert events[-1].args["pass_count"] == 3
