// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IScoreCommitments — committee scores committed, then revealed
/// @notice For a task whose policy sets `commitWindow` > 0, a committee member first commits
/// `scoreCommitment(taskId, update, member, score, salt)` (before `ledger.commitDeadline`), and
/// reveals the score and the salt from that block on (until the ledger's scoring deadline, or
/// its extension while the update lacks a quorum). A reveal that matches is forwarded to the
/// ledger as the member's score (`submitScoreFor`). So a lazy member cannot copy the scores of
/// others (nothing is readable before the commit window closes) and a liar cannot adapt its
/// score to them; a commitment never revealed counts for nothing (the ledger never hears of it;
/// it shows in the events as a `ScoreCommitted` without a `ScoreRevealed`).
///
/// The ledger decides an update as soon as enough revealed scores settle it, so the members who
/// reveal first decide, and the ledger takes no score after that. A commitment was fixed before
/// any reveal, so its reveal after the decision (before the scoring deadline) still shows timely
/// work: it is checked, recorded (`ScoreRevealedAfterDecision`) and, when it agrees with the
/// decision, credited here (`lateCreditOf`; a score against the decision is counted there too),
/// which the reward escrow adds to the ledger's credits; not after the task closed, when the
/// escrow may already have paid by them. Otherwise revealing in the same block as the deciding
/// members, a block too late, would forfeit a member's share.
interface IScoreCommitments {
    /// @notice A committee member committed to its score of `update`.
    event ScoreCommitted(uint256 indexed taskId, bytes32 indexed update, address indexed validator, bytes32 commitment);
    /// @notice A committee member revealed its score (the ledger's ScoreSubmitted follows).
    event ScoreRevealed(uint256 indexed taskId, bytes32 indexed update, address indexed validator, int64 score);
    /// @notice A committee member revealed its score after the update was decided, in time;
    /// `agreed`: on the side of the decision (credited).
    event ScoreRevealedAfterDecision(
        uint256 indexed taskId, bytes32 indexed update, address indexed validator, int64 score, bool agreed
    );

    /// @notice The task's scores are sent in the clear (its commitWindow is 0).
    error ScoreCommitmentsNotCommitReveal(uint256 taskId);
    /// @notice `account` is not on the task's committee (or lost VALIDATOR_ROLE).
    error ScoreCommitmentsNotMember(uint256 taskId, address account);
    /// @notice The commit window of the update closed at `deadline`.
    error ScoreCommitmentsCommitClosed(uint256 taskId, bytes32 update, uint256 deadline);
    /// @notice The member committed to this update already (or a zero commitment).
    error ScoreCommitmentsAlreadyCommitted(uint256 taskId, bytes32 update, address validator);
    /// @notice Reveals open at `deadline` (the end of the commit window).
    error ScoreCommitmentsRevealTooEarly(uint256 taskId, bytes32 update, uint256 deadline);
    /// @notice The member has no commitment to reveal for this update.
    error ScoreCommitmentsNoCommitment(uint256 taskId, bytes32 update, address validator);
    /// @notice The update's scoring closed at `deadline` (or it expired, or its task closed): the
    /// reveal counts for nothing.
    error ScoreCommitmentsRevealClosed(uint256 taskId, bytes32 update, uint256 deadline);
    /// @notice The score and salt do not match the commitment.
    error ScoreCommitmentsMismatch(uint256 taskId, bytes32 update, bytes32 commitment, bytes32 revealed);
    /// @notice One entry per update is needed in every array of a batch.
    error ScoreCommitmentsLengthMismatch(uint256 updates, uint256 values);

    /// @notice Commits to a score of `update` (a committee member, in the commit window, once).
    function commitScore(uint256 taskId, bytes32 update, bytes32 commitment) external;
    /// @notice `commitScore` for several updates of one task.
    function commitScores(uint256 taskId, bytes32[] calldata updates, bytes32[] calldata commitments) external;
    /// @notice Reveals a committed score: forwarded to the ledger as the member's score while the
    /// update is pending; after its decision, before its scoring deadline and while its task is
    /// open, credited here when it agrees with the decision (the credits are fixed at close).
    function revealScore(uint256 taskId, bytes32 update, int64 score, bytes32 salt) external;
    /// @notice `revealScore` for several updates; updates whose scoring closed (or that expired, or
    /// whose task closed) meanwhile are skipped, their commitments left unrevealed.
    function revealScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores, bytes32[] calldata salts)
        external;

    /// @notice The commitment to `score` with `salt` by `validator`.
    function scoreCommitment(uint256 taskId, bytes32 update, address validator, int64 score, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice The unrevealed commitment of `validator` to its score of `update` (zero: none).
    function commitmentOf(uint256 taskId, bytes32 update, address validator) external view returns (bytes32);
    /// @notice Scores of `validator` revealed after the decision, in time: on the side of the
    /// decision (`agreed`) and on the other side (`disagreed`), as the ledger's `creditOf` counts them.
    function lateCreditOf(uint256 taskId, address validator) external view returns (uint32 agreed, uint32 disagreed);
    /// @notice The sums of `lateCreditOf` over the task's committee.
    function lateCreditTotal(uint256 taskId) external view returns (uint32 agreed, uint32 disagreed);
}
