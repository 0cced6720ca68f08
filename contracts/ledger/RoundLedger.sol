// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {IRoundLedger} from "../interfaces/IRoundLedger.sol";
import {IUpdateLedger} from "../interfaces/IUpdateLedger.sol";
import {LedgerState} from "./LedgerState.sol";

/// @title RoundLedger — federation rounds: proposals, attestations, finalization, deadline fallback
abstract contract RoundLedger is LedgerState, IRoundLedger {
    /// @inheritdoc IRoundLedger
    function proposeAggregate(
        uint256 taskId,
        uint32 round,
        bytes32[] calldata updates,
        bytes32 resultHash,
        string calldata cid
    ) external {
        _requireParticipant(msg.sender);
        (Task storage t, Round storage r) = _currentRound(taskId, round);
        uint256 submissionsClose = _submissionsClose(t, r);
        uint256 scoringCloses = submissionsClose + t.scoreWindow;
        if (block.number < submissionsClose || (r.pendingCount > 0 && block.number < scoringCloses)) {
            uint256 openUntil = block.number < submissionsClose ? submissionsClose : scoringCloses;
            revert RoundLedgerRoundOpen(taskId, round, openUntil, r.pendingCount);
        }
        if (r.pendingCount > 0) revert RoundLedgerPendingUpdates(taskId, round, r.pendingCount);
        bytes32 digest = bytes32(0);
        for (uint256 i = 0; i < updates.length; ++i) {
            digest = keccak256(abi.encode(digest, updates[i]));
        }
        if (digest != r.acceptedDigest) {
            revert RoundLedgerIncludedMismatch(taskId, round, r.acceptedDigest, digest);
        }
        if (r.acceptedCount == 0) {
            // Nothing to aggregate: the round keeps its base model, no attestation needed.
            if (resultHash != r.baseModelHash) revert RoundLedgerInvalidProposal(taskId, round, resultHash);
            _emitProposed(taskId, t, round, updates, resultHash, cid);
            _finalize(taskId, t, round, r, resultHash);
            return;
        }
        if (resultHash == bytes32(0)) revert RoundLedgerInvalidProposal(taskId, round, resultHash);
        // One proposal (or added CID) per account and round: a flood is bounded by the members.
        mapping(address => bool) storage proposed = _proposedBy[taskId][round];
        if (proposed[msg.sender]) revert RoundLedgerAlreadyProposed(taskId, round, msg.sender);
        proposed[msg.sender] = true;
        Proposal storage p = _proposals[taskId][round][resultHash];
        if (p.proposer != address(0)) {
            // The result is keyed by its content hash, not by the first CID named for it: a CID
            // that points to nothing cannot block the round, anyone may name another.
            emit AggregateCidAdded(taskId, round, resultHash, msg.sender, cid);
            return;
        }
        p.proposer = msg.sender;
        _emitProposed(taskId, t, round, updates, resultHash, cid);
    }

    /// @inheritdoc IRoundLedger
    function attestAggregate(uint256 taskId, uint32 round, bytes32 resultHash, string calldata cid) external {
        _task(taskId); // an unknown task is reported as such, before membership
        uint256 member = _committeeMember(taskId, msg.sender);
        (Task storage t, Round storage r) = _currentRound(taskId, round);
        Proposal storage p = _proposals[taskId][round][resultHash];
        if (p.proposer == address(0)) revert RoundLedgerUnknownProposal(taskId, round, resultHash);
        uint32 bit = uint32(1 << member);
        if (r.attestedMask & bit != 0) revert RoundLedgerAlreadyAttested(taskId, round, msg.sender);
        r.attestedMask |= bit;
        uint8 attestations = p.attestations + 1;
        p.attestations = attestations;
        if (attestations > r.leadingAttestations) r.leadingAttestations = attestations;
        emit AggregateAttested(taskId, round, resultHash, msg.sender, cid);
        if (attestations >= t.quorum) _finalize(taskId, t, round, r, resultHash);
    }

    /// @inheritdoc IRoundLedger
    function closeRound(uint256 taskId, uint32 round, bytes32 resultHash) external {
        _requireParticipant(msg.sender);
        (Task storage t, Round storage r) = _currentRound(taskId, round);
        (,,, uint256 attestationClose) = _roundDeadlines(t, r);
        if (block.number < attestationClose) revert RoundLedgerAttestationOpen(taskId, round, attestationClose);
        if (r.pendingCount > 0) revert RoundLedgerPendingUpdates(taskId, round, r.pendingCount);
        uint8 leading = r.leadingAttestations;
        bytes32 result = r.baseModelHash;
        if (r.acceptedCount > 0 && leading > t.maxFaultyValidators) {
            // More than f attestations: at least one honest member recomputed this result.
            uint8 attestations = _proposals[taskId][round][resultHash].attestations;
            if (attestations != leading) {
                revert RoundLedgerNotLeading(taskId, round, resultHash, attestations, leading);
            }
            result = resultHash;
        }
        emit RoundClosedAtDeadline(taskId, round, result, leading, result == r.baseModelHash);
        _finalize(taskId, t, round, r, result);
    }

    /// @inheritdoc IRoundLedger
    function getRound(uint256 taskId, uint32 round) external view returns (RoundInfo memory) {
        _task(taskId);
        Round storage r = _rounds[taskId][round];
        return RoundInfo(
            r.startBlock,
            r.pendingCount,
            r.acceptedCount,
            r.attestedMask,
            r.finalized,
            r.baseModelHash,
            r.acceptedDigest,
            r.resultHash,
            r.submittedCount,
            r.leadingAttestations
        );
    }

    /// @inheritdoc IRoundLedger
    function getProposal(uint256 taskId, uint32 round, bytes32 resultHash) external view returns (address, uint8) {
        Proposal storage p = _proposals[taskId][round][resultHash];
        return (p.proposer, p.attestations);
    }

    /// @inheritdoc IRoundLedger
    function roundDeadlines(uint256 taskId, uint32 round)
        external
        view
        returns (uint256, uint256, uint256, uint256)
    {
        Task storage t = _task(taskId);
        if (t.flow != FLOW_FEDERATION) revert IUpdateLedger.UpdateLedgerWrongFlow(taskId, t.flow);
        if (round == 0 || round > t.currentRound) revert RoundLedgerNotCurrentRound(taskId, round, t.currentRound);
        return _roundDeadlines(t, _rounds[taskId][round]);
    }

    function _emitProposed(
        uint256 taskId,
        Task storage t,
        uint32 round,
        bytes32[] calldata updates,
        bytes32 resultHash,
        string calldata cid
    ) private {
        emit AggregateProposed(taskId, round, resultHash, msg.sender, cid, updates, t.aggregationRule, t.numByzantine);
    }

    function _currentRound(uint256 taskId, uint32 round) private view returns (Task storage t, Round storage r) {
        t = _liveTask(taskId);
        if (t.flow != FLOW_FEDERATION) revert IUpdateLedger.UpdateLedgerWrongFlow(taskId, t.flow);
        if (round != t.currentRound) revert RoundLedgerNotCurrentRound(taskId, round, t.currentRound);
        r = _rounds[taskId][round];
    }

    function _finalize(uint256 taskId, Task storage t, uint32 round, Round storage r, bytes32 resultHash) private {
        r.finalized = true;
        r.resultHash = resultHash;
        _usedContent[resultHash] = true; // no update may replay a global model
        emit RoundFinalized(taskId, round, resultHash, r.acceptedCount);
        if (round >= t.maxRounds) {
            t.closed = true;
            emit ITaskRegistry.TaskClosed(taskId, msg.sender, resultHash);
            return;
        }
        uint32 next = round + 1;
        t.currentRound = next;
        Round storage n = _rounds[taskId][next];
        n.startBlock = uint40(block.number);
        n.baseModelHash = resultHash;
    }
}
