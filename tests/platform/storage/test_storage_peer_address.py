"""Parsing full peer multiaddresses."""

from __future__ import annotations

import pytest

from ledgerlearn.storage import PeerAddress

PEER = "QmNjUGB2sfHxWiWbAXDVyEXoXVrXYZbzpsA514ec5YW6zj"


def test_parse_splits_transport_and_peer_id() -> None:
    address = PeerAddress.parse(f"/ip4/127.0.0.1/tcp/4001/p2p/{PEER}")
    assert address == PeerAddress("/ip4/127.0.0.1/tcp/4001", PEER)
    assert str(address) == f"/ip4/127.0.0.1/tcp/4001/p2p/{PEER}"


def test_parse_accepts_legacy_ipfs_part() -> None:
    assert PeerAddress.parse(f"/ip4/10.0.0.1/tcp/1/ipfs/{PEER}").peer_id == PEER


@pytest.mark.parametrize(
    "bad",
    ["", "/ip4/127.0.0.1/tcp/4001", f"ip4/1.2.3.4/tcp/1/p2p/{PEER}", "/ip4/1.2.3.4/tcp/1/p2p/0OIl"],
)
def test_parse_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        PeerAddress.parse(bad)
