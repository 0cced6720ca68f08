"""Reverts that only mean the ledger moved on while an agent prepared its transaction.

Several agents act on the same task: a round finalizes while a member's attestation is on its
way, another keeper settles first, the task closes between two steps. The agent's next sync
shows the new state and its next step acts on it; such a revert is a normal race, reported in a
plain sentence at INFO, never a warning (a WARNING in a log means something went wrong).
"""

from __future__ import annotations

from ledgerlearn.chain import contract_errors as ce
from ledgerlearn.chain.custom_error import ContractCustomError

__all__ = ["MOVED_ON", "describe_race", "is_race"]

MOVED_ON: dict[type[ContractCustomError], str] = {
    ce.RoundLedgerNotCurrentRound: "the round was finalized meanwhile",
    ce.TaskRegistryTaskClosed: "the task closed meanwhile",
    ce.UpdateLedgerAlreadyDecided: "the update was decided meanwhile",
    ce.RoundLedgerAlreadyAttested: "this member's attestation was already mined",
    ce.RoundLedgerAlreadyProposed: "this account's proposal was already mined",
    ce.UpdateLedgerAlreadyScored: "this member's score was already mined",
    ce.UpdateLedgerScoringClosed: "the scoring window closed meanwhile",
    ce.UpdateLedgerSubmissionClosed: "the submission window closed meanwhile",
    ce.UpdateLedgerScoringOpen: "the deadline is a block away still",
    ce.RoundLedgerAttestationOpen: "the attestation deadline is a block away still",
    ce.RoundLedgerRoundOpen: "the round's proposals open a block later",
    ce.RoundLedgerPendingUpdates: "an update of the round is still to be settled",
    ce.VettingWrongStage: "the task's draw or vetting moved on meanwhile",
    ce.VettingOutsideWindow: "the draw's or the vetting's window is a block away or closed",
    ce.VettingAlreadyVoted: "this member's vote was already mined",
    ce.VettingAlreadyCommitted: "this member's seed commitment was already mined",
    ce.TaskRegistryNotOpen: "the task is not open yet",
    ce.ScoreCommitmentsAlreadyCommitted: "this member's score commitment was already mined",
    ce.ScoreCommitmentsCommitClosed: "the commit window closed meanwhile",
    ce.ScoreCommitmentsRevealTooEarly: "the reveals open a block later",
    ce.SwarmKeysNothingToCutOff: "another member rotated the swarm key first",
    ce.SwarmKeysIncompleteShares: "a member registered or left while the new swarm key was sealed",
}
"""Revert -> what it means, for the reverts that are races between agents."""


def is_race(exc: BaseException) -> bool:
    """Whether ``exc`` is a revert that only says the ledger moved on."""
    return isinstance(exc, tuple(MOVED_ON))


def describe_race(exc: BaseException) -> str:
    """A plain sentence for a race revert (the error's own message for anything else)."""
    for kind, meaning in MOVED_ON.items():
        if isinstance(exc, kind):
            return f"{meaning} ({kind.__name__}); acting on the new state next step"
    return str(exc) or type(exc).__name__
