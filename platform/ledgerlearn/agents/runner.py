"""The loop an agent process runs: sync with the chain, take a step, wait, until done."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.heads import HeadWatcher
from ledgerlearn.chain.races import describe_race, is_race
from ledgerlearn.errors import ChainError, ChainReorgError, ChainResetError, StorageError

log = logging.getLogger(__name__)


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
    sync shows what changed. A reset or rolled-back chain stops the agent with its error.
    SIGTERM/SIGINT end the loop through ``SystemExit``/``KeyboardInterrupt`` (installed by the
    IPFS node), so ``with`` blocks close cleanly.

    After a step that did nothing the agent waits ``poll_s``; with ``heads`` (blocks pushed by
    the node) it waits instead for the next block, at most ``fallback_poll_s`` (work that no
    block announces, such as a fetch finishing, is picked up then), and polls again while the
    subscription is down.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        seen = heads.latest if heads is not None else -1  # a head during the step: no sleep
        participant.sync()
        if until():
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"agent {participant.address} did not finish in {timeout_s} s")
        try:
            acted = step()
        except (ChainResetError, ChainReorgError):
            raise
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
