"""A validator under withheld content (issue 11, section 4), on a real IPFS node and the real
contracts (py-evm).

One Byzantine provider could stall the single-threaded scorer: a withheld CID named by m
updates cost m sequential fetch deadlines. Now an unavailable outcome applies to every update
naming that CID (one deadline), while a CID copied from an available update still fails only
the copy (its bytes do not match the copy's hash). And what a member keeps goes once it cannot
be needed: its federation duty (flows/federation/committee.py) releases content round by round,
and a closed task leaves nothing in its flow's duty or in the member.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from eth_account import Account

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.validator import Validator
from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.index import RoundRecord, TaskRecord, UpdateRecord
from ledgerlearn.config import ChainSettings, StorageSettings
from ledgerlearn.core.rules import Flow, Status
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.data import Dataset
from ledgerlearn.errors import ContentHashMismatchError, ContentUnavailableError, StorageError
from ledgerlearn.flows.dag.committee import DagCommittee
from ledgerlearn.flows.federation.committee import RoundCommittee
from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn.storage import IpfsNode

torch.set_num_threads(1)
SPEC = logreg_digits()


class CountingStore:
    """The real node, with a count of the fetch passes the validator makes (not a fake: every
    call goes to the node)."""

    def __init__(self, node: IpfsNode) -> None:
        self.node = node
        self.passes: list[list[str]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.node, name)

    def get_many(
        self,
        items: Sequence[tuple[str, bytes]],
        *,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
        pin: bool = False,
    ) -> dict[str, bytes | StorageError]:
        self.passes.append([cid for cid, _ in items])
        return self.node.get_many(items, max_bytes=max_bytes, timeout_s=timeout_s, pin=pin)


@pytest.fixture
def validator(tmp_path: Path) -> Iterator[tuple[Validator, CountingStore]]:
    chain = connect(ChainSettings())
    admin = Account.create()
    chain.fund(admin.address, 10**18)
    deployment = deploy(chain, admin, admin_delay_s=0)
    member = Account.create()
    with IpfsNode(StorageSettings(repo_dir=tmp_path / "ipfs")) as node:
        store = CountingStore(node)
        participant = Participant(LedgerClient(chain, deployment, member), store, tmp_path)  # type: ignore[arg-type]
        participant._specs[1] = SPEC  # the task's spec, as if fetched and checked
        yield Validator(participant, bytes(member.key)), store


def _task(
    updates: list[tuple[bytes, str]], *, task_id: int = 1, flow: Flow = Flow.FEDERATION
) -> TaskRecord:
    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="weights",
        committee=(),
        fragment_hashes=(),
        fragment_cids=(),
        quorum=1,
        max_faulty_validators=0,
        threshold=0,
        flow=flow,
    )
    task = TaskRecord(task_id, "publisher", params, 0)
    for i, (digest, cid) in enumerate(updates):
        task.updates[digest] = UpdateRecord(task_id, digest, f"provider-{i}", 1, 10, cid, [], 5)
    return task


def test_a_withheld_cid_named_by_many_updates_costs_one_deadline(
    validator: tuple[Validator, CountingStore],
) -> None:
    member, store = validator
    withheld = store.node.compute_cid(b"never put on any node")  # a real CID nobody holds
    hashes = [hashlib.sha256(f"update {i}".encode()).digest() for i in range(6)]
    task = _task([(h, withheld) for h in hashes])
    outcomes = member.fetch_updates(task, hashes, timeout_s=1.0)
    assert len(store.passes) == 1  # not six sequential deadlines
    assert all(isinstance(outcomes[h], ContentUnavailableError) for h in hashes)


def test_a_copied_available_cid_fails_only_the_copy(
    validator: tuple[Validator, CountingStore],
) -> None:
    member, store = validator
    content = encode(dict(state_dict_to_arrays(build(SPEC, seed=0))), spec=SPEC)
    cid, digest = store.node.put(content)
    copy = hashlib.sha256(b"the copier's own bytes").digest()
    task = _task([(digest, cid), (copy, cid)])
    outcomes = member.fetch_updates(task, [digest, copy], timeout_s=5.0)
    assert outcomes[digest] == content
    assert isinstance(outcomes[copy], ContentHashMismatchError)
    assert len(store.passes) == 2  # one update per CID and pass


def test_prefetched_content_is_released_on_every_path(
    validator: tuple[Validator, CountingStore],
) -> None:
    """Content fetched early is dropped once it cannot be needed: the update was decided by
    the others, this member scored it, or its round is over; per-round caches of earlier
    rounds go too (they once grew for the agent's whole life)."""
    member, _ = validator
    duty = member.duty(Flow.FEDERATION)
    assert isinstance(duty, RoundCommittee)
    me = member.participant.address
    hashes = [hashlib.sha256(f"round update {i}".encode()).digest() for i in range(4)]
    task = _task([(h, f"cid-{i}") for i, h in enumerate(hashes)])
    old = hashlib.sha256(b"an update of round 1").digest()
    task.updates[old] = UpdateRecord(1, old, "provider-9", 1, 10, "cid-old", [], 2)
    task.rounds[1] = RoundRecord(1, b"\x02" * 32, "weights", 0, updates=[old])
    task.rounds[2] = RoundRecord(2, b"\x03" * 32, "base", 10, updates=list(hashes))
    task.updates[hashes[0]].status = Status.ACCEPTED  # decided by the others
    task.updates[hashes[1]].scores[me] = 1  # scored by this member
    for h in [*hashes, old]:
        duty._content[h] = b"bytes"
        duty._content_task[h] = 1
    duty._prefetched.update([*hashes, old])
    duty._base_metric[(1, 1)] = 0.5
    duty._aggregates[(1, 1)] = (b"", "", b"")
    duty._bad_proposals[(1, 1)] = set()
    duty._release(task, task.rounds[2])
    assert set(duty._content) == {hashes[2], hashes[3]}  # still to be scored by this member
    assert old not in duty._prefetched
    assert not duty._base_metric and not duty._aggregates and not duty._bad_proposals


def test_a_closed_task_leaves_nothing_behind(validator: tuple[Validator, CountingStore]) -> None:
    """Once a task closes (it never changes again) its content, caches and fragment go, from
    the duty of its flow and from the member; another flow's duty keeps what it holds."""
    member, _ = validator
    federation, dag = member.duty(Flow.FEDERATION), member.duty(Flow.DAG)
    assert isinstance(federation, RoundCommittee) and isinstance(dag, DagCommittee)
    assert member.duty(Flow.DAG) is dag  # one duty per flow, made once
    hashes = [hashlib.sha256(f"closing {i}".encode()).digest() for i in range(3)]
    task = _task([(h, f"cid-{i}") for i, h in enumerate(hashes)])
    dag_task = _task([], task_id=2, flow=Flow.DAG)  # open; this member is not on its committee
    elsewhere = hashlib.sha256(b"an update of the open dag task").digest()
    for h in hashes:
        federation._content[h] = b"bytes"
        federation._content_task[h] = 1
    federation._base_metric[(1, 3)] = 0.5
    dag._content[elsewhere] = b"bytes"
    dag._tried.add(elsewhere)
    fragment = Dataset(np.zeros((1, 64), np.float32), np.zeros(1, np.int64), num_classes=10)
    member._fragments[1] = member._fragments[2] = fragment
    task.closed = True
    member.participant.index.tasks[1] = task
    member.participant.index.tasks[2] = dag_task
    member.step()
    assert not federation._content and not federation._content_task
    assert not federation._base_metric and 1 not in member._fragments
    assert dag._content == {elsewhere: b"bytes"} and dag._tried == {elsewhere}
    assert member._fragments[2] is fragment


def _with_fragment(task: TaskRecord, member: str, cid: str, digest: bytes) -> TaskRecord:
    """``task`` with ``member`` as its committee and one fragment at ``cid``."""
    import dataclasses

    task.params = dataclasses.replace(
        task.params, committee=(member,), fragment_cids=(cid,), fragment_hashes=(digest,)
    )
    return task


def test_a_fragment_outside_the_specs_input_range_is_logged_once_with_the_numbers(
    validator: tuple[Validator, CountingStore], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from eth_keys.datatypes import PrivateKey

    from ledgerlearn.data import load_bundled
    from ledgerlearn.data.fragments import encrypt_fragment

    member, store = validator
    address = member.participant.address
    digits = load_bundled("digits", "test")
    raw = Dataset((digits.x[:60] * 16).round(), digits.y[:60], 10, "raw")  # 0-16, not [0, 1]
    public = PrivateKey(member.encryption_key).public_key.to_compressed_bytes()
    task = _with_fragment(_task([]), address, *store.node.put(encrypt_fragment(raw, public)))
    with caplog.at_level(logging.INFO, logger="ledgerlearn.agents.validator"):
        first = member.fragment(task)
        assert member.fragment(task) is first  # decrypted and measured once
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    share, mean = round(100 * float(np.mean(raw.x > 1))), float(raw.x.mean(dtype=np.float64))
    assert warnings == [
        f"task 1: my validation fragment does not fit the model's input: fragment 0: {share}% "
        f"of values lie outside [0, 1] (min 0, max 16, mean {mean:.3g}); the task "
        "says: 8x8 digit images, 64 pixels row by row, each 0-16 divided by 16 (in [0, 1])"
    ]
    caplog.clear()  # a fragment that fits: nothing said
    scaled = Dataset(digits.x[:60], digits.y[:60], 10, "scaled")
    other = _with_fragment(
        _task([], task_id=2), address, *store.node.put(encrypt_fragment(scaled, public))
    )
    member.participant._specs[2] = SPEC
    with caplog.at_level(logging.INFO, logger="ledgerlearn.agents.validator"):
        member.fragment(other)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
