// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {LedgerGhost} from "./LedgerGhost.sol";

/// @title LedgerModel — when each ledger call must succeed, and what it decides, as
/// docs/architecture.md states the rules
/// @dev One predicate per ledger function, written from the documented rules against the ghost
/// (tasks, rounds, updates, commitments, content used: what the rules predict) and the
/// consortium's roles. Every call the handler makes is checked against its predicate both ways:
/// a call the rules allow must not revert (honest actions), a call they forbid must (roles,
/// windows, duplicates, replays, closed tasks). The decisions (accepted, rejected, expired) and
/// round results are predicted here too and compared with the chain's. When the ledger's API
/// changes, this file and LedgerGhost._taskParams are what change.
abstract contract LedgerModel is LedgerGhost {
    function _exists(uint256 taskId) internal view returns (bool) {
        return taskId != 0 && g.tasks[taskId].id == taskId;
    }

    /// @dev An existing task that is not closed: a closed task refuses every write.
    function _live(uint256 taskId) internal view returns (bool) {
        return _exists(taskId) && !g.tasks[taskId].closed;
    }

    function _participant(address account) internal view returns (bool) {
        return _has(PUBLISHER, account) || _has(PROVIDER, account) || _has(VALIDATOR, account);
    }

    // ---- deadlines ----

    /// @dev Federation: the first block that refuses reveals in `round`. roundLength after its
    /// start; with minUpdates set and fewer reveals, the block after the minUpdates-th reveal,
    /// at most roundExtension later.
    function _submissionsClose(GhostTask storage t, uint32 round) internal view returns (uint256) {
        GhostRound storage r = t.rounds[round];
        uint256 base = r.start + t.p.roundLength;
        if (t.p.minUpdates == 0) return base;
        uint256 latest = base + t.p.roundExtension;
        if (r.submitted < t.p.minUpdates) return latest;
        uint256 full = r.fullBlock + 1;
        if (full <= base) return base;
        return full < latest ? full : latest;
    }

    /// @dev submissions close, scoring closes, scoring of updates short of a quorum closes,
    /// attestations are due.
    function _roundDeadlines(GhostTask storage t, uint32 round)
        internal
        view
        returns (uint256 submissions, uint256 scoring, uint256 extended, uint256 attestation)
    {
        submissions = _submissionsClose(t, round);
        scoring = submissions + t.p.scoreWindow;
        extended = scoring + t.p.scoreExtension;
        attestation = extended + t.p.attestWindow;
    }

    /// @dev The bound of the liveness invariant: the round finalizes once an honest participant
    /// acts at or after this block (every deadline at its latest).
    function _roundBound(GhostTask storage t, uint32 round) internal view returns (uint256) {
        return t.rounds[round].start + t.p.roundLength + t.p.roundExtension + t.p.scoreWindow + t.p.scoreExtension
            + t.p.attestWindow;
    }

    /// @dev The update's scoring deadline (with a quorum of scores, the last block it can be scored
    /// is the one before; without, the extension follows).
    function _scoreDeadline(GhostTask storage t, bytes32 update) internal view returns (uint256) {
        GhostUpdate storage u = t.updates[update];
        if (t.p.flow == DAG) return uint256(u.round) + t.p.scoreWindow;
        return _submissionsClose(t, uint32(u.round)) + t.p.scoreWindow;
    }

    // ---- publication and membership ----

    function _expectPublish(address publisher, ITaskRegistry.TaskParams memory p) internal view returns (bool) {
        uint256 n = p.committee.length;
        if (!_has(PUBLISHER, publisher) || n == 0 || n > 32) return false;
        if (p.fragmentHashes.length != n || p.fragmentCids.length != n) return false;
        uint256 k = p.quorum;
        uint256 f = p.maxFaultyValidators;
        if (f >= k || k + f > n || (k == 1 && n > 2)) return false;
        if (p.threshold > MAX_ABS_THRESHOLD || p.threshold < -MAX_ABS_THRESHOLD) return false;
        if (p.aggregationRule > 10 || p.numByzantine > 1000) return false;
        if (p.modelSpecHash == bytes32(0) || p.initialWeightsHash == bytes32(0)) return false;
        if (p.flow > DAG || p.metric > 2 || p.thresholdMode > 2) return false;
        if (p.roundLength == 0 || p.scoreWindow == 0 || p.maxRounds == 0) return false;
        if (p.flow == DAG && (p.maxParents == 0 || p.maxParents > 8 || p.maxPending == 0)) return false;
        if (p.flow == FEDERATION && p.attestWindow == 0) return false;
        for (uint256 i = 0; i < n; ++i) {
            if (p.fragmentHashes[i] == bytes32(0) || !_has(VALIDATOR, p.committee[i])) return false;
            for (uint256 j = 0; j < i; ++j) {
                if (p.committee[j] == p.committee[i]) return false;
            }
        }
        return true;
    }

    function _expectJoin(address provider, uint256 taskId) internal view returns (bool) {
        if (!_has(PROVIDER, provider) || !_live(taskId)) return false;
        GhostTask storage t = g.tasks[taskId];
        (bool member,) = _memberIndex(t, provider);
        return !t.joined[provider] && !member;
    }

    /// @dev The publisher while it holds PUBLISHER_ROLE; once it lost it, a committee member with VALIDATOR_ROLE.
    function _expectCloseTask(address actor, uint256 taskId) internal view returns (bool) {
        if (!_live(taskId)) return false;
        GhostTask storage t = g.tasks[taskId];
        if (actor == t.publisher) return _has(PUBLISHER, actor);
        if (_has(PUBLISHER, t.publisher)) return false;
        (bool member,) = _memberIndex(t, actor);
        return member && _has(VALIDATOR, actor);
    }

    // ---- commit, reveal ----

    function _expectCommit(address provider, uint256 taskId, bytes32 commitment) internal view returns (bool) {
        if (!_has(PROVIDER, provider) || !_live(taskId) || !g.tasks[taskId].joined[provider]) return false;
        return commitment != bytes32(0) && g.commitBlock[provider][commitment] == 0;
    }

    /// @dev What every reveal needs: valid content and samples, the caller's own commitment to
    /// (task, caller, content, salt) from an earlier block, content new to the task and to the
    /// whole ledger.
    function _revealable(address provider, GhostTask storage t, bytes32 update, uint32 samples, bytes32 salt)
        internal
        view
        returns (bool)
    {
        if (update == bytes32(0) || samples == 0) return false;
        uint256 committedAt = g.commitBlock[provider][_commitment(t.id, provider, update, salt)];
        if (committedAt == 0 || committedAt >= block.number) return false;
        return !t.updates[update].submitted && !g.used[update];
    }

    function _expectSubmit(address provider, uint256 taskId, uint32 round, bytes32 update, uint32 samples, bytes32 salt)
        internal
        view
        returns (bool)
    {
        if (!_has(PROVIDER, provider) || !_live(taskId)) return false;
        GhostTask storage t = g.tasks[taskId];
        if (t.p.flow != FEDERATION || round != t.currentRound) return false;
        if (block.number >= _submissionsClose(t, round)) return false;
        if (!t.joined[provider] || t.lastRound[provider] >= round) return false;
        return _revealable(provider, t, update, samples, salt);
    }

    function _expectSubmitDag(address provider, uint256 taskId, bytes32[] memory parents, bytes32 update, bytes32 salt)
        internal
        view
        returns (bool)
    {
        if (!_has(PROVIDER, provider) || !_live(taskId)) return false;
        GhostTask storage t = g.tasks[taskId];
        if (t.p.flow != DAG || !t.joined[provider] || t.dagPending[provider] >= t.p.maxPending) return false;
        if (parents.length == 0 || parents.length > t.p.maxParents) return false;
        for (uint256 i = 0; i < parents.length; ++i) {
            bool valid = parents[i] == t.initialWeights || t.updates[parents[i]].status == ACCEPTED;
            for (uint256 j = 0; j < i; ++j) {
                if (parents[j] == parents[i]) valid = false;
            }
            if (!valid) return false;
        }
        return _revealable(provider, t, update, SAMPLES, salt);
    }

    // ---- scores and decisions ----

    /// @dev One entry of a score: a pending update the member has not scored, before its deadline,
    /// or after it while the update lacks a quorum, until the end of the scoring extension.
    function _scorable(GhostTask storage t, uint256 member, bytes32 update) internal view returns (bool) {
        GhostUpdate storage u = t.updates[update];
        if (u.status != PENDING || u.scoredMask & uint32(1 << member) != 0) return false;
        uint256 deadline = _scoreDeadline(t, update);
        if (block.number < deadline) return true;
        return u.scoreCount < t.p.quorum && block.number < deadline + t.p.scoreExtension;
    }

    function _expectScore(address validator, uint256 taskId, bytes32 update) internal view returns (bool) {
        if (!_live(taskId) || !_has(VALIDATOR, validator)) return false;
        GhostTask storage t = g.tasks[taskId];
        (bool isMember, uint256 member) = _memberIndex(t, validator);
        return isMember && _scorable(t, member, update);
    }

    /// @dev A batch: entries decided meanwhile are skipped, every other entry must be scorable.
    function _expectScores(address validator, uint256 taskId, bytes32[] memory batch, uint256 scoreCount)
        internal
        view
        returns (bool)
    {
        if (batch.length != scoreCount || !_live(taskId) || !_has(VALIDATOR, validator)) return false;
        GhostTask storage t = g.tasks[taskId];
        (bool isMember, uint256 member) = _memberIndex(t, validator);
        if (!isMember) return false;
        for (uint256 i = 0; i < batch.length; ++i) {
            if (t.updates[batch[i]].status > PENDING) continue;
            if (!_scorable(t, member, batch[i])) return false;
        }
        return true;
    }

    /// @dev A pending update can be settled from its deadline when it has a quorum of scores,
    /// from the end of its scoring extension when not (it then expires).
    function _settleable(GhostTask storage t, bytes32 update) internal view returns (bool) {
        GhostUpdate storage u = t.updates[update];
        if (u.status != PENDING) return false;
        uint256 deadline = _scoreDeadline(t, update);
        if (block.number < deadline) return false;
        return u.scoreCount >= t.p.quorum || block.number >= deadline + t.p.scoreExtension;
    }

    /// @dev Any participant; entries decided meanwhile are skipped, unknown or unsettleable ones refused.
    function _expectSettle(address actor, uint256 taskId, bytes32[] memory batch) internal view returns (bool) {
        if (!_participant(actor) || !_live(taskId)) return false;
        GhostTask storage t = g.tasks[taskId];
        for (uint256 i = 0; i < batch.length; ++i) {
            uint8 status = t.updates[batch[i]].status;
            if (status == NONE) return false;
            if (status != PENDING) continue;
            if (!_settleable(t, batch[i])) return false;
        }
        return true;
    }

    /// @dev Accepted, unless the provider lost PROVIDER_ROLE (then rejected: no credit).
    function _acceptable(address provider) internal view returns (uint8) {
        return _has(PROVIDER, provider) ? ACCEPTED : REJECTED;
    }

    /// @dev The decision right after a score: accepted once a majority of the whole committee
    /// cleared the threshold, rejected once that can no longer happen, else still pending.
    function _decideEarly(GhostTask storage t, GhostUpdate storage u) internal view returns (uint8) {
        uint256 n = t.committee.length;
        uint256 majority = n / 2 + 1;
        if (u.passCount >= majority) return _acceptable(u.provider);
        if (uint256(u.scoreCount) - u.passCount > n - majority) return REJECTED;
        return PENDING;
    }

    /// @dev The decision when settled: fewer than quorum scores, expired; else accepted iff the
    /// lower median of the scores clears the threshold and more than f of them do.
    function _decideAtDeadline(GhostTask storage t, GhostUpdate storage u) internal view returns (uint8) {
        if (u.scoreCount < t.p.quorum) return EXPIRED;
        bool accepted = u.passCount >= u.scoreCount / 2 + 1 && u.passCount > t.p.f;
        return accepted ? _acceptable(u.provider) : REJECTED;
    }

    // ---- rounds ----

    /// @dev The current round of a live federation task.
    function _openRound(uint256 taskId, uint32 round) internal view returns (bool) {
        if (!_live(taskId)) return false;
        GhostTask storage t = g.tasks[taskId];
        return t.p.flow == FEDERATION && round == t.currentRound;
    }

    /// @dev Proposals open once submissions closed and nothing is pending; the list must be the
    /// round's accepted updates in acceptance order; a round with none is proposed its base model
    /// (and finalizes at once); otherwise each account proposes (or adds a CID) once per round.
    function _expectPropose(address actor, uint256 taskId, uint32 round, bytes32[] memory included, bytes32 result)
        internal
        view
        returns (bool)
    {
        if (!_participant(actor) || !_openRound(taskId, round)) return false;
        GhostTask storage t = g.tasks[taskId];
        GhostRound storage r = t.rounds[round];
        if (block.number < _submissionsClose(t, round) || r.pending > 0) return false;
        if (_digest(included) != _digest(r.accepted)) return false;
        if (r.accepted.length == 0) return result == r.base;
        return result != bytes32(0) && !r.proposedBy[actor];
    }

    /// @dev A committee member with VALIDATOR_ROLE, once per round, a proposed result of the current
    /// round (at any time: attestations are not refused after the deadline).
    function _expectAttest(address validator, uint256 taskId, uint32 round, bytes32 result) internal view returns (bool) {
        if (!_exists(taskId) || !_has(VALIDATOR, validator)) return false;
        GhostTask storage t = g.tasks[taskId];
        (bool isMember, uint256 member) = _memberIndex(t, validator);
        if (!isMember || !_openRound(taskId, round)) return false;
        GhostRound storage r = t.rounds[round];
        return r.isProposed[result] && r.attestedMask & uint32(1 << member) == 0;
    }

    /// @dev Any participant, from the attestation deadline, with nothing pending. Finalizes with
    /// `result` when the leading proposal has more than f attestations (then `result` must be a
    /// leading one), else with the base model. Returns whether it succeeds and the result.
    function _expectCloseRound(address actor, uint256 taskId, uint32 round, bytes32 result)
        internal
        view
        returns (bool, bytes32)
    {
        if (!_participant(actor) || !_openRound(taskId, round)) return (false, bytes32(0));
        GhostTask storage t = g.tasks[taskId];
        GhostRound storage r = t.rounds[round];
        (,,, uint256 attestationClose) = _roundDeadlines(t, round);
        if (block.number < attestationClose || r.pending > 0) return (false, bytes32(0));
        if (r.accepted.length > 0 && r.leading > t.p.f) {
            if (r.attestations[result] != r.leading) return (false, bytes32(0));
            return (true, result);
        }
        return (true, r.base);
    }

    // ---- consortium ----

    /// @dev A participant, a peer address of 1..512 bytes, an uncompressed key and a proof signed
    /// by that key for this account (`proofValid`: the handler knows which key signed what).
    function _expectRegister(address actor, string memory peer, bytes memory key, bool proofValid)
        internal
        view
        returns (bool)
    {
        uint256 len = bytes(peer).length;
        return _participant(actor) && len != 0 && len <= 512 && key.length == 65 && key[0] == 0x04 && proofValid;
    }
}
