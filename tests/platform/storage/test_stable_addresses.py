"""Stable IPFS addresses: a node keeps its port across restarts, moves only when another
process took it, refuses a configured port that is taken, and forgets a moved peer's old
address. Real kubo nodes; "taken" means a real socket (a plain one, or another kubo node,
which binds with SO_REUSEPORT and would otherwise share the port)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerlearn.config import StorageSettings
from ledgerlearn.errors import StorageError
from ledgerlearn.storage import IpfsNode, PeerAddress
from ledgerlearn.storage.listen_port import KEPT_FILE
from ledgerlearn.storage.node import FETCH_WORKER_SUBDIR
from tests.platform.storage.conftest import NodeFactory


def port_of(multiaddr: str) -> int:
    match = re.search(r"/tcp/(\d+)/", multiaddr)
    assert match is not None, multiaddr
    return int(match.group(1))


@pytest.fixture
def held_port() -> Iterator[socket.socket]:
    """A port another process would hold: a plain listening socket."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder


def restart(node: IpfsNode) -> IpfsNode:
    node.stop()
    return node.start()


def test_a_restarted_node_listens_at_the_same_address(make_node: NodeFactory) -> None:
    node = make_node("kept")
    before = node.multiaddrs
    kept = json.loads((node.repo_dir / KEPT_FILE).read_text())
    assert kept == {"port": port_of(before[0])}

    node.stop()
    again = make_node("kept")  # a new IpfsNode on the same repository, as after a restart
    assert again.multiaddrs == before


def test_a_kept_port_another_node_took_moves_to_a_new_port(
    make_node: NodeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    node = make_node("mover")
    old = port_of(node.multiaddrs[0])
    node.stop()
    # Another kubo node takes the port meanwhile. libp2p binds with SO_REUSEPORT: without the
    # plain bind check, the restarted node would bind the same port too and share it.
    squatter = make_node("squatter", swarm_addresses=[f"/ip4/127.0.0.1/tcp/{old}"])
    assert port_of(squatter.multiaddrs[0]) == old

    with caplog.at_level(logging.INFO, logger="ledgerlearn.storage"):
        node.start()
    new = port_of(node.multiaddrs[0])
    assert new != old
    assert json.loads((node.repo_dir / KEPT_FILE).read_text()) == {"port": new}
    moved = [r for r in caplog.records if f"kept IPFS port {old}" in r.getMessage()]
    assert [r.levelname for r in moved] == ["INFO"], caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text

    restart(node)  # the new port is kept from now on
    assert port_of(node.multiaddrs[0]) == new


def test_a_configured_port_is_used_and_a_taken_one_is_a_one_line_error(
    make_node: NodeFactory, held_port: socket.socket, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = int(s.getsockname()[1])
    node = make_node("configured", swarm_port=free)
    assert port_of(node.multiaddrs[0]) == free

    taken = int(held_port.getsockname()[1])
    busy = IpfsNode(StorageSettings(repo_dir=tmp_path / "busy", swarm_port=taken))
    with pytest.raises(StorageError) as caught:
        busy.start()
    message = str(caught.value)
    assert "\n" not in message
    assert f"IPFS port {taken} on 127.0.0.1 is in use" in message
    assert "--ipfs-port" in message
    assert not busy.running


def test_a_forgotten_peer_is_gone_from_the_next_fetch_worker(
    make_node: NodeFactory, held_port: socket.socket
) -> None:
    member = make_node("member")
    old = member.multiaddrs[0]
    reader = make_node("reader")
    reader.connect(old)
    cid, digest = member.put(b"served from the old address")
    assert reader.get(cid, digest, timeout_s=20) == b"served from the old address"

    # The member restarts and moves (its kept port is taken); its new address is registered.
    member.stop()
    (member.repo_dir / KEPT_FILE).write_text(json.dumps({"port": held_port.getsockname()[1]}))
    member.start()
    new = member.multiaddrs[0]
    assert new != old
    reader.connect(new)
    reader.forget(old)
    assert new in reader.known_peers and old not in reader.known_peers

    # The next fetch worker is given the new address only, and fetches from it.
    pid = reader.fetch_worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    cid, digest = member.put(b"served from the new address")
    assert reader.get(cid, digest, timeout_s=20) == b"served from the new address"
    assert reader.fetch_worker_pid not in (None, pid)
    worker_dir = reader.repo_dir / FETCH_WORKER_SUBDIR
    peering = json.loads((worker_dir / "repo" / "config").read_text())["Peering"]["Peers"]
    member_id = PeerAddress.parse(new).peer_id
    assert [p["Addrs"] for p in peering if p["ID"] == member_id] == [
        [PeerAddress.parse(new).transport]
    ]
    assert old not in (worker_dir / "worker.log").read_text()
