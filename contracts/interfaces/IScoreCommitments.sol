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
interface IScoreCommitments {
    /// @notice A committee member committed to its score of `update`.
    event ScoreCommitted(uint256 indexed taskId, bytes32 indexed update, address indexed validator, bytes32 commitment);
    /// @notice A committee member revealed its score (the ledger's ScoreSubmitted follows).
    event ScoreRevealed(uint256 indexed taskId, bytes32 indexed update, address indexed validator, int64 score);

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
    /// @notice The score and salt do not match the commitment.
    error ScoreCommitmentsMismatch(uint256 taskId, bytes32 update, bytes32 commitment, bytes32 revealed);
    /// @notice One entry per update is needed in every array of a batch.
    error ScoreCommitmentsLengthMismatch(uint256 updates, uint256 values);

    /// @notice Commits to a score of `update` (a committee member, in the commit window, once).
    function commitScore(uint256 taskId, bytes32 update, bytes32 commitment) external;
    /// @notice `commitScore` for several updates of one task.
    function commitScores(uint256 taskId, bytes32[] calldata updates, bytes32[] calldata commitments) external;
    /// @notice Reveals a committed score; forwarded to the ledger as the member's score.
    function revealScore(uint256 taskId, bytes32 update, int64 score, bytes32 salt) external;
    /// @notice `revealScore` for several updates; updates decided meanwhile are skipped (their
    /// commitments stay unrevealed), like the ledger's submitScores.
    function revealScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores, bytes32[] calldata salts)
        external;

    /// @notice The commitment to `score` with `salt` by `validator`.
    function scoreCommitment(uint256 taskId, bytes32 update, address validator, int64 score, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice The unrevealed commitment of `validator` to its score of `update` (zero: none).
    function commitmentOf(uint256 taskId, bytes32 update, address validator) external view returns (bytes32);
}
