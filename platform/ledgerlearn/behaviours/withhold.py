"""CID withholding: the update's hash and CID go on chain, its content never goes on IPFS.

The provider trains and encodes honestly, computes the CID the content would have, and
submits it without storing the bytes, so no node can ever serve them. The committee must
score the update as unavailable once its fetch deadline passes, and the round must still
close (THREATS: availability).
"""

from __future__ import annotations

from ledgerlearn.behaviours.provider import ContentPublisher, Honest
from ledgerlearn.storage.content import sha256_digest


class WithholdContent(Honest):
    """Submits the hash and CID of an honest update whose bytes it never publishes."""

    name = "withhold"
    follows_publish_if_better = False

    def publish(self, content: bytes, store: ContentPublisher) -> tuple[str, bytes]:
        """The CID and sha256 of ``content``, computed without storing it anywhere."""
        return store.compute_cid(content), sha256_digest(content)
