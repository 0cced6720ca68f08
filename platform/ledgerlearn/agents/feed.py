"""One event feed for every agent of a single-process run.

Each agent process keeps its own :class:`~ledgerlearn.chain.index.LedgerIndex`, folded from
the chain's events (:meth:`~ledgerlearn.agents.participant.Participant.sync`). When many
agents share one process and one chain — the in-process simulation — they would fold the same
events into identical indexes, each with its own polls: fifteen agents made fifteen sets of
RPC calls per block, most of a simulation's time. A :class:`SharedFeed` polls once per new
block and keeps one index that every participant given the feed reads; the agents' code is
unchanged and sees exactly the events it saw before, in the same order.
"""

from __future__ import annotations

from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.events import EventStream, LedgerEvent
from ledgerlearn.chain.index import LedgerIndex

__all__ = ["SharedFeed"]


class SharedFeed:
    """One event stream and one index, shared by the participants of one process.

    Parameters
    ----------
    client
        Any client of the chain (read access).
    """

    def __init__(self, client: LedgerClient) -> None:
        self._stream = EventStream(client)
        self.index = LedgerIndex()
        self.head = -1
        """The latest block folded into :attr:`index`."""

    def sync(self) -> list[LedgerEvent]:
        """Fold the events of new blocks into the index (nothing to do without a new block);
        returns them."""
        batch = self._stream.poll(verify=False)
        if batch.to_block == self.head:
            return []
        self.index.apply_all(batch.events)
        self._stream.commit(batch)
        self.head = batch.to_block
        return batch.events
