"""What the read-only commands (``dag``, ``model``) share besides their client of the
deployment (:func:`~ledgerlearn.cli.common.ledger_client` without a key): a reader — a
participant synced with the chain, with an embedded IPFS node of its own that dialled the
members' registered nodes, so it fetches what they serve.

Nothing here imports torch or web3 at module level: ``--help`` stays fast.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ledgerlearn.config import Settings, StorageSettings

if TYPE_CHECKING:
    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.chain.client import LedgerClient

__all__ = ["reader"]

log = logging.getLogger(__name__)


@contextmanager
def reader(client: LedgerClient, ipfs_repo: Path | None) -> Iterator[Participant]:
    """A read-only participant synced with the chain, with an IPFS node of its own (in
    ``ipfs_repo``, default a temporary folder) that dialled the members' registered nodes."""
    import torch

    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.storage import IpfsNode

    torch.set_num_threads(1)
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="ledgerlearn-reader-") as tmp:
        repo = ipfs_repo.expanduser() if ipfs_repo is not None else Path(tmp) / "ipfs"
        storage: StorageSettings = settings.storage.model_copy(update={"repo_dir": repo})
        with IpfsNode(storage, start_fetch_worker=True) as node:
            state = Path(tmp) / "state"
            participant = Participant(client, node, state, fetch_timeout_s=storage.get_timeout_s)
            participant.sync()
            for account, (address, _) in participant.index.members.items():
                try:
                    node.connect(address)
                except Exception as exc:  # a member offline now: the others may serve it
                    log.info("cannot reach %s at %s: %s", account, address, exc)
            yield participant
