// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IRoundLedger} from "../../../contracts/interfaces/IRoundLedger.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {LedgerGhost} from "./LedgerGhost.sol";

/// @title LedgerModel — when each ledger call must succeed, as docs/architecture.md states the rules
/// @dev One predicate per ledger function, written from the documented rules against the chain's
/// current state (roles from the consortium, the task, round and update views). Every call the
/// handler makes is checked against its predicate both ways: a call the rules allow must not
/// revert (honest actions), a call they forbid must (roles, windows, duplicates). When the ledger's
/// API changes, this file and LedgerGhost._taskParams are what change.
abstract contract LedgerModel is LedgerGhost {
    function _exists(uint256 taskId) internal view returns (bool) {
        return taskId != 0 && taskId <= registry.taskCount();
    }

    function _has(bytes32 role, address account) internal view returns (bool) {
        return consortium.hasRole(role, account);
    }

    function _expectPublish(address publisher, ITaskRegistry.TaskParams memory p) internal view returns (bool) {
        uint256 n = p.committee.length;
        if (!_has(PUBLISHER, publisher) || n == 0 || n > 32) return false;
        if (p.fragmentHashes.length != n || p.fragmentCids.length != n) return false;
        if (p.maxFaultyValidators >= p.quorum || uint256(p.quorum) + p.maxFaultyValidators > n) return false;
        if (p.modelSpecHash == bytes32(0) || p.initialWeightsHash == bytes32(0)) return false;
        if (p.flow > DAG || p.metric > 2 || p.thresholdMode > 2) return false;
        if (p.roundLength == 0 || p.scoreWindow == 0 || p.maxRounds == 0) return false;
        if (p.flow == DAG && (p.maxParents == 0 || p.maxParents > 8)) return false;
        for (uint256 i = 0; i < n; ++i) {
            if (p.fragmentHashes[i] == bytes32(0) || !_has(VALIDATOR, p.committee[i])) return false;
            for (uint256 j = 0; j < i; ++j) {
                if (p.committee[j] == p.committee[i]) return false;
            }
        }
        return true;
    }

    function _expectJoin(address provider, uint256 taskId) internal view returns (bool) {
        if (!_has(PROVIDER, provider) || !_exists(taskId) || _isClosed(taskId)) return false;
        (bool joined,) = updateLedger.participation(taskId, provider);
        (bool member,) = _memberIndex(g.tasks[taskId], provider);
        return !joined && !member;
    }

    /// @dev A new update: non-zero content never seen in the task, non-zero samples.
    function _newContent(uint256 taskId, bytes32 update, uint32 numSamples) internal view returns (bool) {
        return update != bytes32(0) && numSamples != 0
            && updateLedger.getUpdate(taskId, update).status == IUpdateLedger.Status.None;
    }

    function _expectSubmit(address provider, uint256 taskId, uint32 round, bytes32 update, uint32 numSamples)
        internal
        view
        returns (bool)
    {
        if (!_has(PROVIDER, provider) || !_exists(taskId)) return false;
        ITaskRegistry.TaskInfo memory t = registry.getTask(taskId);
        if (t.flow != FEDERATION || t.closed || round != t.currentRound) return false;
        IRoundLedger.RoundInfo memory r = roundLedger.getRound(taskId, round);
        if (block.number >= uint256(r.startBlock) + t.roundLength) return false;
        (bool joined, uint32 lastRound) = updateLedger.participation(taskId, provider);
        if (!joined || lastRound >= round) return false;
        return _newContent(taskId, update, numSamples);
    }

    function _expectSubmitDag(address provider, uint256 taskId, bytes32[] memory parents, bytes32 update)
        internal
        view
        returns (bool)
    {
        if (!_has(PROVIDER, provider) || !_exists(taskId)) return false;
        ITaskRegistry.TaskInfo memory t = registry.getTask(taskId);
        if (t.flow != DAG || t.closed) return false;
        (bool joined,) = updateLedger.participation(taskId, provider);
        if (!joined || parents.length == 0 || parents.length > t.maxParents) return false;
        for (uint256 i = 0; i < parents.length; ++i) {
            bool valid = parents[i] == t.initialWeightsHash
                || updateLedger.getUpdate(taskId, parents[i]).status == IUpdateLedger.Status.Accepted;
            for (uint256 j = 0; j < i; ++j) {
                if (parents[j] == parents[i]) valid = false;
            }
            if (!valid) return false;
        }
        return update != t.initialWeightsHash && _newContent(taskId, update, SAMPLES);
    }

    /// @dev One entry of a score: a pending update the member has not scored, before its deadline.
    function _scorable(uint256 taskId, uint256 member, bytes32 update) internal view returns (bool) {
        IUpdateLedger.UpdateInfo memory u = updateLedger.getUpdate(taskId, update);
        if (u.status != IUpdateLedger.Status.Pending || u.scoredMask & uint32(1 << member) != 0) return false;
        return block.number < updateLedger.scoreDeadline(taskId, update);
    }

    function _expectScore(address validator, uint256 taskId, bytes32 update) internal view returns (bool) {
        if (!_exists(taskId) || !_has(VALIDATOR, validator)) return false;
        (bool isMember, uint256 member) = _memberIndex(g.tasks[taskId], validator);
        return isMember && _scorable(taskId, member, update);
    }

    /// @dev A batch: entries already decided are skipped, every other entry must be scorable.
    function _expectScores(address validator, uint256 taskId, bytes32[] memory batch) internal view returns (bool) {
        if (!_exists(taskId) || !_has(VALIDATOR, validator)) return false;
        (bool isMember, uint256 member) = _memberIndex(g.tasks[taskId], validator);
        if (!isMember) return false;
        for (uint256 i = 0; i < batch.length; ++i) {
            IUpdateLedger.Status s = updateLedger.getUpdate(taskId, batch[i]).status;
            if (s == IUpdateLedger.Status.Accepted || s == IUpdateLedger.Status.Rejected) continue;
            if (!_scorable(taskId, member, batch[i])) return false;
        }
        return true;
    }

    function _expectSettle(address actor, uint256 taskId, bytes32[] memory batch) internal view returns (bool) {
        if (!consortium.isParticipant(actor) || !_exists(taskId)) return false;
        for (uint256 i = 0; i < batch.length; ++i) {
            if (updateLedger.getUpdate(taskId, batch[i]).status != IUpdateLedger.Status.Pending) return false;
            if (block.number < updateLedger.scoreDeadline(taskId, batch[i])) return false;
        }
        return true;
    }

    /// @dev The current round of an open federation task, or false.
    function _openRound(uint256 taskId, uint32 round)
        internal
        view
        returns (bool, ITaskRegistry.TaskInfo memory t, IRoundLedger.RoundInfo memory r)
    {
        if (!_exists(taskId)) return (false, t, r);
        t = registry.getTask(taskId);
        if (t.flow != FEDERATION || t.closed || round != t.currentRound) return (false, t, r);
        r = roundLedger.getRound(taskId, round);
        return (true, t, r);
    }

    /// @dev Proposals open once submissions closed and nothing is pending; the list must be the
    /// round's accepted updates in acceptance order; a round with none is proposed its base model.
    function _expectPropose(address actor, uint256 taskId, uint32 round, bytes32[] memory included, bytes32 result)
        internal
        view
        returns (bool)
    {
        if (!consortium.isParticipant(actor)) return false;
        (bool open, ITaskRegistry.TaskInfo memory t, IRoundLedger.RoundInfo memory r) = _openRound(taskId, round);
        if (!open || block.number < uint256(r.startBlock) + t.roundLength || r.pendingCount > 0) return false;
        if (_digest(included) != r.acceptedDigest) return false;
        if (r.acceptedCount == 0) return result == r.baseModelHash;
        (address proposer,) = roundLedger.getProposal(taskId, round, result);
        return result != bytes32(0) && proposer == address(0);
    }

    function _expectAttest(address validator, uint256 taskId, uint32 round, bytes32 result) internal view returns (bool) {
        if (!_has(VALIDATOR, validator)) return false;
        (bool open,, IRoundLedger.RoundInfo memory r) = _openRound(taskId, round);
        if (!open) return false;
        (bool isMember, uint256 member) = _memberIndex(g.tasks[taskId], validator);
        (address proposer,) = roundLedger.getProposal(taskId, round, result);
        return isMember && proposer != address(0) && r.attestedMask & uint32(1 << member) == 0;
    }

    function _expectClose(address actor, uint256 taskId) internal view returns (bool) {
        if (!_exists(taskId)) return false;
        ITaskRegistry.TaskInfo memory t = registry.getTask(taskId);
        return actor == t.publisher && _has(PUBLISHER, actor) && !t.closed;
    }

    function _expectRegister(address actor, string memory peer, bytes memory key) internal view returns (bool) {
        uint256 len = bytes(peer).length;
        bool validKey = (key.length == 33 && (key[0] == 0x02 || key[0] == 0x03)) || (key.length == 65 && key[0] == 0x04);
        return consortium.isParticipant(actor) && len != 0 && len <= 512 && validKey;
    }
}
