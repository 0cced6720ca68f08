// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {ILedgerAccess} from "../interfaces/ILedgerAccess.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";

/// @title LedgerState — storage and access checks shared by the parts of the learning ledger
/// @dev Storage is packed for the hot paths: an update is one slot (keyed by its content hash),
/// a score touches the update's slot only (no per-score storage: the decision needs the counts
/// of scores clearing the threshold, not their values, which are in ScoreSubmitted events).
abstract contract LedgerState is ILedgerAccess {
    uint8 internal constant FLOW_FEDERATION = 0;
    uint8 internal constant FLOW_DAG = 1;
    uint8 internal constant STATUS_NONE = 0;
    uint8 internal constant STATUS_PENDING = 1;
    uint8 internal constant STATUS_ACCEPTED = 2;
    uint8 internal constant STATUS_REJECTED = 3;
    uint8 internal constant STATUS_EXPIRED = 4;
    uint8 internal constant STAGE_OPEN = 0;
    uint8 internal constant STAGE_DRAWING = 1;
    uint8 internal constant STAGE_VETTING = 2;
    uint8 internal constant STAGE_REJECTED = 3;
    uint8 internal constant STAGE_EXPIRED = 4;
    /// @dev Committee masks are 24 bits wide (see Update).
    uint256 internal constant MAX_COMMITTEE = 24;
    /// @dev `_participation` of a provider excluded from a task (maxRejections reached).
    uint32 internal constant EXCLUDED = type(uint32).max;
    /// @dev The score a validator gives an invalid (unavailable, malformed) update: never passes.
    int64 internal constant SCORE_INVALID = type(int64).min;

    bytes32 internal constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");
    bytes32 internal constant PROVIDER_ROLE = keccak256("PROVIDER_ROLE");
    bytes32 internal constant VALIDATOR_ROLE = keccak256("VALIDATOR_ROLE");

    struct Task {
        // slot 0
        address publisher;
        uint8 flow;
        uint8 metric;
        uint8 thresholdMode;
        uint8 quorum;
        uint8 maxFaultyValidators;
        uint8 committeeSize;
        uint8 aggregationRule;
        uint8 maxParents;
        uint16 numByzantine;
        bool closed;
        uint8 stage; // open, drawing, vetting, rejected, expired
        // slot 1
        int64 threshold;
        uint32 roundLength;
        uint32 scoreWindow;
        uint32 maxRounds;
        uint32 currentRound;
        uint40 publishedBlock;
        uint16 minUpdates; // read with the round length on every submission and score
        bool scoresCommitted; // commitWindow > 0: scores arrive through the commitments contract
        // slot 2
        uint32 roundExtension;
        uint32 scoreExtension;
        uint32 attestWindow;
        uint16 maxPending;
        uint32 commitWindow;
        uint16 maxRejections;
        bool approved; // vetting approved the task; it opens once the fragments are posted
        bool fragmentsPosted;
        // slots 3, 4
        bytes32 modelSpecHash;
        bytes32 initialWeightsHash;
    }

    /// @dev One slot. The counts of scores are the popcounts of the masks.
    struct Update {
        address provider;
        uint40 round; // federation: round; dag: submission block
        uint8 status;
        uint24 scoredMask; // bit i: committee member i scored
        uint24 passMask; // bit i: committee member i's score cleared the threshold
    }

    /// @dev What an account earned in a task: counted when updates are decided.
    struct Credit {
        uint32 accepted; // provider: its updates accepted
        uint32 rejected; // provider: its updates rejected
        uint32 agreed; // validator: its scores on the same side as the decision
        uint32 disagreed; // validator: its scores on the other side
    }

    struct Round {
        // slot 0
        uint40 startBlock;
        uint40 fullBlock; // block of the minUpdates-th submission (0 until then)
        uint32 submittedCount;
        uint32 pendingCount;
        uint32 acceptedCount;
        uint32 attestedMask;
        uint8 leadingAttestations;
        bool finalized;
        // slots 1-3
        bytes32 baseModelHash;
        bytes32 acceptedDigest;
        bytes32 resultHash;
    }

    struct Proposal {
        address proposer;
        uint8 attestations;
    }

    IConsortium internal immutable _consortium;
    /// @dev Draws committees and runs vetting (zero: tasks name their committee and open at once).
    address internal immutable _vetting;
    /// @dev Forwards revealed scores of commit-reveal tasks (zero: no commit-reveal).
    address internal immutable _scoreCommitments;

    uint256 internal _taskCount;
    mapping(uint256 taskId => Task) internal _tasks;
    mapping(uint256 taskId => address[]) internal _committees;
    mapping(uint256 taskId => bytes32[]) internal _fragmentHashes;
    mapping(uint256 taskId => mapping(address validator => uint256)) internal _committeeSlot; // index + 1
    mapping(uint256 taskId => mapping(bytes32 update => Update)) internal _updates;
    mapping(uint256 taskId => mapping(address provider => uint32)) internal _participation; // last round + 1
    mapping(uint256 taskId => mapping(uint32 round => Round)) internal _rounds;
    mapping(uint256 taskId => mapping(uint32 round => mapping(bytes32 result => Proposal))) internal _proposals;
    mapping(uint256 taskId => mapping(uint32 round => mapping(address account => bool))) internal _proposedBy;
    mapping(address provider => mapping(bytes32 commitment => uint256 blockNumber)) internal _commitments;
    /// @dev Content the ledger has seen as a model: initial weights, updates, finalized aggregates.
    mapping(bytes32 contentHash => bool) internal _usedContent;
    mapping(uint256 taskId => mapping(address account => Credit)) internal _credits;
    mapping(uint256 taskId => Credit) internal _creditTotals; // providers' (accepted, rejected)

    constructor(IConsortium consortium_, address vetting_, address scoreCommitments_) {
        _consortium = consortium_;
        _vetting = vetting_;
        _scoreCommitments = scoreCommitments_;
    }

    /// @notice The consortium whose roles this ledger enforces.
    function consortium() external view returns (IConsortium) {
        return _consortium;
    }

    /// @notice The contract that draws committees and vets tasks (zero: tasks open at publication).
    function vetting() external view returns (address) {
        return _vetting;
    }

    /// @notice The contract that forwards committed-then-revealed scores (zero: none).
    function scoreCommitments() external view returns (address) {
        return _scoreCommitments;
    }

    function _requireRole(bytes32 role, address account) internal view {
        if (!_consortium.hasRole(role, account)) revert LedgerUnauthorizedAccount(account, role);
    }

    function _requireParticipant(address account) internal view {
        if (!_consortium.isParticipant(account)) revert LedgerUnauthorizedAccount(account, bytes32(0));
    }

    function _task(uint256 taskId) internal view returns (Task storage) {
        if (taskId == 0 || taskId > _taskCount) revert LedgerUnknownTask(taskId);
        return _tasks[taskId];
    }

    /// @dev The task, which must be open: not closed (a closed task never changes) and past vetting.
    function _liveTask(uint256 taskId) internal view returns (Task storage t) {
        t = _task(taskId);
        if (t.closed) revert ITaskRegistry.TaskRegistryTaskClosed(taskId);
        if (t.stage != STAGE_OPEN) revert ITaskRegistry.TaskRegistryNotOpen(taskId, ITaskRegistry.Stage(t.stage));
    }

    /// @dev Number of set bits of a committee mask.
    function _popcount(uint24 mask) internal pure returns (uint8 count) {
        uint256 x = mask;
        while (x != 0) {
            x &= x - 1;
            ++count;
        }
    }

    /// @dev Federation: the first block that refuses submissions. roundLength blocks after the
    /// round's start; while fewer than minUpdates arrived, up to roundExtension blocks later: the
    /// block after the minUpdates-th submission. Reads the extension only when minUpdates is set.
    function _submissionsClose(Task storage t, Round storage r) internal view returns (uint256) {
        uint256 base = uint256(r.startBlock) + t.roundLength;
        uint256 minimum = t.minUpdates;
        if (minimum == 0) return base;
        uint256 latest = base + t.roundExtension;
        if (r.submittedCount < minimum) return latest;
        uint256 full = uint256(r.fullBlock) + 1;
        if (full <= base) return base;
        return full < latest ? full : latest;
    }

    /// @dev Federation round deadlines: submissions close, scoring closes (scoreWindow later),
    /// scoring of an update short of a quorum closes (scoreExtension later), attestations are
    /// due (attestWindow later).
    function _roundDeadlines(Task storage t, Round storage r)
        internal
        view
        returns (uint256 submissions, uint256 scoring, uint256 extended, uint256 attestation)
    {
        submissions = _submissionsClose(t, r);
        scoring = submissions + t.scoreWindow;
        extended = scoring + t.scoreExtension;
        attestation = extended + t.attestWindow;
    }

    /// @dev Checks the caller is a validator on the task's committee and returns its index.
    function _committeeMember(uint256 taskId, address account) internal view returns (uint256) {
        _requireRole(VALIDATOR_ROLE, account);
        uint256 slot = _committeeSlot[taskId][account];
        if (slot == 0) revert LedgerNotCommitteeMember(taskId, account);
        return slot - 1;
    }
}
