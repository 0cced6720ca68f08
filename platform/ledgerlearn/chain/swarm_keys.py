"""The private swarm's key epochs (the SwarmKeys contract of a consortium deployment).

When the council removes a member, that member still holds the swarm key: any remaining member
rotates it (:meth:`SwarmKeys.rotate`: a new key sealed to every registered participant's
encryption key, posted with the key's hash); a member registered later gets a share from anyone
holding the key (:meth:`SwarmKeys.share`), and so does one whose shares did not match the hash
once it asks (:meth:`SwarmKeys.request_share`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from web3 import Web3
from web3.contract import Contract

from ledgerlearn.chain.client import LedgerClient

__all__ = ["SwarmKeys"]


class SwarmKeys:
    """The SwarmKeys contract seen by one participant."""

    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.contract: Contract = client.satellite("SwarmKeys")

    def epoch(self) -> int:
        """The current key epoch (0: the founding key)."""
        return int(self.client.read(self.contract.functions.epoch()))

    def key_hash(self, epoch: int) -> bytes:
        """keccak256 of epoch ``epoch``'s key (zero bytes: not recorded)."""
        return bytes(self.client.read(self.contract.functions.keyHash(epoch)))

    def rotate(
        self, removed: Sequence[str], key_hash: bytes, shares: Mapping[str, bytes], epoch: int
    ) -> None:
        """Replace the key (its hash ``key_hash``), cutting off ``removed``: ``shares`` maps
        every registered participant to the new key sealed to its registered encryption key.
        ``epoch`` is the new epoch (names the transaction in the outbox: sent once)."""
        order = sorted(shares, key=lambda a: int(a, 16))
        self.client.transact(
            self.contract.functions.rotate(
                [Web3.to_checksum_address(a) for a in sorted(removed)],
                key_hash,
                [Web3.to_checksum_address(a) for a in order],
                [shares[a] for a in order],
            ),
            key=f"swarm-key:{epoch}",
        )

    def share(self, member: str, sealed: bytes, epoch: int) -> None:
        """Give ``member`` its copy of the current key (epoch ``epoch``), sealed to it (once
        per epoch from each member)."""
        self.client.transact(
            self.contract.functions.share(Web3.to_checksum_address(member), sealed),
            key=f"swarm-share:{epoch}:{member.lower()}",
        )

    def request_share(self, epoch: int, attempt: int) -> None:
        """Ask for another share of epoch ``epoch``'s key (none of this member's matched its
        hash); ``attempt`` counts the requests for that epoch (names the transaction)."""
        self.client.transact(
            self.contract.functions.requestShare(), key=f"swarm-request:{epoch}:{attempt}"
        )
