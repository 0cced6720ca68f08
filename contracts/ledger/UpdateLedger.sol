// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IUpdateLedger} from "../interfaces/IUpdateLedger.sol";
import {LedgerState} from "./LedgerState.sol";

/// @title UpdateLedger — updates (committed, then revealed), scores and the committee's decision
abstract contract UpdateLedger is LedgerState, IUpdateLedger {
    /// @inheritdoc IUpdateLedger
    function joinTask(uint256 taskId) external {
        _requireRole(PROVIDER_ROLE, msg.sender);
        _liveTask(taskId);
        if (_participation[taskId][msg.sender] != 0) revert UpdateLedgerAlreadyJoined(taskId, msg.sender);
        if (_committeeSlot[taskId][msg.sender] != 0) revert UpdateLedgerCommitteeMember(taskId, msg.sender);
        _participation[taskId][msg.sender] = 1;
        emit ProviderJoined(taskId, msg.sender);
    }

    /// @inheritdoc IUpdateLedger
    function commitUpdate(uint256 taskId, bytes32 commitment) external {
        _requireRole(PROVIDER_ROLE, msg.sender);
        _liveTask(taskId);
        if (_participation[taskId][msg.sender] == 0) revert UpdateLedgerNotJoined(taskId, msg.sender);
        mapping(bytes32 => uint256) storage mine = _commitments[msg.sender];
        if (commitment == bytes32(0) || mine[commitment] != 0) revert UpdateLedgerInvalidCommitment(taskId, commitment);
        mine[commitment] = block.number;
        emit UpdateCommitted(taskId, msg.sender, commitment);
    }

    /// @inheritdoc IUpdateLedger
    function submitUpdate(
        uint256 taskId,
        uint32 round,
        bytes32 update,
        string calldata cid,
        uint32 numSamples,
        bytes32 salt
    ) external {
        _requireRole(PROVIDER_ROLE, msg.sender);
        Task storage t = _openTask(taskId, FLOW_FEDERATION);
        uint32 current = t.currentRound;
        if (round != current) revert UpdateLedgerWrongRound(taskId, round, current);
        Round storage r = _rounds[taskId][round];
        uint256 closesAt = _submissionsClose(t, r);
        if (block.number >= closesAt) revert UpdateLedgerSubmissionClosed(taskId, round, closesAt);
        mapping(address => uint32) storage joinedRound = _participation[taskId];
        uint32 joined = joinedRound[msg.sender];
        if (joined == 0) revert UpdateLedgerNotJoined(taskId, msg.sender);
        if (joined == EXCLUDED) revert UpdateLedgerProviderExcluded(taskId, msg.sender, t.maxRejections);
        if (joined > round) revert UpdateLedgerAlreadySubmitted(taskId, round, msg.sender);
        Update storage u = _reveal(taskId, update, numSamples, salt);
        joinedRound[msg.sender] = round + 1;
        uint32 submitted = r.submittedCount + 1;
        r.submittedCount = submitted;
        if (submitted == t.minUpdates) r.fullBlock = uint40(block.number);
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
        uint32 numSamples,
        bytes32 salt
    ) external {
        _requireRole(PROVIDER_ROLE, msg.sender);
        Task storage t = _openTask(taskId, FLOW_DAG);
        uint32 joined = _participation[taskId][msg.sender]; // 1 + the provider's undecided updates
        if (joined == 0) revert UpdateLedgerNotJoined(taskId, msg.sender);
        if (joined == EXCLUDED) revert UpdateLedgerProviderExcluded(taskId, msg.sender, t.maxRejections);
        if (joined - 1 >= t.maxPending) {
            revert UpdateLedgerTooManyPending(taskId, msg.sender, joined - 1, t.maxPending);
        }
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
        Update storage u = _reveal(taskId, update, numSamples, salt);
        _participation[taskId][msg.sender] = joined + 1;
        uint40 submittedAt = uint40(block.number);
        _storeNew(u, submittedAt);
        emit UpdateSubmitted(taskId, update, msg.sender, submittedAt, numSamples, cid, parents);
    }

    /// @inheritdoc IUpdateLedger
    function submitScore(uint256 taskId, bytes32 update, int64 score) external {
        Task storage t = _liveTask(taskId);
        if (t.scoresCommitted) revert UpdateLedgerScoresCommitted(taskId);
        uint256 member = _committeeMember(taskId, msg.sender);
        _score(taskId, t, member, msg.sender, update, score);
    }

    /// @inheritdoc IUpdateLedger
    function submitScoreFor(uint256 taskId, bytes32 update, address validator, int64 score) external {
        if (msg.sender != _scoreCommitments || msg.sender == address(0)) {
            revert UpdateLedgerNotScoreCommitments(msg.sender);
        }
        Task storage t = _liveTask(taskId);
        uint256 member = _committeeMember(taskId, validator);
        _score(taskId, t, member, validator, update, score);
    }

    /// @inheritdoc IUpdateLedger
    function submitScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores) external {
        if (updates.length != scores.length) revert UpdateLedgerLengthMismatch(updates.length, scores.length);
        Task storage t = _liveTask(taskId);
        if (t.scoresCommitted) revert UpdateLedgerScoresCommitted(taskId);
        uint256 member = _committeeMember(taskId, msg.sender);
        for (uint256 i = 0; i < updates.length; ++i) {
            uint8 status = _updates[taskId][updates[i]].status;
            // Decided by the other members since the batch was prepared: nothing left to score.
            if (status > STATUS_PENDING) continue;
            _score(taskId, t, member, msg.sender, updates[i], scores[i]);
        }
    }

    /// @inheritdoc IUpdateLedger
    function settleUpdates(uint256 taskId, bytes32[] calldata updates) external {
        _requireParticipant(msg.sender);
        Task storage t = _liveTask(taskId);
        for (uint256 i = 0; i < updates.length; ++i) {
            bytes32 update = updates[i];
            Update memory u = _updates[taskId][update];
            if (u.status == STATUS_NONE) revert UpdateLedgerUnknownUpdate(taskId, update);
            if (u.status != STATUS_PENDING) continue; // settled since the batch was prepared
            uint256 deadline = _scoreDeadline(taskId, t, u);
            if (block.number < deadline) revert UpdateLedgerScoringOpen(taskId, update, deadline);
            uint8 scoreCount = _popcount(u.scoredMask);
            uint8 passCount = _popcount(u.passMask);
            if (scoreCount < t.quorum) {
                // Too few scores: the committee could not judge it. Scoring stays open for the
                // extension; after it, the update expires (no credit, no blame).
                uint256 extended = deadline + t.scoreExtension;
                if (block.number < extended) revert UpdateLedgerScoringOpen(taskId, update, extended);
                u.status = STATUS_EXPIRED;
            } else {
                // Lower median of the received scores clears the threshold iff more than half of
                // them do; more than f of them must clear it, so that at least one honest member
                // approved.
                bool accepted = passCount >= scoreCount / 2 + 1 && passCount > t.maxFaultyValidators;
                u.status = accepted ? _acceptable(u.provider) : STATUS_REJECTED;
            }
            _updates[taskId][update] = u;
            _onDecided(taskId, t, update, u);
        }
    }

    /// @inheritdoc IUpdateLedger
    function updateCommitment(uint256 taskId, address provider, bytes32 update, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, provider, update, salt));
    }

    /// @inheritdoc IUpdateLedger
    function commitmentBlock(address provider, bytes32 commitment) external view returns (uint256) {
        return _commitments[provider][commitment];
    }

    /// @inheritdoc IUpdateLedger
    function getUpdate(uint256 taskId, bytes32 update) external view returns (UpdateInfo memory) {
        Update storage u = _updates[taskId][update];
        return UpdateInfo(
            u.provider, u.round, Status(u.status), _popcount(u.passMask), _popcount(u.scoredMask), u.scoredMask
        );
    }

    /// @inheritdoc IUpdateLedger
    function commitDeadline(uint256 taskId, bytes32 update) external view returns (uint256) {
        Task storage t = _task(taskId);
        Update memory u = _updates[taskId][update];
        if (u.status == STATUS_NONE) revert UpdateLedgerUnknownUpdate(taskId, update);
        return _scoreDeadline(taskId, t, u) - t.scoreWindow + t.commitWindow;
    }

    /// @inheritdoc IUpdateLedger
    function creditOf(uint256 taskId, address account)
        external
        view
        returns (uint32 accepted, uint32 rejected, uint32 agreed, uint32 disagreed)
    {
        Credit storage c = _credits[taskId][account];
        return (c.accepted, c.rejected, c.agreed, c.disagreed);
    }

    /// @inheritdoc IUpdateLedger
    function creditTotals(uint256 taskId) external view returns (uint32 accepted, uint32 rejected) {
        Credit storage c = _creditTotals[taskId];
        return (c.accepted, c.rejected);
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

    /// @inheritdoc IUpdateLedger
    function contentUsed(bytes32 contentHash) external view returns (bool) {
        return _usedContent[contentHash];
    }

    function _openTask(uint256 taskId, uint8 flow) private view returns (Task storage t) {
        t = _liveTask(taskId);
        if (t.flow != flow) revert UpdateLedgerWrongFlow(taskId, t.flow);
    }

    /// @dev Checks a reveal: the caller committed to (task, caller, update, salt) in an earlier
    /// block, and the content is new to the whole ledger. Consumes the commitment and marks the
    /// content used. Returns the update's (empty) slot.
    function _reveal(uint256 taskId, bytes32 update, uint32 numSamples, bytes32 salt)
        private
        returns (Update storage u)
    {
        if (update == bytes32(0) || numSamples == 0) revert UpdateLedgerInvalidUpdate(taskId, update, numSamples);
        bytes32 commitment = updateCommitment(taskId, msg.sender, update, salt);
        mapping(bytes32 => uint256) storage mine = _commitments[msg.sender];
        uint256 committedAt = mine[commitment];
        if (committedAt == 0) revert UpdateLedgerNotCommitted(taskId, msg.sender, commitment);
        if (committedAt >= block.number) revert UpdateLedgerCommitTooRecent(taskId, commitment, committedAt);
        u = _updates[taskId][update];
        if (u.status != STATUS_NONE) revert UpdateLedgerDuplicateContent(taskId, update);
        if (_usedContent[update]) revert UpdateLedgerReplayedModel(taskId, update);
        delete mine[commitment];
        _usedContent[update] = true;
    }

    /// @dev Writes a new pending update of the caller in one SSTORE. Layout of `Update`
    /// (low to high bits): provider (160), round (40), status (8), scoredMask, passMask (24
    /// each); a new update has empty masks.
    function _storeNew(Update storage u, uint40 round) private {
        uint256 packed = uint256(uint160(msg.sender)) | (uint256(round) << 160) | (uint256(STATUS_PENDING) << 200);
        assembly ("memory-safe") {
            sstore(u.slot, packed)
        }
    }

    function _pendingUpdate(uint256 taskId, bytes32 update) private view returns (Update memory u) {
        u = _updates[taskId][update];
        if (u.status == STATUS_NONE) revert UpdateLedgerUnknownUpdate(taskId, update);
        if (u.status != STATUS_PENDING) revert UpdateLedgerAlreadyDecided(taskId, update, Status(u.status));
    }

    function _score(uint256 taskId, Task storage t, uint256 member, address validator, bytes32 update, int64 score)
        private
    {
        Update memory u = _pendingUpdate(taskId, update);
        uint24 bit = uint24(1 << member);
        if (u.scoredMask & bit != 0) revert UpdateLedgerAlreadyScored(taskId, update, validator);
        uint256 deadline = _scoreDeadline(taskId, t, u);
        uint8 scoreCount = _popcount(u.scoredMask);
        if (block.number >= deadline) {
            // Late: only while the update still lacks a quorum, until the end of the extension.
            uint256 extended = deadline + t.scoreExtension;
            if (scoreCount >= t.quorum || block.number >= extended) {
                revert UpdateLedgerScoringClosed(taskId, update, scoreCount >= t.quorum ? deadline : extended);
            }
        }
        u.scoredMask |= bit;
        scoreCount += 1;
        if (score != SCORE_INVALID && score >= t.threshold) u.passMask |= bit;
        uint8 passCount = _popcount(u.passMask);
        emit ScoreSubmitted(taskId, update, validator, score);
        // Decided once the median over the whole committee is settled whatever the rest score.
        uint256 majority = uint256(t.committeeSize) / 2 + 1;
        if (passCount >= majority) {
            u.status = _acceptable(u.provider);
        } else if (scoreCount - passCount > t.committeeSize - majority) {
            u.status = STATUS_REJECTED;
        }
        _updates[taskId][update] = u;
        if (u.status != STATUS_PENDING) _onDecided(taskId, t, update, u);
    }

    /// @dev Accepted, unless the provider lost PROVIDER_ROLE since it submitted (revocation is
    /// immediate: a revoked provider's pending update gets no credit).
    function _acceptable(address provider) private view returns (uint8) {
        return _consortium.hasRole(PROVIDER_ROLE, provider) ? STATUS_ACCEPTED : STATUS_REJECTED;
    }

    function _scoreDeadline(uint256 taskId, Task storage t, Update memory u) private view returns (uint256) {
        if (t.flow == FLOW_DAG) return uint256(u.round) + t.scoreWindow;
        // The round an update was submitted in is the current one until every update is decided.
        return _submissionsClose(t, _rounds[taskId][uint32(u.round)]) + t.scoreWindow;
    }

    function _onDecided(uint256 taskId, Task storage t, bytes32 update, Update memory u) private {
        uint8 status = u.status;
        uint8 passCount = _popcount(u.passMask);
        uint8 scoreCount = _popcount(u.scoredMask);
        if (status != STATUS_EXPIRED) _credit(taskId, t, u);
        if (t.flow == FLOW_FEDERATION) {
            Round storage r = _rounds[taskId][uint32(u.round)];
            r.pendingCount -= 1;
            if (status == STATUS_ACCEPTED) {
                r.acceptedCount += 1;
                r.acceptedDigest = keccak256(abi.encode(r.acceptedDigest, update));
            }
        } else {
            mapping(address => uint32) storage joined = _participation[taskId];
            if (joined[u.provider] != EXCLUDED) joined[u.provider] -= 1; // one undecided update fewer
        }
        if (status == STATUS_ACCEPTED) emit UpdateAccepted(taskId, update, u.round, passCount, scoreCount);
        else if (status == STATUS_REJECTED) emit UpdateRejected(taskId, update, u.round, passCount, scoreCount);
        else emit UpdateExpired(taskId, update, u.round, scoreCount);
    }

    /// @dev Credits a decided (accepted or rejected) update: its provider, and every member that
    /// scored it, on the side of the decision or against it. Excludes the provider at
    /// maxRejections rejections.
    function _credit(uint256 taskId, Task storage t, Update memory u) private {
        bool accepted = u.status == STATUS_ACCEPTED;
        Credit storage total = _creditTotals[taskId];
        Credit storage provider = _credits[taskId][u.provider];
        if (accepted) {
            provider.accepted += 1;
            total.accepted += 1;
        } else {
            uint32 rejections = provider.rejected + 1;
            provider.rejected = rejections;
            total.rejected += 1;
            uint16 limit = t.maxRejections;
            if (limit != 0 && rejections == limit) {
                _participation[taskId][u.provider] = EXCLUDED;
                emit ProviderExcluded(taskId, u.provider, rejections);
            }
        }
        // On the side of the decision: passed an accepted update, or failed a rejected one.
        uint24 scored = u.scoredMask;
        uint24 agreeing = accepted ? u.passMask : scored & ~u.passMask;
        address[] storage members = _committees[taskId];
        for (uint256 i = 0; scored != 0; ++i) {
            if (scored & 1 != 0) {
                Credit storage member = _credits[taskId][members[i]];
                if (agreeing & 1 != 0) member.agreed += 1;
                else member.disagreed += 1;
            }
            scored >>= 1;
            agreeing >>= 1;
        }
    }
}
