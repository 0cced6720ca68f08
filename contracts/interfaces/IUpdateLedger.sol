// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILedgerAccess} from "./ILedgerAccess.sol";

/// @title IUpdateLedger — local updates and the committee's scores
/// @notice An update is identified within its task by the sha256 of its safetensors bytes (its
/// content hash); the CID is only in the event. A federation update names its round; a dag
/// update names 1..maxParents parents, each an accepted update of the same task or the task's
/// initial weights. Providers join a task once, then submit at most one update per round (dag:
/// at most maxPending undecided updates at once).
///
/// Credit goes to the author: an update is committed first (`commitUpdate`, a hash of the task,
/// the provider, the content hash and a secret salt) and revealed (`submitUpdate` /
/// `submitDagUpdate` with the salt) in a later block. A copier who sees the reveal in the
/// mempool cannot have committed to that content in an earlier block, so it cannot reveal it
/// first, whatever fee it pays. Content is used once in the whole ledger: an update equal to any
/// task's initial weights, to any finalized aggregate (so to a round's base model) or to an update
/// of any task is refused.
///
/// Committee members score each update once before its scoring deadline; an update with fewer
/// than quorum scores at its deadline can still be scored for scoreExtension more blocks. They
/// cannot provide updates to a task they are on the committee of, so they never score their own.
/// A closed task refuses scores and settlements: it never changes again.
interface IUpdateLedger is ILedgerAccess {
    /// @notice Status of an update.
    enum Status {
        None,
        Pending,
        Accepted,
        Rejected,
        Expired // fewer than quorum scores by the end of the scoring extension: no credit, no blame
    }

    /// @notice The stored state of an update (counts and mask over the committee, at most 24 members).
    struct UpdateInfo {
        address provider;
        uint64 round; // federation: the round; dag: the block it was submitted in
        Status status;
        uint8 passCount; // scores that cleared the threshold
        uint8 scoreCount; // scores received
        uint32 scoredMask; // bit i set: committee member i scored
    }

    /// @notice A provider joined a task.
    event ProviderJoined(uint256 indexed taskId, address indexed provider);
    /// @notice A provider committed to an update it will reveal in a later block.
    event UpdateCommitted(uint256 indexed taskId, address indexed provider, bytes32 commitment);
    /// @notice An update was submitted (revealed). `parents` is empty in a federation task.
    event UpdateSubmitted(
        uint256 indexed taskId,
        bytes32 indexed update,
        address indexed provider,
        uint64 round,
        uint32 numSamples,
        string cid,
        bytes32[] parents
    );
    /// @notice A committee member scored an update (fixed point, 6 decimals).
    event ScoreSubmitted(uint256 indexed taskId, bytes32 indexed update, address indexed validator, int64 score);
    /// @notice The committee accepted an update.
    event UpdateAccepted(uint256 indexed taskId, bytes32 indexed update, uint64 round, uint8 passCount, uint8 scoreCount);
    /// @notice The committee rejected an update (or its provider lost PROVIDER_ROLE before it was accepted).
    event UpdateRejected(uint256 indexed taskId, bytes32 indexed update, uint64 round, uint8 passCount, uint8 scoreCount);
    /// @notice The committee could not judge an update: fewer than quorum scores by the end of its
    /// scoring extension. It is neither accepted nor rejected.
    event UpdateExpired(uint256 indexed taskId, bytes32 indexed update, uint64 round, uint8 scoreCount);

    /// @notice A provider's updates were rejected `rejections` times in a task (the policy's
    /// maxRejections): it submits nothing more to that task.
    event ProviderExcluded(uint256 indexed taskId, address indexed provider, uint32 rejections);

    /// @notice The provider was excluded from the task after `maxRejections` rejected updates.
    error UpdateLedgerProviderExcluded(uint256 taskId, address provider, uint256 maxRejections);
    /// @notice The task's scores are committed then revealed: they reach the ledger through the
    /// score commitments contract only.
    error UpdateLedgerScoresCommitted(uint256 taskId);
    /// @notice Only the ledger's score commitments contract may submit a score for a member.
    error UpdateLedgerNotScoreCommitments(address account);
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
    /// @notice An update with these exact bytes already exists in the task: a copied update gets no credit.
    error UpdateLedgerDuplicateContent(uint256 taskId, bytes32 update);
    /// @notice These bytes are a model the ledger already knows: a task's initial weights, a finalized
    /// aggregate (a round's base model) or an update of another task. Replaying a model earns nothing.
    error UpdateLedgerReplayedModel(uint256 taskId, bytes32 update);
    /// @notice The content hash is zero or the sample count is zero.
    error UpdateLedgerInvalidUpdate(uint256 taskId, bytes32 update, uint256 numSamples);
    /// @notice The commitment is zero or was already made.
    error UpdateLedgerInvalidCommitment(uint256 taskId, bytes32 commitment);
    /// @notice No commitment by the caller to this update and salt.
    error UpdateLedgerNotCommitted(uint256 taskId, address provider, bytes32 commitment);
    /// @notice The commitment was made in this block: it can be revealed from the next one.
    error UpdateLedgerCommitTooRecent(uint256 taskId, bytes32 commitment, uint256 committedBlock);
    /// @notice The provider already has `pending` undecided updates in this dag task (the policy's maxPending).
    error UpdateLedgerTooManyPending(uint256 taskId, address provider, uint256 pending, uint256 maxPending);
    /// @notice A dag update must name between 1 and maxParents parents.
    error UpdateLedgerParentCount(uint256 taskId, uint256 count, uint256 maxParents);
    /// @notice A parent is neither an accepted update of the task nor its initial weights, or repeats.
    error UpdateLedgerInvalidParent(uint256 taskId, bytes32 parent);
    /// @notice No update with this content hash in the task.
    error UpdateLedgerUnknownUpdate(uint256 taskId, bytes32 update);
    /// @notice The committee member already scored this update.
    error UpdateLedgerAlreadyScored(uint256 taskId, bytes32 update, address validator);
    /// @notice The update can no longer be scored (its deadline, or the end of its extension, is `deadlineBlock`).
    error UpdateLedgerScoringClosed(uint256 taskId, bytes32 update, uint256 deadlineBlock);
    /// @notice The update cannot be settled before block `deadlineBlock` (its scoring deadline; or,
    /// while it has fewer than quorum scores, the end of its scoring extension).
    error UpdateLedgerScoringOpen(uint256 taskId, bytes32 update, uint256 deadlineBlock);
    /// @notice The update is already decided.
    error UpdateLedgerAlreadyDecided(uint256 taskId, bytes32 update, Status status);
    /// @notice A batch call got arrays of different lengths.
    error UpdateLedgerLengthMismatch(uint256 updates, uint256 scores);

