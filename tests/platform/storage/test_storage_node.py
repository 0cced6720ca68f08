"""IpfsNode against real kubo nodes: put/get/pin, verification, limits, deadlines."""

from __future__ import annotations

import json
import os
import time

import pytest

from ledgerlearn.config import StorageSettings
from ledgerlearn.errors import (
    ContentHashMismatchError,
    ContentTooLargeError,
    ContentUnavailableError,
    StorageError,
)
from ledgerlearn.storage import IpfsNode, PeerAddress, sha256_digest

from .conftest import NodeFactory, child_pids, pid_alive

Pair = tuple[IpfsNode, IpfsNode]


def test_put_get_roundtrip_verifies_sha256_and_pins(pair: Pair) -> None:
    node, _ = pair
    data = os.urandom(300_000)
    cid, digest = node.put(data)
    assert digest == sha256_digest(data)
    assert cid.startswith("Qm")
    assert node.has(cid)
    node.pin(cid)
    assert node.get(cid, digest) == data
    assert node.compute_cid(data) == cid


def test_compute_cid_stores_nothing(pair: Pair) -> None:
    node, _ = pair
    cid = node.compute_cid(os.urandom(1000))
    assert not node.has(cid)
    with pytest.raises(ContentUnavailableError, match="not stored"):
        node.pin(cid)


def test_remote_get_fetches_from_a_peer(pair: Pair) -> None:
    first, second = pair
    data = os.urandom(1_000_000)
    cid, digest = first.put(data)
    assert not second.has(cid)
    assert second.get(cid, digest, timeout_s=20) == data
    assert not second.has(cid)  # without pin=True nothing is stored


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_wrong_expected_hash_raises(pair: Pair, remote: bool) -> None:
    first, second = pair
    data = os.urandom(50_000)
    cid, digest = first.put(data)
    wrong = bytes([digest[0] ^ 1]) + digest[1:]
    reader = second if remote else first
    before = dict(reader.failures)
    with pytest.raises(ContentHashMismatchError, match=digest.hex()):
        reader.get(cid, wrong, timeout_s=20, pin=True)
    assert reader.has(cid) is not remote  # mismatching content is not kept
    assert reader.failures == {**before, "hash_mismatch": before["hash_mismatch"] + 1}


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_content_above_max_size_raises(pair: Pair, remote: bool) -> None:
    first, second = pair
    data = os.urandom(100_000)
    cid, digest = first.put(data)
    reader = second if remote else first
    before = dict(reader.failures)
    with pytest.raises(ContentTooLargeError, match="100000 bytes"):
        reader.get(cid, digest, max_bytes=len(data) - 1, timeout_s=20)
    assert reader.get(cid, digest, max_bytes=len(data), timeout_s=20) == data
    assert reader.failures == {**before, "too_large": before["too_large"] + 1}  # the metrics'


def test_remote_fetch_is_stopped_when_blocks_outgrow_the_limit(pair: Pair) -> None:
    first, second = pair
    cid, digest = first.put(os.urandom(8 * 2**20))
    with pytest.raises(ContentTooLargeError, match="maximum 262144 bytes"):
        second.get(cid, digest, max_bytes=256 * 1024, timeout_s=20)


def test_withheld_cid_is_unavailable_within_deadline_and_node_stays_healthy(pair: Pair) -> None:
    first, second = pair
    available, available_digest = first.put(os.urandom(30_000))
    assert second.get(available, available_digest, timeout_s=20)  # the worker runs
    worker = second.fetch_worker_pid
    assert worker is not None
    withheld = os.urandom(10_000)
    cid = first.compute_cid(withheld)  # a valid CID nobody has
    deadline = 2.0
    children_before = set(child_pids(os.getpid()))  # e.g. a devnet started by another fixture
    before = dict(second.failures)
    started = time.monotonic()
    with pytest.raises(ContentUnavailableError, match="within 2 s"):
        second.get(cid, sha256_digest(withheld), timeout_s=deadline)
    elapsed = time.monotonic() - started
    assert second.failures == {**before, "unavailable": before["unavailable"] + 1}
    assert deadline <= elapsed < deadline + 2.0
    assert not pid_alive(worker)  # killed and reaped before the get returned
    assert second.fetch_worker_pid is None
    assert not [p for p in set(child_pids(os.getpid())) - children_before if pid_alive(p)]
    assert not list((second.repo_dir / "ledgerlearn-tmp").iterdir())
    # both nodes still work, and the next remote get gets a fresh worker
    assert second.get(available, available_digest, timeout_s=20)
    assert second.fetch_worker_pid not in (None, worker)
    data = os.urandom(20_000)
    cid, digest = second.put(data)
    assert second.get(cid, digest) == data
    assert first.get(cid, digest, timeout_s=20) == data


