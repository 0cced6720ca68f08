"""The loop an agent process runs: sync with the chain, take a step, wait, until done."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.heads import HeadWatcher
from ledgerlearn.chain.races import describe_race, is_race
from ledgerlearn.errors import (
    ChainError,
    ChainReorgError,
    ChainResetError,
    NodeUnreachableError,
    StorageError,
)

log = logging.getLogger(__name__)


class Outage:
    """Whether the chain node answers, said once per outage: a WARNING when it stops
    answering, an INFO line with the outage's length when it answers again."""

    def __init__(self) -> None:
        self.since: float | None = None

    def began(self, exc: NodeUnreachableError) -> None:
        """The node did not answer (again)."""
        if self.since is None:
            self.since = time.monotonic()
            log.warning("%s; waiting for it and retrying (nothing is lost meanwhile)", exc)

    def ended(self) -> None:
        """The node answered."""
        if self.since is not None:
            log.info("the chain node answers again after %.0f s", time.monotonic() - self.since)
            self.since = None


def run_agent(
    participant: Participant,
    step: Callable[[], bool],
    *,
    until: Callable[[], bool],
    poll_s: float = 0.5,
    timeout_s: float | None = None,
    heads: HeadWatcher | None = None,
    fallback_poll_s: float = 2.0,
) -> None:
    """Run ``step`` after every sync until ``until()`` holds (checked after each sync).

    Contract reverts and unavailable content are logged and retried at the next step (a race
    with another agent, a peer that went away): the chain and IPFS are the truth, the next
    sync shows what changed. A chain node that does not answer is waited for (said once per
    outage): transactions sent meanwhile wait in the outbox under their intent keys and are
    re-broadcast as the same signed bytes, so none is lost or sent twice. A reset or
    rolled-back chain stops the agent with its error.
    SIGTERM/SIGINT end the loop through ``SystemExit``/``KeyboardInterrupt`` (installed by the
    IPFS node), so ``with`` blocks close cleanly.

    After a step that did nothing the agent waits ``poll_s``; with ``heads`` (blocks pushed by
    the node) it waits instead for the next block, at most ``fallback_poll_s`` (work that no
    block announces, such as a fetch finishing, is picked up then), and polls again while the
    subscription is down.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    outage = Outage()
    while True:
        seen = heads.latest if heads is not None else -1  # a head during the step: no sleep
        try:
            participant.sync()
            outage.ended()
        except NodeUnreachableError as exc:
            outage.began(exc)
            time.sleep(poll_s)
            continue
        if until():
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"agent {participant.address} did not finish in {timeout_s} s")
        try:
            acted = step()
        except (ChainResetError, ChainReorgError):
            raise
        except NodeUnreachableError as exc:  # sent transactions wait in the outbox
            outage.began(exc)
            acted = False
        except (ChainError, StorageError) as exc:  # reverts, races, a peer that went away
            if is_race(exc):
                log.info("%s", describe_race(exc))
            else:
                log.warning("step failed, will retry: %s", exc)
            acted = False
        if acted:
            continue
        if heads is not None and heads.connected:
            heads.wait(after=seen, timeout_s=fallback_poll_s)
        else:
            time.sleep(poll_s)
