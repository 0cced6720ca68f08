"""The consortium's private swarm (THREATS K4), on real kubo nodes: members holding the swarm key
connect and fetch (through the fetch worker, which must hold the key too); a node with another
key, or none, can neither connect to a member nor fetch from it, whichever side dials."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ledgerlearn.errors import ContentUnavailableError, StorageError
from ledgerlearn.storage.swarm_key import SWARM_KEY_FILE, SwarmKey

from .conftest import NodeFactory


def key_file(path: Path, key: SwarmKey) -> Path:
    key.write(path)
    return path


def test_the_key_file_format_round_trips_and_bad_files_are_named(tmp_path: Path) -> None:
    key = SwarmKey.generate()
    path = key_file(tmp_path / "swarm.key", key)
    assert SwarmKey.load(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a secret: its owner reads it
    assert path.read_text().splitlines()[:2] == ["/key/swarm/psk/1.0.0/", "/base16/"]
    assert key.secret.hex() not in repr(key) and key.fingerprint in repr(key)
    for text, problem in [
        ("hello", "not a swarm key"),
        ("/key/swarm/psk/1.0.0/\n/base16/\nabcd\n", "64 hex digits, not 4"),
        ("/key/swarm/psk/1.0.0/\n/base16/\n" + "zz" * 32 + "\n", "hex digits"),
        ("/key/swarm/psk/1.0.0/\n/base64/\n" + "00" * 32 + "\n", "not a swarm key"),
    ]:
        bad = tmp_path / "bad.key"
        bad.write_text(text)
        with pytest.raises(StorageError, match=problem) as raised:
            SwarmKey.load(bad)
        assert str(bad) in str(raised.value)
    with pytest.raises(StorageError, match="cannot read the swarm key"):
        SwarmKey.load(tmp_path / "missing.key")


def test_members_with_the_key_connect_and_fetch(make_node: NodeFactory, tmp_path: Path) -> None:
    shared = key_file(tmp_path / "consortium.key", SwarmKey.generate())
    first = make_node("first", swarm_key_file=shared)
    second = make_node("second", swarm_key_file=shared)
    assert (Path(tmp_path / "first" / SWARM_KEY_FILE)).exists()
    second.connect(first.multiaddrs[0])
    data = os.urandom(200_000)
    cid, digest = first.put(data)
    # a remote get runs in the fetch worker's own node: it joined the private swarm too
    assert second.get(cid, digest, timeout_s=30) == data


@pytest.mark.parametrize("outsider_key", ["another", "none"])
def test_a_node_without_the_key_can_neither_connect_nor_fetch(
    make_node: NodeFactory, tmp_path: Path, outsider_key: str
) -> None:
    shared = key_file(tmp_path / "consortium.key", SwarmKey.generate())
    member = make_node("member", swarm_key_file=shared)
    other = key_file(tmp_path / "other.key", SwarmKey.generate())
    outsider = make_node("outsider", swarm_key_file=other if outsider_key == "another" else None)
    data = os.urandom(50_000)
    cid, digest = member.put(data)
    with pytest.raises(StorageError):
        outsider.connect(member.multiaddrs[0])
    with pytest.raises(StorageError):
        member.connect(outsider.multiaddrs[0])
    assert member.connected_peers() == [] and outsider.connected_peers() == []
    with pytest.raises(ContentUnavailableError):
        outsider.get(cid, digest, timeout_s=5)


def test_a_node_leaves_the_private_swarm_when_its_settings_drop_the_key(
    make_node: NodeFactory, tmp_path: Path
) -> None:
    shared = key_file(tmp_path / "consortium.key", SwarmKey.generate())
    node = make_node("node", swarm_key_file=shared)
    assert (tmp_path / "node" / SWARM_KEY_FILE).exists()
    node.stop()
    make_node("node")  # the same repository, open swarm: the key file goes with the setting
    assert not (tmp_path / "node" / SWARM_KEY_FILE).exists()


def test_a_node_sees_its_key_file_change_and_follows_it_on_restart(
    make_node: NodeFactory, tmp_path: Path
) -> None:
    path = key_file(tmp_path / "org.key", SwarmKey.generate())
    node = make_node("gateway", swarm_key_file=path)
    assert not node.swarm_key_changed()
    new = SwarmKey.generate()
    new.write(path)  # what a member's agent does when the consortium's key was rotated
    assert node.swarm_key_changed()
    node.stop()
    node.start()
    assert not node.swarm_key_changed()
    assert SwarmKey.load(tmp_path / "gateway" / SWARM_KEY_FILE) == new  # the repository's too