def test_get_with_pin_makes_the_node_serve_the_content(make_node: NodeFactory) -> None:
    origin, relay, late = make_node("origin"), make_node("relay"), make_node("late")
    relay.connect(origin.multiaddrs[0])
    data = os.urandom(600_000)
    cid, digest = origin.put(data)
    assert relay.get(cid, digest, timeout_s=20, pin=True) == data
    assert relay.has(cid)
    relay.pin(cid)
    origin.stop()  # only the relay has it now
    late.connect(relay.multiaddrs[0])
    assert late.get(cid, digest, timeout_s=20) == data


def test_content_survives_a_restart(make_node: NodeFactory) -> None:
    node = make_node("restart")
    data = os.urandom(10_000)
    cid, digest = node.put(data)
    peer_id = node.peer_id
    node.stop()
    node.stop()  # idempotent
    with pytest.raises(StorageError, match="not running"):
        node.get(cid, digest)
    node.start()
    assert node.peer_id == peer_id
    assert node.has(cid)
    assert node.get(cid, digest, timeout_s=5) == data


def test_identity_addresses_and_private_config(make_node: NodeFactory) -> None:
    node = make_node("ident", swarm_addresses=["/ip4/127.0.0.1/tcp/0"])
    addrs = node.multiaddrs
    assert addrs
    for addr in addrs:
        parsed = PeerAddress.parse(addr)
        assert parsed.peer_id == node.peer_id
        assert parsed.transport.startswith("/ip4/127.0.0.1/tcp/")
    config = json.loads((node.repo_dir / "config").read_text())
    assert config["Bootstrap"] == []
    assert config["Discovery"]["MDNS"]["Enabled"] is False
    assert config["Addresses"]["Swarm"] == ["/ip4/127.0.0.1/tcp/0"]


def test_configured_peers_are_dialled_at_start(make_node: NodeFactory) -> None:
    first = make_node("p1")
    second = make_node("p2", peers=first.multiaddrs)
    assert first.peer_id in second.connected_peers()


def test_bad_inputs_raise(pair: Pair) -> None:
    node, _ = pair
    digest = sha256_digest(b"x")
    with pytest.raises(StorageError, match="malformed CID"):
        node.get("not a cid/..", digest)
    with pytest.raises(ValueError, match="32 bytes"):
        node.get("QmNjUGB2sfHxWiWbAXDVyEXoXVrXYZbzpsA514ec5YW6zj", digest[:20])
    with pytest.raises(ValueError, match="timeout_s"):
        node.get("QmNjUGB2sfHxWiWbAXDVyEXoXVrXYZbzpsA514ec5YW6zj", digest, timeout_s=0)
    with pytest.raises(StorageError, match="/p2p/"):
        node.connect("/ip4/127.0.0.1/tcp/1")
    with pytest.raises(StorageError, match="cannot connect"):
        node.connect(f"/ip4/127.0.0.1/tcp/1/p2p/{node.peer_id}")


def test_a_repository_runs_one_node(make_node: NodeFactory) -> None:
    node = make_node("single")
    with pytest.raises(StorageError, match="another IpfsNode"):
        IpfsNode(StorageSettings.model_validate({"repo_dir": node.repo_dir})).start()


def test_get_many_with_pin_serves_each_and_unpin_stops_keeping(make_node: NodeFactory) -> None:
    origin, relay, late = make_node("origin"), make_node("relay"), make_node("late")
    relay.connect(origin.multiaddrs[0])
    contents = [os.urandom(40_000) for _ in range(3)]
    items = [origin.put(data) for data in contents]
    got = relay.get_many(items, timeout_s=20, pin=True)
    assert [got[cid] for cid, _ in items] == contents
    assert all(relay.has(cid) for cid, _ in items)
    origin.stop()  # only the relay has them now
    late.connect(relay.multiaddrs[0])
    expected = {cid: data for (cid, _), data in zip(items, contents, strict=True)}
    assert late.get_many(items, timeout_s=20) == expected
    cid = items[0][0]
    relay.unpin(cid)
    relay.unpin(cid)  # not pinned any more: nothing to do
    assert not relay.has(cid)
    assert relay.has(items[1][0])
    with pytest.raises(StorageError, match="malformed CID"):
        relay.unpin("not-a-cid")
