"""Peer addresses: a transport multiaddress plus a peer ID (``/ip4/.../tcp/4001/p2p/Qm...``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PeerAddress"]

_PEER_ID = re.compile(r"[1-9A-HJ-NP-Za-km-z]+|[a-z2-7]+")  # base58btc (Qm.., 12D3..) or base32
_P2P_PARTS = ("/p2p/", "/ipfs/")


@dataclass(frozen=True)
class PeerAddress:
    """A dialable address of a peer.

    Parameters
    ----------
    transport
        Multiaddress of the transport, e.g. ``/ip4/127.0.0.1/tcp/4001``.
    peer_id
        The peer's ID, e.g. ``QmNjUG...`` or ``12D3Koo...``.
    """

    transport: str
    peer_id: str

    def __post_init__(self) -> None:
        if not self.transport.startswith("/") or any(p in self.transport for p in _P2P_PARTS):
            raise ValueError(
                f"transport must be a multiaddress without /p2p/, got {self.transport!r}"
            )
        if not _PEER_ID.fullmatch(self.peer_id):
            raise ValueError(f"malformed peer id {self.peer_id!r}")

    @classmethod
    def parse(cls, multiaddr: str) -> PeerAddress:
        """Split a full multiaddress ``<transport>/p2p/<peer id>``.

        Raises
        ------
        ValueError
            If the address has no ``/p2p/`` (or legacy ``/ipfs/``) part or is malformed.
        """
        text = multiaddr.strip()
        for part in _P2P_PARTS:
            transport, sep, peer_id = text.rpartition(part)
            if sep:
                return cls(transport=transport, peer_id=peer_id)
        raise ValueError(f"peer address must end with /p2p/<peer id>, got {multiaddr!r}")

    def __str__(self) -> str:
        return f"{self.transport}/p2p/{self.peer_id}"
