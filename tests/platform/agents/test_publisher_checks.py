"""The publisher checks a task completely before it stores anything: a member without a key, a
content no member could fetch (the limits of ledgerlearn.limits) leave IPFS untouched."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from ledgerlearn.agents.publisher import Publisher, UnservableContentError
from ledgerlearn.data import load_bundled
from ledgerlearn.errors import AgentError
from ledgerlearn.flows.policy import Policy
from ledgerlearn.model.presets import logreg_digits


@dataclass
class RecordingStore:
    """A content store that records what is put on it."""

    stored: list[bytes] = field(default_factory=list)

    def put(self, data: bytes) -> tuple[str, bytes]:
        self.stored.append(data)
        return self.compute_cid(data), hashlib.sha256(data).digest()

    def compute_cid(self, data: bytes) -> str:
        return "cid-" + hashlib.sha256(data).hexdigest()[:16]


def participant(store: RecordingStore, keys: dict[str, bytes]) -> Any:
    client = SimpleNamespace(member=lambda a: SimpleNamespace(encryption_key=keys.get(a, b"")))
    return SimpleNamespace(client=client, store=store)


def committee(n: int) -> tuple[list[str], dict[str, bytes]]:
    accounts = [Account.create() for _ in range(n)]
    keys = {a.address: PrivateKey(a.key).public_key.to_compressed_bytes() for a in accounts}
    return [a.address for a in accounts], keys


POLICY = Policy(quorum=2, max_faulty_validators=0)


def test_a_task_is_built_without_storing_then_stored_under_the_cids_it_announced() -> None:
    store = RecordingStore()
    members, keys = committee(3)
    publisher = Publisher(participant(store, keys))
    validation = load_bundled("digits", "test")
    prepared = publisher.build(logreg_digits(), validation, members, POLICY)
    assert store.stored == []
    assert prepared.params.threshold == -250_000
    params = publisher.store(prepared)
    assert len(store.stored) == 5  # spec, weights, one fragment per member
    assert params.model_spec_cid == store.compute_cid(store.stored[0])
    assert params.fragment_hashes == tuple(hashlib.sha256(f).digest() for f in store.stored[2:])


def test_a_member_without_a_key_is_refused_before_anything_is_stored() -> None:
    store = RecordingStore()
    members, keys = committee(3)
    del keys[members[2]]
    with pytest.raises(AgentError, match="has not registered an encryption key"):
        Publisher(participant(store, keys)).prepare(
            logreg_digits(), load_bundled("digits", "test"), members, POLICY
        )
    assert store.stored == []


def test_a_fragment_no_member_could_fetch_is_refused_before_anything_is_stored() -> None:
    store = RecordingStore()
    members, keys = committee(2)
    data = load_bundled("digits", "test")
    # a 2-member committee: each fragment holds half the samples, 256 bytes each of x
    cap = len(data) // 2 * 256
    publisher = Publisher(participant(store, keys), max_content_bytes=cap)
    with pytest.raises(UnservableContentError, match="no member could fetch it") as caught:
        publisher.prepare(logreg_digits(), data, members, POLICY)
    assert caught.value.field == "validation"
    assert store.stored == []
    # with the default cap (the fetch cap of every member) the same task goes through
    Publisher(participant(store, keys)).prepare(logreg_digits(), data, members, POLICY)
    assert len(store.stored) == 4
