"""The loop an agent process runs: sync with the chain, take a step, wait, until done."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ledgerlearn.agents.participant import Participant
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
) -> None:
    """Run ``step`` after every sync until ``until()`` holds (checked after each sync).

    Contract reverts and unavailable content are logged and retried at the next step (a race
    with another agent, a peer that went away): the chain and IPFS are the truth, the next
    sync shows what changed. A reset or rolled-back chain stops the agent with its error.
    SIGTERM/SIGINT end the loop through ``SystemExit``/``KeyboardInterrupt`` (installed by the
    IPFS node), so ``with`` blocks close cleanly.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
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
        if not acted:
            time.sleep(poll_s)