    /// @notice Joins a task as a data provider (PROVIDER_ROLE; not a member of its committee).
    function joinTask(uint256 taskId) external;

    /// @notice Commits to an update before revealing it: `commitment` is
    /// `updateCommitment(taskId, msg.sender, update, salt)`. The caller must have joined the task.
    function commitUpdate(uint256 taskId, bytes32 commitment) external;

    /// @notice Submits (reveals) a federation update for `round` (the current round, before its
    /// submission deadline), committed by the caller in an earlier block with `salt`.
    function submitUpdate(
        uint256 taskId,
        uint32 round,
        bytes32 update,
        string calldata cid,
        uint32 numSamples,
        bytes32 salt
    ) external;

    /// @notice Submits (reveals) a dag update built on `parents`, committed by the caller in an
    /// earlier block with `salt`.
    function submitDagUpdate(
        uint256 taskId,
        bytes32[] calldata parents,
        bytes32 update,
        string calldata cid,
        uint32 numSamples,
        bytes32 salt
    ) external;

    /// @notice Scores one update (committee member with VALIDATOR_ROLE).
    function submitScore(uint256 taskId, bytes32 update, int64 score) external;

    /// @notice Scores several updates of a task in one transaction. Updates the other members
    /// decided since the batch was prepared are skipped, so a batch does not fail on that race;
    /// every other check (membership, double score, deadline, unknown update) still reverts.
    function submitScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores) external;

    /// @notice A committee member's revealed score, forwarded by the score commitments contract
    /// (which checked the member's commitment and the reveal window): counted as `submitScore`.
    function submitScoreFor(uint256 taskId, bytes32 update, address validator, int64 score) external;

    /// @notice Last block (exclusive) a commit-reveal task's members commit their score of
    /// `update`: scoring opens for the update's round (federation: when submissions close; dag:
    /// at submission) plus the task's commitWindow. Reveals follow until the scoring deadline.
    function commitDeadline(uint256 taskId, bytes32 update) external view returns (uint256);

    /// @notice What `account` earned in a task so far: as a provider, its updates accepted and
    /// rejected; as a validator, its scores on the side of the decision (an accepted update it
    /// passed, a rejected one it failed), and its scores on the other side (`disagreed`). Expired
    /// updates count for nobody.
    function creditOf(uint256 taskId, address account)
        external
        view
        returns (uint32 accepted, uint32 rejected, uint32 agreed, uint32 disagreed);

    /// @notice The task's accepted and rejected updates (`creditOf` summed over its providers; its
    /// committee's scores are the sums of `creditOf` over the committee).
    function creditTotals(uint256 taskId) external view returns (uint32 accepted, uint32 rejected);

    /// @notice Decides pending updates whose scoring deadline has passed (any participant): with at
    /// least quorum scores by the decision rule, with fewer only once the scoring extension ended
    /// (then Expired). Entries already decided are skipped.
    function settleUpdates(uint256 taskId, bytes32[] calldata updates) external;

    /// @notice The commitment a provider makes before revealing `update` with `salt`.
    function updateCommitment(uint256 taskId, address provider, bytes32 update, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice Block in which `provider` made `commitment` (0: never, or already revealed).
    /// Commitments are kept per provider: nobody can pre-empt or reset another's.
    function commitmentBlock(address provider, bytes32 commitment) external view returns (uint256);

    /// @notice The stored state of an update (status None when unknown).
    function getUpdate(uint256 taskId, bytes32 update) external view returns (UpdateInfo memory);

    /// @notice Block from which the update can no longer be scored once it has quorum scores
    /// (federation: the round's, which moves while the round's submission window extends).
    function scoreDeadline(uint256 taskId, bytes32 update) external view returns (uint256);

    /// @notice Whether `provider` joined the task, and the last federation round it submitted in
    /// (dag: its number of undecided updates).
    function participation(uint256 taskId, address provider) external view returns (bool joined, uint32 lastRound);

    /// @notice Whether these bytes were already used in the ledger (initial weights, a finalized
    /// aggregate, or an update of any task).
    function contentUsed(bytes32 contentHash) external view returns (bool);
}
