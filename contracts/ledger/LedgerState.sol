// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {ILedgerAccess} from "../interfaces/ILedgerAccess.sol";

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
    uint256 internal constant MAX_COMMITTEE = 32;

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
        // slot 1
        int64 threshold;
        uint32 roundLength;
        uint32 scoreWindow;
        uint32 maxRounds;
        uint32 currentRound;
        uint64 publishedBlock;
        // slots 2, 3
        bytes32 modelSpecHash;
        bytes32 initialWeightsHash;
    }

    struct Update {
        address provider;
        uint32 round; // federation: round; dag: submission block
        uint8 status;
        uint8 passCount;
        uint8 scoreCount;
        uint32 scoredMask;
    }

    struct Round {
        uint64 startBlock;
        uint32 pendingCount;
        uint32 acceptedCount;
        uint32 attestedMask;
        bool finalized;
        bytes32 baseModelHash;
        bytes32 acceptedDigest;
        bytes32 resultHash;
    }

    struct Proposal {
        address proposer;
        uint8 attestations;
    }

    IConsortium internal immutable _consortium;

    uint256 internal _taskCount;
    mapping(uint256 taskId => Task) internal _tasks;
    mapping(uint256 taskId => address[]) internal _committees;
    mapping(uint256 taskId => bytes32[]) internal _fragmentHashes;
    mapping(uint256 taskId => mapping(address validator => uint256)) internal _committeeSlot; // index + 1
    mapping(uint256 taskId => mapping(bytes32 update => Update)) internal _updates;
    mapping(uint256 taskId => mapping(address provider => uint32)) internal _participation; // last round + 1
    mapping(uint256 taskId => mapping(uint32 round => Round)) internal _rounds;
    mapping(uint256 taskId => mapping(uint32 round => mapping(bytes32 result => Proposal))) internal _proposals;

    constructor(IConsortium consortium_) {
        _consortium = consortium_;
    }

    /// @notice The consortium whose roles this ledger enforces.
    function consortium() external view returns (IConsortium) {
        return _consortium;
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

    /// @dev Checks the caller is a validator on the task's committee and returns its index.
    function _committeeMember(uint256 taskId, address account) internal view returns (uint256) {
        _requireRole(VALIDATOR_ROLE, account);
        uint256 slot = _committeeSlot[taskId][account];
        if (slot == 0) revert LedgerNotCommitteeMember(taskId, account);
        return slot - 1;
    }
}
