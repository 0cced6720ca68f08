"""Connecting an agent's IPFS node to the other members' nodes, as they register on chain."""

from __future__ import annotations

import logging

from ledgerlearn.agents.participant import Participant
from ledgerlearn.storage import IpfsNode

log = logging.getLogger(__name__)


class Peering:
    """Connects this node to every member that registered a peer address."""

    def __init__(self, participant: Participant, node: IpfsNode) -> None:
        self.participant = participant
        self.node = node
        self.known: set[str] = set()

    def refresh(self) -> None:
        """Dial members registered since the last refresh (after a sync)."""
        own = set(self.node.multiaddrs)
        for account, (address, _) in self.participant.index.members.items():
            if address in self.known or address in own or account == self.participant.address:
                continue
            self.known.add(address)
            try:
                self.node.connect(address)
            except Exception as exc:  # a peer that is down now is dialled again by fetches
                log.warning("cannot reach %s at %s yet: %s", account, address, exc)
