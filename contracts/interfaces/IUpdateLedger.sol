// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILedgerAccess} from "./ILedgerAccess.sol";

/// @title IUpdateLedger — local updates and the committee's scores
/// @notice An update is identified within its task by the sha256 of its safetensors bytes (its
/// content hash); the CID is only in the event. A federation update names its round; a dag
/// update names 1..maxParents parents, each an accepted update of the same task or the task's
/// initial weights. Providers join a task once, then submit at most one update per round.
/// Committee members score each update once before its scoring deadline; they cannot provide
/// updates to a task they are on the committee of, so they never score their own.
interface IUpdateLedger is ILedgerAccess {
    /// @notice Status of an update.
    enum Status {
        None,
        Pending,
        Accepted,
        Rejected
    }

    /// @notice The stored state of an update.
    struct UpdateInfo {
        address provider;
        uint32 round; // federation: the round; dag: the block it was submitted in
        Status status;
        uint8 passCount; // scores that cleared the threshold
        uint8 scoreCount; // scores received
        uint32 scoredMask; // bit i set: committee member i scored
    }

    /// @notice A provider joined a task.
    event ProviderJoined(uint256 indexed taskId, address indexed provider);
    /// @notice An update was submitted. `parents` is empty in a federation task.
    event UpdateSubmitted(
        uint256 indexed taskId,
        bytes32 indexed update,
        address indexed provider,
        uint32 round,
        uint32 numSamples,
        string cid,
        bytes32[] parents
    );
    /// @notice A committee member scored an update (fixed point, 6 decimals).
    event ScoreSubmitted(uint256 indexed taskId, bytes32 indexed update, address indexed validator, int64 score);
    /// @notice The committee accepted an update.
    event UpdateAccepted(uint256 indexed taskId, bytes32 indexed update, uint32 round, uint8 passCount, uint8 scoreCount);
    /// @notice The committee rejected an update (also: too few scores by its deadline).
    event UpdateRejected(uint256 indexed taskId, bytes32 indexed update, uint32 round, uint8 passCount, uint8 scoreCount);

    /// @notice The function is for the other flow (0 federation, 1 dag).
    error UpdateLedgerWrongFlow(uint256 taskId, uint8 flow);
    /// @notice The provider already joined the task.
    error UpdateLedgerAlreadyJoined(uint256 taskId, address provider);
    /// @notice A member of the task's committee cannot also provide updates to it (it could not
    /// score its own update, and liars could then block it).
    error UpdateLedgerCommitteeMember(uint256 taskId, address provider);
    /// @notice The provider has not joined the task.
    error UpdateLedgerNotJoined(uint256 taskId, address provider);
    /// @notice A federation update names a round that is not the current one.
    error UpdateLedgerWrongRound(uint256 taskId, uint256 round, uint256 currentRound);
    /// @notice The round stopped accepting updates at `deadlineBlock`.
    error UpdateLedgerSubmissionClosed(uint256 taskId, uint256 round, uint256 deadlineBlock);
    /// @notice The provider already submitted an update in this round.
    error UpdateLedgerAlreadySubmitted(uint256 taskId, uint256 round, address provider);
    /// @notice An update with these exact bytes already exists in the task (in a dag task: or they
    /// are the task's initial weights, the root of the dag): a copied update gets no credit.
    error UpdateLedgerDuplicateContent(uint256 taskId, bytes32 update);
    /// @notice The content hash is zero or the sample count is zero.
    error UpdateLedgerInvalidUpdate(uint256 taskId, bytes32 update, uint256 numSamples);
    /// @notice A dag update must name between 1 and maxParents parents.
    error UpdateLedgerParentCount(uint256 taskId, uint256 count, uint256 maxParents);
    /// @notice A parent is neither an accepted update of the task nor its initial weights, or repeats.
    error UpdateLedgerInvalidParent(uint256 taskId, bytes32 parent);
    /// @notice No update with this content hash in the task.
    error UpdateLedgerUnknownUpdate(uint256 taskId, bytes32 update);
    /// @notice The committee member already scored this update.
    error UpdateLedgerAlreadyScored(uint256 taskId, bytes32 update, address validator);
    /// @notice The update's scoring deadline has passed.
    error UpdateLedgerScoringClosed(uint256 taskId, bytes32 update, uint256 deadlineBlock);
    /// @notice The update's scoring deadline has not passed yet: it cannot be settled.
    error UpdateLedgerScoringOpen(uint256 taskId, bytes32 update, uint256 deadlineBlock);
    /// @notice The update is already decided.
    error UpdateLedgerAlreadyDecided(uint256 taskId, bytes32 update, Status status);
    /// @notice A batch call got arrays of different lengths.
    error UpdateLedgerLengthMismatch(uint256 updates, uint256 scores);

    /// @notice Joins a task as a data provider (PROVIDER_ROLE; not a member of its committee).
    function joinTask(uint256 taskId) external;

    /// @notice Submits a federation update for `round` (the current round, before its deadline).
    function submitUpdate(uint256 taskId, uint32 round, bytes32 update, string calldata cid, uint32 numSamples)
        external;

    /// @notice Submits a dag update built on `parents`.
    function submitDagUpdate(
        uint256 taskId,
        bytes32[] calldata parents,
        bytes32 update,
        string calldata cid,
        uint32 numSamples
    ) external;

    /// @notice Scores one update (committee member with VALIDATOR_ROLE).
    function submitScore(uint256 taskId, bytes32 update, int64 score) external;

    /// @notice Scores several updates of a task in one transaction. Updates the other members
    /// decided since the batch was prepared are skipped, so a batch does not fail on that race;
    /// every other check (membership, double score, deadline, unknown update) still reverts.
    function submitScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores) external;

    /// @notice Decides pending updates whose scoring deadline has passed (any participant).
    function settleUpdates(uint256 taskId, bytes32[] calldata updates) external;

    /// @notice The stored state of an update (status None when unknown).
    function getUpdate(uint256 taskId, bytes32 update) external view returns (UpdateInfo memory);

    /// @notice Block from which the update can no longer be scored.
    function scoreDeadline(uint256 taskId, bytes32 update) external view returns (uint256);

    /// @notice Whether `provider` joined the task, and the last federation round it submitted in.
    function participation(uint256 taskId, address provider) external view returns (bool joined, uint32 lastRound);
}
