// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../interfaces/IUpdateLedger.sol";
import {LedgerState} from "./LedgerState.sol";

/// @title UpdateLedger — updates, scores and the committee's decision
abstract contract UpdateLedger is LedgerState, IUpdateLedger {
    /// @inheritdoc IUpdateLedger
    function joinTask(uint256 taskId) external {
        _requireRole(PROVIDER_ROLE, msg.sender);
        Task storage t = _task(taskId);
        if (t.closed) revert ITaskRegistry.TaskRegistryTaskClosed(taskId);
        if (_participation[taskId][msg.sender] != 0) revert UpdateLedgerAlreadyJoined(taskId, msg.sender);
        if (_committeeSlot[taskId][msg.sender] != 0) revert UpdateLedgerCommitteeMember(taskId, msg.sender);
        _participation[taskId][msg.sender] = 1;
        emit ProviderJoined(taskId, msg.sender);
    }

    /// @inheritdoc IUpdateLedger
    function submitUpdate(uint256 taskId, uint32 round, bytes32 update, string calldata cid, uint32 numSamples)
        external
    {
        // The hot path of the ledger (gas target 75k): every slot is read once, the new
        // update is written with one SSTORE. A replay of the round's base model is left to the
        // committee (it scores no better than the base model), saving a cold read.
        _requireRole(PROVIDER_ROLE, msg.sender);
        Task storage t = _openTask(taskId, FLOW_FEDERATION);
        uint32 current = t.currentRound;
        uint256 roundLength = t.roundLength;
        if (round != current) revert UpdateLedgerWrongRound(taskId, round, current);
        Round storage r = _rounds[taskId][round];
        uint256 closesAt = r.startBlock + roundLength;
        if (block.number >= closesAt) revert UpdateLedgerSubmissionClosed(taskId, round, closesAt);
        mapping(address => uint32) storage joinedRound = _participation[taskId];
        uint32 joined = joinedRound[msg.sender];
        if (joined == 0) revert UpdateLedgerNotJoined(taskId, msg.sender);
        if (joined > round) revert UpdateLedgerAlreadySubmitted(taskId, round, msg.sender);
        Update storage u = _checkNew(taskId, update, numSamples);
        joinedRound[msg.sender] = round + 1;
        r.pendingCount += 1;
        _storeNew(u, round);
        emit UpdateSubmitted(taskId, update, msg.sender, round, numSamples, cid, new bytes32[](0));
    }

    /// @inheritdoc IUpdateLedger
    function submitDagUpdate(
        uint256 taskId,
        bytes32[] calldata parents,
        bytes32 update,
        string calldata cid,
        uint32 numSamples
    ) external {
        _requireRole(PROVIDER_ROLE, msg.sender);
        Task storage t = _openTask(taskId, FLOW_DAG);
        if (_participation[taskId][msg.sender] == 0) revert UpdateLedgerNotJoined(taskId, msg.sender);
        if (parents.length == 0 || parents.length > t.maxParents) {
            revert UpdateLedgerParentCount(taskId, parents.length, t.maxParents);
        }
        bytes32 initial = t.initialWeightsHash;
        for (uint256 i = 0; i < parents.length; ++i) {
            bytes32 parent = parents[i];
            bool valid = parent == initial || _updates[taskId][parent].status == STATUS_ACCEPTED;
            for (uint256 j = 0; valid && j < i; ++j) {
                valid = parents[j] != parent;
            }
            if (!valid) revert UpdateLedgerInvalidParent(taskId, parent);
        }
        if (update == initial) revert UpdateLedgerDuplicateContent(taskId, update);
        Update storage u = _checkNew(taskId, update, numSamples);
        uint32 submittedAt = uint32(block.number);
        _storeNew(u, submittedAt);
        emit UpdateSubmitted(taskId, update, msg.sender, submittedAt, numSamples, cid, parents);
    }

    /// @inheritdoc IUpdateLedger
    function submitScore(uint256 taskId, bytes32 update, int64 score) external {
        Task storage t = _task(taskId);
        uint256 member = _committeeMember(taskId, msg.sender);
        _score(taskId, t, member, update, score);
    }

    /// @inheritdoc IUpdateLedger
    function submitScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores) external {
        if (updates.length != scores.length) revert UpdateLedgerLengthMismatch(updates.length, scores.length);
        Task storage t = _task(taskId);
        uint256 member = _committeeMember(taskId, msg.sender);
        for (uint256 i = 0; i < updates.length; ++i) {
            uint8 status = _updates[taskId][updates[i]].status;
            // Decided by the other members since the batch was prepared: nothing left to score.
            if (status == STATUS_ACCEPTED || status == STATUS_REJECTED) continue;
            _score(taskId, t, member, updates[i], scores[i]);
        }
    }

    /// @inheritdoc IUpdateLedger
    function settleUpdates(uint256 taskId, bytes32[] calldata updates) external {
        _requireParticipant(msg.sender);
        Task storage t = _task(taskId);
        for (uint256 i = 0; i < updates.length; ++i) {
            bytes32 update = updates[i];
            Update memory u = _pendingUpdate(taskId, update);
            uint256 deadline = _scoreDeadline(taskId, t, u);
            if (block.number < deadline) revert UpdateLedgerScoringOpen(taskId, update, deadline);
            // Lower median of the received scores clears the threshold iff more than half of them
            // do; more than f of them must clear it, so that at least one honest member approved.
            bool accepted = u.scoreCount >= t.quorum && u.passCount >= u.scoreCount / 2 + 1
                && u.passCount > t.maxFaultyValidators;
            u.status = accepted ? STATUS_ACCEPTED : STATUS_REJECTED;
            _updates[taskId][update] = u;
            _onDecided(taskId, t, update, u);
        }
    }

    /// @inheritdoc IUpdateLedger
    function getUpdate(uint256 taskId, bytes32 update) external view returns (UpdateInfo memory) {
        Update storage u = _updates[taskId][update];
        return UpdateInfo(u.provider, u.round, Status(u.status), u.passCount, u.scoreCount, u.scoredMask);
    }

    /// @inheritdoc IUpdateLedger
    function scoreDeadline(uint256 taskId, bytes32 update) external view returns (uint256) {
        Task storage t = _task(taskId);
        Update memory u = _updates[taskId][update];
        if (u.status == STATUS_NONE) revert UpdateLedgerUnknownUpdate(taskId, update);
        return _scoreDeadline(taskId, t, u);
    }

    /// @inheritdoc IUpdateLedger
    function participation(uint256 taskId, address provider) external view returns (bool, uint32) {
        uint32 value = _participation[taskId][provider];
        return (value != 0, value == 0 ? 0 : value - 1);
    }

    function _openTask(uint256 taskId, uint8 flow) private view returns (Task storage t) {
        t = _task(taskId);
        if (t.flow != flow) revert UpdateLedgerWrongFlow(taskId, t.flow);
        if (t.closed) revert ITaskRegistry.TaskRegistryTaskClosed(taskId);
    }

    function _checkNew(uint256 taskId, bytes32 update, uint32 numSamples) private view returns (Update storage u) {
        if (update == bytes32(0) || numSamples == 0) revert UpdateLedgerInvalidUpdate(taskId, update, numSamples);
        u = _updates[taskId][update];
        if (u.status != STATUS_NONE) revert UpdateLedgerDuplicateContent(taskId, update);
    }

    /// @dev Writes a new pending update of the caller in one SSTORE. Layout of `Update`
    /// (low to high bits): provider (160), round (32), status (8), passCount, scoreCount (8
    /// each), scoredMask (32); a new update has zero counts and mask.
    function _storeNew(Update storage u, uint32 round) private {
        uint256 packed = uint256(uint160(msg.sender)) | (uint256(round) << 160) | (uint256(STATUS_PENDING) << 192);
        assembly ("memory-safe") {
            sstore(u.slot, packed)
        }
    }

    function _pendingUpdate(uint256 taskId, bytes32 update) private view returns (Update memory u) {
        u = _updates[taskId][update];
        if (u.status == STATUS_NONE) revert UpdateLedgerUnknownUpdate(taskId, update);
        if (u.status != STATUS_PENDING) revert UpdateLedgerAlreadyDecided(taskId, update, Status(u.status));
    }

    function _score(uint256 taskId, Task storage t, uint256 member, bytes32 update, int64 score) private {
        Update memory u = _pendingUpdate(taskId, update);
        uint32 bit = uint32(1 << member);
        if (u.scoredMask & bit != 0) revert UpdateLedgerAlreadyScored(taskId, update, msg.sender);
        uint256 deadline = _scoreDeadline(taskId, t, u);
        if (block.number >= deadline) revert UpdateLedgerScoringClosed(taskId, update, deadline);
        u.scoredMask |= bit;
        u.scoreCount += 1;
        if (score >= t.threshold) u.passCount += 1;
        emit ScoreSubmitted(taskId, update, msg.sender, score);
        // Decided once the median over the whole committee is settled whatever the rest score.
        uint256 majority = uint256(t.committeeSize) / 2 + 1;
        if (u.passCount >= majority) {
            u.status = STATUS_ACCEPTED;
        } else if (u.scoreCount - u.passCount > t.committeeSize - majority) {
            u.status = STATUS_REJECTED;
        }
        _updates[taskId][update] = u;
        if (u.status != STATUS_PENDING) _onDecided(taskId, t, update, u);
    }

    function _scoreDeadline(uint256 taskId, Task storage t, Update memory u) private view returns (uint256) {
        if (t.flow == FLOW_DAG) return uint256(u.round) + t.scoreWindow;
        return uint256(_rounds[taskId][u.round].startBlock) + t.roundLength + t.scoreWindow;
    }

    function _onDecided(uint256 taskId, Task storage t, bytes32 update, Update memory u) private {
        bool accepted = u.status == STATUS_ACCEPTED;
        if (t.flow == FLOW_FEDERATION) {
            Round storage r = _rounds[taskId][u.round];
            r.pendingCount -= 1;
            if (accepted) {
                r.acceptedCount += 1;
                r.acceptedDigest = keccak256(abi.encode(r.acceptedDigest, update));
            }
        }
        if (accepted) emit UpdateAccepted(taskId, update, u.round, u.passCount, u.scoreCount);
        else emit UpdateRejected(taskId, update, u.round, u.passCount, u.scoreCount);
    }
}
