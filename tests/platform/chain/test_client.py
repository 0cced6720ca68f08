"""The typed client against the real contracts, on both backends."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.datatypes import PrivateKey

from ledgerlearn.chain import contract_errors as ce
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.core.rules import Flow, Status, to_fixed

from .conftest import Consortium, sha


def publish(c: Consortium, **overrides: object) -> int:
    return c.client(c.publisher).publish_task(c.params(**overrides))


def test_publish_and_read_task(consortium: Consortium) -> None:
    c = consortium
    task_id = publish(c)
    task = c.client().task(task_id)
    assert task.publisher == c.publisher.address
    assert task.flow is Flow.FEDERATION
    assert (task.quorum, task.max_faulty_validators, task.committee_size) == (3, 2, 5)
    assert task.current_round == 1
    assert task.global_model_hash == sha("weights-0")
    committee = c.client().committee(task_id)
    assert [m for m, _ in committee] == [v.address for v in c.validators]
    assert committee[2][1] == sha("fragment-2")
    assert c.client().task_count() == 1


def test_custom_errors_are_typed_with_their_fields(consortium: Consortium) -> None:
    c = consortium
    with pytest.raises(ce.TaskRegistryUnsafePolicy) as info:
        publish(c, quorum=2, max_faulty_validators=2)
    assert (info.value.committee_size, info.value.quorum, info.value.max_faulty_validators) == (
        5,
        2,
        2,
    )
    assert "f < k <= n - f" in str(info.value)
    with pytest.raises(ce.LedgerUnauthorizedAccount) as denied:
        c.client(c.outsider).publish_task(c.params())
    assert denied.value.account == c.outsider.address
    with pytest.raises(ce.LedgerUnknownTask) as unknown:
        c.client().task(42)
    assert unknown.value.task_id == 42


def test_relayed_publication_and_replay(consortium: Consortium) -> None:
    c = consortium
    params = c.params()
    relayer = c.client(c.outsider)  # anyone may relay; the publisher signs
    nonce = relayer.publish_nonce(c.publisher.address)
    deadline = int(time.time()) + 3600
    typed = relayer.publish_typed_data(params, c.publisher.address, nonce, deadline)
    signature = LedgerClient.sign_typed_data(c.publisher, typed)
    task_id = relayer.publish_task_for(params, c.publisher.address, deadline, signature)
    assert relayer.task(task_id).publisher == c.publisher.address
    with pytest.raises(ce.TaskRegistryInvalidSigner) as replay:
        relayer.publish_task_for(params, c.publisher.address, deadline, signature)
    assert replay.value.publisher == c.publisher.address
    assert replay.value.signer != c.publisher.address


def test_signature_for_another_chain_is_refused(consortium: Consortium) -> None:
    c = consortium
    relayer = c.client(c.outsider)
    params = c.params()
    deadline = int(time.time()) + 3600
    typed = relayer.publish_typed_data(params, c.publisher.address, 0, deadline)
    typed["domain"]["chainId"] = c.chain.chain_id + 1
    signature = LedgerClient.sign_typed_data(c.publisher, typed)
    with pytest.raises(ce.TaskRegistryInvalidSigner):
        relayer.publish_task_for(params, c.publisher.address, deadline, signature)
    typed = relayer.publish_typed_data(params, c.publisher.address, 0, 1)
    signature = LedgerClient.sign_typed_data(c.publisher, typed)
    with pytest.raises(ce.TaskRegistryExpiredSignature) as expired:
        relayer.publish_task_for(params, c.publisher.address, 1, signature)
    assert expired.value.deadline == 1


def test_federation_round_end_to_end(consortium: Consortium) -> None:
    c = consortium
    task_id = publish(c, round_length=20)
    updates = [sha("update-a"), sha("update-b")]
    for provider, update in zip(c.providers, updates, strict=True):
        client = c.client(provider)
        client.join_task(task_id)
        client.submit_update(task_id, 1, update, f"bafy-{update.hex()[:8]}", 100)
    with pytest.raises(ce.UpdateLedgerAlreadySubmitted):
        c.client(c.providers[0]).submit_update(task_id, 1, sha("again"), "bafy-again", 1)
    good, bad = to_fixed(0.9), to_fixed(0.1)
    for validator in c.validators[:3]:
        c.client(validator).submit_scores(task_id, updates, [good, bad])
    a, b = (c.client().update(task_id, u) for u in updates)
    assert (a.status, b.status) == (Status.ACCEPTED, Status.REJECTED)
    assert (a.pass_count, a.score_count, b.pass_count, b.score_count) == (3, 3, 0, 3)
    with pytest.raises(ce.RoundLedgerRoundOpen):
        c.client(c.publisher).propose_aggregate(task_id, 1, [updates[0]], sha("agg"), "bafy-agg")
    c.chain.mine(20)
    with pytest.raises(ce.RoundLedgerIncludedMismatch):
        c.client(c.publisher).propose_aggregate(task_id, 1, updates, sha("agg"), "bafy-agg")
    c.client(c.validators[0]).propose_aggregate(task_id, 1, [updates[0]], sha("wrong"), "bafy-w")
    c.client(c.publisher).propose_aggregate(task_id, 1, [updates[0]], sha("agg"), "bafy-agg")
    with pytest.raises(ce.RoundLedgerAlreadyProposed):  # one proposal per account and round
        c.client(c.publisher).propose_aggregate(task_id, 1, [updates[0]], sha("x"), "bafy-x")
    # another CID for the same result: recorded, not a revert
    c.client(c.providers[1]).propose_aggregate(task_id, 1, [updates[0]], sha("agg"), "bafy-2")
    start, scoring, extended, attestation = c.client().round_deadlines(task_id, 1)
    assert (scoring - start, extended - scoring, attestation - extended) == (
        c.params().score_window,
        c.params().score_extension,
        c.params().attest_window,
    )
    c.client(c.validators[0]).attest_aggregate(task_id, 1, sha("wrong"))  # a liar
    for validator in c.validators[1:4]:
        c.client(validator).attest_aggregate(task_id, 1, sha("agg"), "bafy-served")
    receipt = c.client().round(task_id, 1)
    assert receipt.finalized and receipt.result_hash == sha("agg")
    assert receipt.accepted_count == 1
    assert c.client().proposal(task_id, 1, sha("wrong"))[1] == 1
    task = c.client().task(task_id)
    assert task.current_round == 2 and task.global_model_hash == sha("agg")


def test_dag_parents(consortium: Consortium) -> None:
    c = consortium
    task_id = publish(c, flow=Flow.DAG, max_parents=2)
    provider = c.client(c.providers[0])
    provider.join_task(task_id)
    initial = sha("weights-0")
    provider.submit_dag_update(task_id, [initial], sha("d1"), "bafy-d1", 10)
    with pytest.raises(ce.UpdateLedgerInvalidParent) as pending_parent:
        provider.submit_dag_update(task_id, [sha("d1")], sha("d2"), "bafy-d2", 10)
    assert pending_parent.value.parent == sha("d1")
    for validator in c.validators[:3]:
        c.client(validator).submit_score(task_id, sha("d1"), to_fixed(0.8))
    provider.submit_dag_update(task_id, [sha("d1"), initial], sha("d2"), "bafy-d2", 10)
    with pytest.raises(ce.UpdateLedgerParentCount):
        provider.submit_dag_update(task_id, [sha("d1"), initial, sha("d2")], sha("d3"), "x", 1)
    assert c.client().update(task_id, sha("d2")).status is Status.PENDING


def test_revocation_takes_effect_in_the_next_block(consortium: Consortium) -> None:
    c = consortium
    task_id = publish(c)
    provider = c.client(c.providers[0])
    provider.join_task(task_id)
    c.client(c.admin).revoke_role("PROVIDER", c.providers[0].address)
    with pytest.raises(ce.LedgerUnauthorizedAccount) as denied:
        provider.submit_update(task_id, 1, sha("late"), "bafy-late", 1)
    assert denied.value.account == c.providers[0].address


def test_members_register_peer_address_and_key(consortium: Consortium) -> None:
    c = consortium
    validator = c.validators[0]
    c.client(validator).register_member("/ip4/127.0.0.1/tcp/4001/p2p/12D3Koo")
    member = c.client().member(validator.address)
    assert member.peer_address.endswith("12D3Koo")
    # the account's own public key, uncompressed: its address is the account's
    assert member.encryption_key == b"\x04" + PrivateKey(validator.key).public_key.to_bytes()
    assert member.roles == frozenset({"VALIDATOR"})
    assert [m.account for m in c.client().members()] == [validator.address]
    # a separate encryption key works too, with its own proof of possession
    other = bytes(range(1, 33))
    c.client(c.validators[1]).register_member("/ip4/127.0.0.1/tcp/1", other)
    expected = b"\x04" + PrivateKey(other).public_key.to_bytes()
    assert c.client().member(c.validators[1].address).encryption_key == expected
    stranger = Account.create()
    c.chain.fund(stranger.address, 10**18)
    with pytest.raises(ce.ConsortiumNotAParticipant):
        c.client(stranger).register_member("/ip4/127.0.0.1/tcp/1")


def test_a_member_cannot_register_another_members_key(consortium: Consortium) -> None:
    """Audit finding: without a proof of possession, a member could register another member's
    key, so that the fragment meant for it is readable by that member."""
    c = consortium
    victim = c.validators[0]
    c.client(victim).register_member("/ip4/127.0.0.1/tcp/4001")
    victim_key = c.client().member(victim.address).encryption_key
    thief = c.client(c.validators[1])
    message = bytes(thief.consortium.functions.keyProofMessage(thief.address).call())
    own_proof = Account.sign_message(encode_defunct(primitive=message), c.validators[1].key)
    call = thief.consortium.functions.registerMember(
        "/ip4/127.0.0.1/tcp/1", victim_key, bytes(own_proof.signature)
    )
    with pytest.raises(ce.ConsortiumInvalidKeyProof) as refused:
        thief._tx.send(call)
    assert refused.value.account == c.validators[1].address
    assert refused.value.key_address == victim.address


def test_read_only_client_refuses_to_send(consortium: Consortium) -> None:
    from ledgerlearn.errors import ChainError

    with pytest.raises(ChainError, match="read-only"):
        consortium.client().join_task(1)
