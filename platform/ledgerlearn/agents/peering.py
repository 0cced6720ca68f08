"""Connecting an agent's IPFS node to the other members' nodes, as they register on chain."""

from __future__ import annotations

import logging

from ledgerlearn.agents.participant import Participant
from ledgerlearn.errors import StorageError
from ledgerlearn.storage import IpfsNode, PeerAddress

log = logging.getLogger(__name__)


def _peer_id(address: str) -> str | None:
    try:
        return PeerAddress.parse(address).peer_id
    except ValueError:
        return None


class Peering:
    """Keeps this node connected to the address every member registered, and only that one.

    A member that registers a new address (its node moved to another port) is dialled there,
    and its old address is forgotten by this node and its fetch worker, so nobody keeps
    dialling it. A member that cannot be dialled is said once at INFO ("unreachable"), and
    once more when it is connected again; the fetch worker keeps dialling it before fetches.

    Call :meth:`refresh` from one thread (after each sync of the participant's index).
    """

    def __init__(self, participant: Participant, node: IpfsNode) -> None:
        self.participant = participant
        self.node = node
        self.addresses: dict[str, str] = {}
        """The address dialled for each member account (the one it registered last)."""
        self.unreachable: dict[str, str] = {}
        """Members whose address could not be dialled, not connected since."""

    def refresh(self) -> None:
        """Dial members that registered (or changed) their address since the last refresh."""
        own_id = self.node.peer_id
        index = self.participant.index
        members = list(index.members.items())
        for account, (address, _) in members:
            if index.lost_roles(account):  # removed: not dialled (nor served, once rekeyed)
                self.unreachable.pop(account, None)
                gone = self.addresses.pop(account, None)
                if gone is not None and gone not in self.addresses.values():
                    self.node.forget(gone)
                continue
            old = self.addresses.get(account)
            if old == address:
                continue
            self.addresses[account] = address
            ours = _peer_id(address) == own_id  # this node's own address, new or old
            if old is not None:
                if not ours:
                    log.info("member %s moved from %s to %s", account, old, address)
                self.unreachable.pop(account, None)
                if old not in self.addresses.values():  # nobody else registered it
                    self.node.forget(old)
            if not ours:
                self._dial(account, address)
        if self.unreachable:
            self._notice_reconnected()

    def redial(self) -> None:
        """Dial every member again (after this node restarted, e.g. with a new swarm key)."""
        self.addresses.clear()
        self.unreachable.clear()
        self.refresh()

    def _dial(self, account: str, address: str) -> None:
        try:
            self.node.connect(address)
        except StorageError as exc:  # down now: the fetch worker dials it again before fetches
            log.debug("dialling member %s failed: %s", account, exc)
            if self.unreachable.get(account) != address:
                self.unreachable[account] = address
                log.info("member %s unreachable at %s", account, address)
            return
        if self.unreachable.pop(account, None) is not None:
            log.info("member %s reachable again at %s", account, address)

    def _notice_reconnected(self) -> None:
        connected = set(self.node.connected_peers())
        for account, address in list(self.unreachable.items()):
            if _peer_id(address) in connected:
                del self.unreachable[account]
                log.info("member %s reachable again at %s", account, address)
