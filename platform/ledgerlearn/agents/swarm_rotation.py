"""Keeping a member's node in the consortium's private swarm when the council removes a member.

A removed member still holds the swarm key. Once its roles are revoked, the remaining members'
agents replace the key (:class:`SwarmRotation`, called every tick of the agent's loop):

- **rotate**: a member holding the current key seals a new one to every registered
  participant's encryption key and posts it (SwarmKeys.rotate). The members take turns by
  address, a few blocks apart, so normally one sends it; a second one's transaction reverts
  (said at INFO) and nothing else happens.
- **adopt**: every member decrypts its share of the newest epoch, checks it against the epoch's
  key hash, writes it to its key file and restarts its IPFS node with it (a fraction of a
  second; the repository, its pins and its port stay), then dials the members again. The
  removed member's connections drop with the restart and it is refused from then on.
- **share**: a participant registered after the rotation gets a share from a member holding
  the key (taking turns as above).
- **repair**: a member none of whose shares matches the epoch's key hash (a lying rotator or
  sharer: nobody else can check a share sealed to another) says so once (a WARNING) and asks
  for another share on chain (SwarmKeys.requestShare, once per unusable share); the next member
  holding the key that has not shared with it yet answers, taking turns as above.

The agent decrypts with its account key, the key every agent registers as its encryption key.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.peering import Peering
from ledgerlearn.chain.swarm_keys import SwarmKeys
from ledgerlearn.storage import IpfsNode
from ledgerlearn.storage.swarm_key import SwarmKey

__all__ = ["STAGGER_BLOCKS", "SwarmRotation"]

log = logging.getLogger(__name__)

STAGGER_BLOCKS = 3
"""Blocks between one member's turn to rotate or share and the next one's."""


class SwarmRotation:
    """One member's part in replacing the swarm key (see the module).

    Parameters
    ----------
    participant
        The member (its index holds the key epochs, roles and registered keys).
    node, peering
        Its IPFS node (restarted with a new key) and the dialler that reconnects it.
    key_file
        The swarm key file the node reads at start (``storage.swarm_key_file``).
    private_key
        The member's 32-byte account key (its registered encryption key).
    """

    def __init__(
        self,
        participant: Participant,
        node: IpfsNode,
        peering: Peering,
        key_file: Path,
        private_key: bytes,
    ) -> None:
        self.participant = participant
        self.node = node
        self.peering = peering
        self.key_file = key_file
        self.private_key = private_key
        self.keys = SwarmKeys(participant.client)
        self.key = SwarmKey.load(key_file)
        self._noticed: dict[str, int] = {}  # what needs doing -> the block it was first seen
        self._said: set[tuple[int, int]] = set()  # (epoch, shares seen) said once

    @property
    def epoch(self) -> int | None:
        """The epoch of the key this node runs with (None: not a recorded epoch's key)."""
        swarm = self.participant.index.swarm
        if swarm.epoch == 0:
            return 0  # the founding key: the one the bundles carry
        for epoch, digest in swarm.key_hashes.items():
            if digest == self.key.key_hash:
                return epoch
        return None

    def step(self) -> bool:
        """Adopt the newest key, rotate it after a removal, share it with a newcomer; True when
        a transaction was sent."""
        index = self.participant.index
        me = self.participant.address
        if not index.is_participant(me) or me not in index.members:
            return False  # removed (or not registered yet): nothing of ours to keep
        if self.epoch != index.swarm.epoch:
            return self._adopt()  # a member without the current key neither rotates nor shares
        return self._rotate() or self._share()

    # -- adopt ---------------------------------------------------------------------------
    def _adopt(self) -> bool:
        """Adopt the current epoch's key from this member's shares; when none is usable, ask
        for another share. True when that request was sent."""
        swarm = self.participant.index.swarm
        epoch = swarm.epoch
        me = self.participant.address
        shares = swarm.shares.get((epoch, me), [])
        problems = []
        for share in shares:
            try:
                key = SwarmKey.unseal(share, self.private_key, swarm.key_hashes[epoch])
            except ValueError as exc:
                problems.append(str(exc))
                continue
            key.write(self.key_file)
            self.key = key
            self.node.stop()
            self.node.start()
            self.peering.redial()
            log.info(
                "swarm key epoch %d (%s) adopted: the IPFS node restarted with it; members cut "
                "off: %s",
                epoch,
                key.fingerprint,
                ", ".join(sorted(swarm.cut_off)) or "none",
            )
            return False
        if not problems:
            return False  # no share yet (registered after the rotation): one is on its way
        if (epoch, len(shares)) not in self._said:
            self._said.add((epoch, len(shares)))
            log.warning(
                "none of the %d share(s) of swarm key epoch %d given to this member is usable "
                "(%s; from %s); asking the members for another",
                len(shares),
                epoch,
                "; ".join(problems),
                ", ".join(sorted(swarm.sharers.get((epoch, me), set()))),
            )
        asked = swarm.requests.get((epoch, me), 0)
        if asked >= len(shares):
            return False  # asked already: the answer is on its way
        self.keys.request_share(epoch, asked + 1)
        log.info("asked for another share of swarm key epoch %d (request %d)", epoch, asked + 1)
        return True

    # -- rotate and share (members holding the current key) ------------------------------
    def _my_turn(self, need: str) -> bool:
        """Whether this member's turn for ``need`` came: members holding the key in address
        order, :data:`STAGGER_BLOCKS` apart from the block the need was first seen."""
        index = self.participant.index
        head = self.participant.head
        seen = self._noticed.setdefault(need, head)
        holders = sorted(
            (a for a in index.members if index.is_participant(a)), key=lambda a: int(a, 16)
        )
        rank = holders.index(self.participant.address)
        return head >= seen + rank * STAGGER_BLOCKS

    def _rotate(self) -> bool:
        index = self.participant.index
        removed = sorted(  # registered or not: an admitted member may hold its bundle's key
            a for a in index.roles if index.lost_roles(a) and a not in index.swarm.cut_off
        )
        if not removed or not self._my_turn("rotate:" + ",".join(removed)):
            return False
        members = {a: key for a, (_, key) in index.members.items() if index.is_participant(a)}
        epoch = index.swarm.epoch + 1
        key = SwarmKey.generate()
        shares = {a: key.seal(public_key) for a, public_key in members.items()}
        self.keys.rotate(removed, key.key_hash, shares, epoch)
        log.info(
            "swarm key rotated to epoch %d (%s) to cut off %s: sealed to %d members",
            epoch,
            key.fingerprint,
            ", ".join(removed),
            len(members),
        )
        return True  # this member adopts it from the chain like every other

    def _share(self) -> bool:
        index = self.participant.index
        swarm = index.swarm
        epoch = swarm.epoch
        me = self.participant.address
        if epoch == 0:
            return False  # the founding key travels in the bundles
        for member, (_, public_key) in sorted(index.members.items()):
            if member == me or not index.is_participant(member):
                continue
            given = len(swarm.shares.get((epoch, member), []))
            if given == 0:
                why = "registered after it"
            elif swarm.requests.get((epoch, member), 0) >= given:
                if me in swarm.sharers.get((epoch, member), set()):
                    continue  # one share from each member: it was not this one's to repair
                why = f"it asked: none of its {given} share(s) matched"
            else:
                continue
            if not self._my_turn(f"share:{epoch}:{member}:{given}"):
                continue
            self.keys.share(member, self.key.seal(public_key), epoch)
            log.info("swarm key epoch %d shared with %s (%s)", epoch, member, why)
            return True
        return False
