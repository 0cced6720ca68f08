// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {LedgerModel} from "./LedgerModel.sol";

/// @title LedgerActions — what the random call sequences can do
/// @dev Two layers. Primitives (`_publish`, `_join`, `_commit`, `_submit`, ...): one per ledger
/// function; each asks LedgerModel whether the call must succeed, makes it as the given actor,
/// records a mismatch either way, and moves the ghost as the rules say (decisions and round
/// results included; the chain's are compared in LedgerChecks). Actions (external, the fuzzer's
/// targets): draw an actor, a task and arguments from the fuzzed seeds and call primitives.
/// Random actors are never "honest" (a revert is only compared with the rules); the keeper, the
/// honest committee members and an author revealing its own update are, and their reverts are
/// failures in themselves. Time only moves through `_advance`, which wakes the keeper at least
/// every KEEPER_PERIOD blocks.
abstract contract LedgerActions is LedgerModel {
    /// @dev Forge may reset block.number between calls of a sequence: every action starts at the
    /// block the sequence reached. It also forgets which tasks the previous action touched.
    modifier step() {
        for (uint256 i = 0; i < g.touched.length; ++i) {
            g.isTouched[g.touched[i]] = false;
        }
        delete g.touched;
        vm.roll(g.blockNumber);
        _;
    }

    // =====================================================================================
    // Primitives: one per ledger function
    // =====================================================================================

    function _publish(address actor, ITaskRegistry.TaskParams memory p) internal {
        bool expected = _expectPublish(actor, p);
        bool ok;
        bytes memory reason;
        uint256 taskId;
        vm.prank(actor);
        try registry.publishTask(p) returns (uint256 id) {
            ok = true;
            taskId = id;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("publishTask", actor, 0, expected, ok, reason, false);
        if (!ok) return;
        if (taskId != g.taskIds.length + 1) _violate(LEDGER_ACCOUNTING, "a task id skipped or repeated");
        g.taskIds.push(taskId);
        GhostTask storage t = g.tasks[taskId];
        t.id = taskId;
        t.publisher = actor;
        t.p = Policy({
            flow: p.flow,
            quorum: p.quorum,
            f: p.maxFaultyValidators,
            maxParents: p.maxParents,
            minUpdates: p.minUpdates,
            maxPending: p.maxPending,
            threshold: p.threshold,
            roundLength: p.roundLength,
            scoreWindow: p.scoreWindow,
            maxRounds: p.maxRounds,
            roundExtension: p.roundExtension,
            scoreExtension: p.scoreExtension,
            attestWindow: p.attestWindow
        });
        t.initialWeights = p.initialWeightsHash;
        t.committee = p.committee;
        _markUsed(p.initialWeightsHash);
        if (p.flow == FEDERATION) {
            t.currentRound = 1;
            t.rounds[1].start = block.number;
            t.rounds[1].base = p.initialWeightsHash;
        }
        _checkStoredPolicy(t);
    }

    /// @dev The stored task is the published one.
    function _checkStoredPolicy(GhostTask storage t) internal {
        ITaskRegistry.TaskInfo memory info = registry.getTask(t.id);
        Policy storage p = t.p;
        bool same = info.publisher == t.publisher && info.flow == p.flow && info.quorum == p.quorum
            && info.maxFaultyValidators == p.f && info.committeeSize == t.committee.length
            && info.minUpdates == p.minUpdates && info.roundExtension == p.roundExtension
            && info.scoreExtension == p.scoreExtension && info.attestWindow == p.attestWindow
            && info.maxPending == p.maxPending && info.threshold == p.threshold && info.roundLength == p.roundLength
            && info.scoreWindow == p.scoreWindow && info.maxRounds == p.maxRounds && !info.closed
            && info.initialWeightsHash == t.initialWeights && info.currentRound == t.currentRound;
        if (!same) _violate(LEDGER_ACCOUNTING, string.concat("task ", _str(t.id), " stored differs from its params"));
    }

    /// @dev Calls `target` with `data` as `actor`: whether it succeeded, and its revert data
    /// when it did not (the calls' return values are read from the chain afterwards).
    function _callAs(address actor, address target, bytes memory data) internal returns (bool ok, bytes memory reason) {
        vm.prank(actor);
        (ok, reason) = target.call(data);
        if (ok) reason = "";
    }

    function _join(address actor, GhostTask storage t) internal {
        bool expected = _expectJoin(actor, t.id);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.joinTask, (t.id)));
        _record("joinTask", actor, t.id, expected, ok, reason, false);
        if (ok) t.joined[actor] = true;
        _afterCall(t);
    }

    /// @dev Commits `commitment`; when it is the commitment to (task, actor, update, salt) the
    /// handler remembers it for a later reveal, and who committed to `update` first.
    function _commit(address actor, GhostTask storage t, bytes32 update, bytes32 salt, bytes32 commitment) internal {
        bool expected = _expectCommit(actor, t.id, commitment);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.commitUpdate, (t.id, commitment)));
        _record("commitUpdate", actor, t.id, expected, ok, reason, false);
        if (ok) {
            g.commitBlock[actor][commitment] = block.number;
            if (updateLedger.commitmentBlock(actor, commitment) != block.number) {
                _violate(LEDGER_ACCOUNTING, "commitmentBlock is not the block of the commitment");
            }
            if (update != bytes32(0) && commitment == _commitment(t.id, actor, update, salt)) {
                if (g.firstCommitter[update] == address(0)) g.firstCommitter[update] = actor;
                uint256 slot = g.commitCount++ % MAX_COMMITS;
                Commit memory c = Commit(t.id, actor, update, salt);
                if (slot == g.commits.length) g.commits.push(c);
                else g.commits[slot] = c;
                if (t.commits.length < MAX_COMMITS) t.commits.push(c);
            }
        }
        _afterCall(t);
    }

    /// @dev Commits to `update` with a new salt and returns the salt.
    function _commitTo(address actor, GhostTask storage t, bytes32 update) internal returns (bytes32 salt) {
        salt = _newSalt(actor, update);
        _commit(actor, t, update, salt, _commitment(t.id, actor, update, salt));
    }

    function _submit(
        address actor,
        GhostTask storage t,
        uint32 round,
        bytes32 update,
        uint32 samples,
        bytes32 salt,
        bool honest
    ) internal {
        bool expected = _expectSubmit(actor, t.id, round, update, samples, salt);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.submitUpdate, (t.id, round, update, "bafkreiupdate", samples, salt)));
        _record("submitUpdate", actor, t.id, expected, ok, reason, honest);
        if (ok) _noteRevealed(t, update, actor, round, salt);
        else _noteRefusedReveal(reason);
        _afterCall(t);
    }

    function _submitDag(
        address actor,
        GhostTask storage t,
        bytes32[] memory parents,
        bytes32 update,
        bytes32 salt,
        bool honest
    ) internal {
        bool expected = _expectSubmitDag(actor, t.id, parents, update, salt);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.submitDagUpdate, (t.id, parents, update, "bafkreiupdate", SAMPLES, salt)));
        _record("submitDagUpdate", actor, t.id, expected, ok, reason, honest);
        if (ok) _noteRevealed(t, update, actor, uint64(block.number), salt);
        else _noteRefusedReveal(reason);
        _afterCall(t);
    }

    /// @dev A reveal in either flow: the current round (plus `roundOffset`: 1 the next, 2 the
    /// previous) or `parents`.
    function _reveal(
        address actor,
        GhostTask storage t,
        bytes32 update,
        bytes32 salt,
        bytes32[] memory parents,
        uint256 roundOffset,
        bool honest
    ) internal {
        if (t.p.flow == DAG) {
            _submitDag(actor, t, parents, update, salt, honest);
            return;
        }
        uint32 round = t.currentRound;
        if (roundOffset == 1) round += 1;
        else if (roundOffset == 2 && round > 1) round -= 1;
        _submit(actor, t, round, update, SAMPLES, salt, honest);
    }

    function _score(address actor, GhostTask storage t, bytes32 update, int64 score) internal {
        bool expected = _expectScore(actor, t.id, update);
        bool late = expected && block.number >= _scoreDeadline(t, update);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.submitScore, (t.id, update, score)));
        _record("submitScore", actor, t.id, expected, ok, reason, false);
        if (ok) _applyScore(t, actor, update, score, late);
        _afterCall(t);
    }

    /// @dev `batch` holds distinct updates (so an entry's skip depends on the state before the call).
    function _scores(address actor, GhostTask storage t, bytes32[] memory batch, int64[] memory scores, bool honest)
        internal
    {
        bool expected = _expectScores(actor, t.id, batch, scores.length);
        bool[] memory skipped = new bool[](batch.length);
        bool[] memory late = new bool[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) {
            skipped[i] = t.updates[batch[i]].status > PENDING;
            late[i] = expected && !skipped[i] && block.number >= _scoreDeadline(t, batch[i]);
        }
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.submitScores, (t.id, batch, scores)));
        _record("submitScores", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            for (uint256 i = 0; i < batch.length; ++i) {
                if (!skipped[i]) _applyScore(t, actor, batch[i], scores[i], late[i]);
            }
        }
        _afterCall(t);
    }

    function _settle(address actor, GhostTask storage t, bytes32[] memory batch, bool honest) internal {
        bool expected = _expectSettle(actor, t.id, batch);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(updateLedger), abi.encodeCall(updateLedger.settleUpdates, (t.id, batch)));
        _record("settleUpdates", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            for (uint256 i = 0; i < batch.length; ++i) {
                GhostUpdate storage u = t.updates[batch[i]];
                if (u.status == PENDING) _decided(t, batch[i], _decideAtDeadline(t, u), "settled");
            }
        }
        _afterCall(t);
    }

    /// @dev `live`: the proposal names a CID whose bytes can be fetched (an honest proposer's).
    function _propose(
        address actor,
        GhostTask storage t,
        uint32 round,
        bytes32[] memory included,
        bytes32 result,
        bool live,
        bool honest
    ) internal {
        bool expected = _expectPropose(actor, t.id, round, included, result);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(roundLedger), abi.encodeCall(roundLedger.proposeAggregate, (t.id, round, included, result, live ? "bafkreilive" : "bafkreidead")));
        _record("proposeAggregate", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            GhostRound storage r = t.rounds[round];
            if (r.accepted.length == 0) {
                _finalizeRound(t, round, result, false);
            } else {
                r.proposedBy[actor] = true;
                if (r.isProposed[result]) {
                    ++g.stats.cidAdded;
                } else {
                    r.isProposed[result] = true;
                    r.proposer[result] = actor;
                    r.proposedAt[result] = block.number;
                    r.proposed.push(result);
                }
                if (live) r.liveCid[result] = true;
            }
        }
        _afterCall(t);
    }

    /// @dev `live`: the attester names a CID it serves the result from (an honest member, who
    /// recomputed it).
    function _attest(address actor, GhostTask storage t, uint32 round, bytes32 result, bool live, bool honest)
        internal
    {
        bool expected = _expectAttest(actor, t.id, round, result);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(roundLedger), abi.encodeCall(roundLedger.attestAggregate, (t.id, round, result, live ? "bafkreiattester" : "")));
        _record("attestAggregate", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            GhostRound storage r = t.rounds[round];
            (, uint256 member) = _memberIndex(t, actor);
            r.attestedMask |= uint32(1 << member);
            uint8 attestations = ++r.attestations[result];
            if (attestations > r.leading) r.leading = attestations;
            if (live) r.liveCid[result] = true;
            if (attestations >= t.p.quorum) _finalizeRound(t, round, result, false);
        }
        _afterCall(t);
    }

    function _closeRound(address actor, GhostTask storage t, uint32 round, bytes32 result, bool honest) internal {
        (bool expected, bytes32 finalResult) = _expectCloseRound(actor, t.id, round, result);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(roundLedger), abi.encodeCall(roundLedger.closeRound, (t.id, round, result)));
        _record("closeRound", actor, t.id, expected, ok, reason, honest);
        if (ok) _finalizeRound(t, round, finalResult, true);
        _afterCall(t);
    }

    function _closeTask(address actor, GhostTask storage t) internal {
        bool expected = _expectCloseTask(actor, t.id);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(registry), abi.encodeCall(registry.closeTask, (t.id)));
        _record("closeTask", actor, t.id, expected, ok, reason, false);
        if (ok) {
            t.closed = true;
            if (actor != t.publisher) ++g.stats.closedByMember;
        }
        _afterCall(t);
    }

    function _register(address actor, string memory peer, bytes memory key, bytes memory proof, bool proofValid)
        internal
    {
        bool expected = _expectRegister(actor, peer, key, proofValid);
        (bool ok, bytes memory reason) =
            _callAs(actor, address(consortium), abi.encodeCall(consortium.registerMember, (peer, key, proof)));
        _record("registerMember", actor, 0, expected, ok, reason, false);
        if (ok) {
            ++g.stats.registered;
            if (keccak256(consortium.memberOf(actor).encryptionKey) != keccak256(key)) {
                _violate(LEDGER_ACCOUNTING, "registerMember stored another key");
            }
        }
    }

    // ---- ghost bookkeeping ----

    function _markUsed(bytes32 content) internal {
        g.used[content] = true;
        if (!updateLedger.contentUsed(content)) _violate(LEDGER_ACCOUNTING, "content the rules mark used is not");
    }

    function _noteRevealed(GhostTask storage t, bytes32 update, address actor, uint64 round, bytes32 salt) internal {
        g.commitBlock[actor][_commitment(t.id, actor, update, salt)] = 0; // consumed
        GhostUpdate storage u = t.updates[update];
        u.made = true;
        u.submitted = true;
        u.provider = actor;
        u.round = round;
        u.status = PENDING;
        t.submitted.push(update);
        _markUsed(update);
        if (t.p.flow == FEDERATION) {
            GhostRound storage r = t.rounds[uint32(round)];
            r.submitted += 1;
            if (r.submitted == t.p.minUpdates) r.fullBlock = block.number;
            r.pending += 1;
            t.lastRound[actor] = uint32(round);
        } else {
            t.dagPending[actor] += 1;
        }
    }

    function _noteRefusedReveal(bytes memory reason) internal {
        if (reason.length < 4) return;
        bytes4 s = bytes4(reason);
        if (s == IUpdateLedger.UpdateLedgerReplayedModel.selector) ++g.stats.replaysRefused;
        else if (s == IUpdateLedger.UpdateLedgerTooManyPending.selector) ++g.stats.tooManyPending;
    }

    function _applyScore(GhostTask storage t, address member, bytes32 update, int64 score, bool late) internal {
        GhostUpdate storage u = t.updates[update];
        (, uint256 index) = _memberIndex(t, member);
        u.scoredMask |= uint32(1 << index);
        u.scoreCount += 1;
        bool pass = score != SCORE_INVALID && score >= t.p.threshold;
        if (pass) u.passCount += 1;
        if (kindOf[member] == Kind.HonestValidator) {
            ++u.honestScores;
            if (pass) ++u.honestPasses;
        } else if (pass) {
            ++u.liarPasses;
        }
        u.lastScoreSeq = g.seq;
        if (late) ++g.stats.lateScores;
        uint8 predicted = _decideEarly(t, u);
        if (predicted != PENDING) _decided(t, update, predicted, "scored");
        else _compareStatus(t, update, PENDING, "scored");
    }

    /// @dev Compares the chain's status of `update` with the rules' prediction.
    function _compareStatus(GhostTask storage t, bytes32 update, uint8 predicted, string memory how) internal {
        uint8 onChain = uint8(updateLedger.getUpdate(t.id, update).status);
        if (onChain != predicted) {
            _violate(CALLS_MATCH_RULES, string.concat(
                _updateName(t, update), " ", how, ": status ", _str(onChain), " where the rules say ", _str(predicted)
            ));
        }
    }

    /// @dev Takes in a decision (in the order the chain made them: batch order).
    function _decided(GhostTask storage t, bytes32 update, uint8 status, string memory how) internal {
        _compareStatus(t, update, status, how);
        GhostUpdate storage u = t.updates[update];
        u.status = status;
        u.providerLostRole = !_has(PROVIDER, u.provider);
        if (t.p.flow == FEDERATION) {
            GhostRound storage r = t.rounds[uint32(u.round)];
            r.pending -= 1;
            if (status == ACCEPTED) r.accepted.push(update);
        } else {
            t.dagPending[u.provider] -= 1;
            if (status == ACCEPTED) t.dagAccepted.push(update);
        }
        if (status == ACCEPTED) ++g.stats.accepted;
        else if (status == EXPIRED) ++g.stats.expired;
        else ++g.stats.rejected;
        if (status == REJECTED && u.providerLostRole) ++g.stats.revokedProviderRejected;
    }

    /// @dev A round finalized (by a proposal of its base model, an attestation reaching the
    /// quorum, or closeRound at the deadline): the next round starts, or the task closes.
    function _finalizeRound(GhostTask storage t, uint32 round, bytes32 result, bool atDeadline) internal {
        GhostRound storage r = t.rounds[round];
        r.finalized = true;
        r.result = result;
        r.closedAtDeadline = atDeadline;
        r.keptBase = atDeadline && r.accepted.length > 0 && result == r.base;
        _markUsed(result);
        ++g.stats.finalized;
        if (r.accepted.length > 0 && !r.keptBase) ++g.stats.aggregated;
        if (atDeadline) ++g.stats.closedAtDeadline;
        if (r.keptBase) ++g.stats.keptBase;
        if (atDeadline && r.accepted.length > 0 && !r.keptBase) ++g.stats.closedWithLeading;
        if (round >= t.p.maxRounds) {
            t.closed = true;
            return;
        }
        t.currentRound = round + 1;
        GhostRound storage next = t.rounds[round + 1];
        next.start = block.number;
        next.base = result;
    }

    /// @dev After every ledger call on a task: the chain closed it exactly when the rules did; a
    /// task seen closed for the first time is frozen (its fingerprint may never change again).
    function _afterCall(GhostTask storage t) internal {
        if (t.id == 0) return;
        bool closedOnChain = registry.getTask(t.id).closed;
        if (closedOnChain != t.closed) {
            _violate(CLOSED_TASKS_FROZEN, string.concat(
                "task ", _str(t.id), closedOnChain ? " closed on chain, open by the rules" : " open on chain, closed by the rules"
            ));
        }
        if (!closedOnChain || t.frozen) return;
        t.frozen = true;
        t.frozenFingerprint = _fingerprint(t);
        t.frozenAtBlock = block.number;
    }

    /// @dev Time passes: `blocks` more. The honest members' daemons run in the first new block
    /// and in the last; the keeper wakes at the block its period ends whenever it idled that
    /// long, so it acts at least every KEEPER_PERIOD blocks.
    function _advance(uint256 blocks) internal {
        uint256 target = g.blockNumber + blocks;
        _moveTo(g.blockNumber + 1);
        if (target > g.blockNumber) _moveTo(target);
    }

    function _moveTo(uint256 target) internal {
        while (!g.inKeeper && g.lastKeeperBlock + KEEPER_PERIOD <= target) {
            uint256 wake = g.lastKeeperBlock + KEEPER_PERIOD;
            if (wake > g.blockNumber) {
                g.blockNumber = wake;
                vm.roll(wake);
            }
            _keeper();
        }
        g.blockNumber = target;
        vm.roll(target);
        _allLiars();
        _allHonestDaemons();
        _allProviderClients();
    }

    /// @dev The honest providers' clients on every open task, in the new block: each (half of the
    /// time) joins, or commits to a new update of its own, or reveals the update it committed to
    /// in an earlier block (federation: once per round, while the round takes submissions; dag:
    /// within maxPending). A reveal the rules allow must succeed. In known-holes mode the admin
    /// revokes the provider right after one reveal in 16 (its update then pending).
    function _allProviderClients() internal {
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            for (uint256 j = 0; j < honestProviders.length && !t.closed; ++j) {
                if (uint256(keccak256(abi.encode("clients", g.seq, i, j))) % 2 == 0) _providerClient(t, honestProviders[j]);
            }
        }
    }

    function _providerClient(GhostTask storage t, address provider) internal {
        if (!_has(PROVIDER, provider) || t.submitted.length >= MAX_UPDATES) return;
        if (!t.joined[provider]) {
            _join(provider, t);
            return;
        }
        bool fed = t.p.flow == FEDERATION;
        if (fed && (t.lastRound[provider] >= t.currentRound || block.number >= _submissionsClose(t, t.currentRound))) return;
        if (!fed && t.dagPending[provider] >= t.p.maxPending) return;
        Commit storage c = t.daemonCommit[provider];
        if (c.update == bytes32(0)) {
            bytes32 update = _makeContent(t, provider, Content.Good, 0);
            bytes32 salt = _commitTo(provider, t, update);
            t.daemonCommit[provider] = Commit(t.id, provider, update, salt);
            return;
        }
        if (g.commitBlock[provider][_commitment(t.id, provider, c.update, c.salt)] >= block.number) return;
        bytes32[] memory parents = _parents(t, uint256(keccak256(abi.encode("parents", g.seq))));
        bool allowed = fed
            ? _expectSubmit(provider, t.id, t.currentRound, c.update, SAMPLES, c.salt)
            : _expectSubmitDag(provider, t.id, parents, c.update, c.salt);
        if (!allowed && !fed) return; // parents drawn badly: another block
        _reveal(provider, t, c.update, c.salt, parents, 0, allowed);
        delete t.daemonCommit[provider];
        if (knownHoles && allowed && uint256(keccak256(abi.encode("revoke provider", g.seq))) % 16 == 0) {
            consortium.revokeRole(PROVIDER, provider); // mid-round, its update pending: no credit
        }
    }

    /// @dev The honest members' daemons on every open task, in the new block.
    function _allHonestDaemons() internal {
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            if (!t.closed) _honestDaemons(t, uint256(keccak256(abi.encode("daemons", g.seq, i))));
        }
    }

    // ---- choices ----

    /// @dev Fuzzed values are often small or edge values (0, 1, type(uint256).max): every seed is
    /// hashed before its bits are used.
    function _h(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, "ledgerlearn-fuzz-seed")));
    }

    /// @dev A provider's client joins before its first submission (three times out of four).
    function _joinFirst(address actor, GhostTask storage t, uint256 seed) internal {
        if (!t.joined[actor] && (seed >> 128) % 4 != 0) _join(actor, t);
    }

    function _contentOf(address actor, uint256 seed) internal view returns (Content) {
        Kind kind = kindOf[actor];
        if (kind == Kind.HonestProvider || kind == Kind.HonestValidator) return Content.Good;
        if (kind == Kind.ByzantineProvider) {
            uint256 s = seed % 8;
            return s == 0 ? Content.BaseReplay : s == 1 ? Content.ForeignReplay : Content.Poisoned;
        }
        return Content(seed % 4);
    }

    /// @dev A committee member half of the time, anyone from the pool otherwise.
    function _scorer(GhostTask storage t, uint256 seed) internal view returns (address) {
        if (seed % 2 == 0) return t.committee[(seed >> 1) % t.committee.length];
        return _pick(actors, seed >> 1);
    }

    /// @dev Up to `want` distinct entries of `pool`, from a random start.
    function _distinct(bytes32[] storage pool, uint256 seed, uint256 want) internal view returns (bytes32[] memory out) {
        uint256 n = pool.length;
        if (want > n) want = n;
        out = new bytes32[](want);
        uint256 start = n == 0 ? 0 : seed % n;
        for (uint256 i = 0; i < want; ++i) {
            out[i] = pool[(start + i) % n];
        }
    }

    /// @dev Parents for a dag update: seven times out of eight 1..maxParents distinct ones among
    /// the accepted updates and the root; otherwise 1..3 drawn anyhow from everything submitted
    /// (maybe not accepted, repeated or too many: refused).
    function _parents(GhostTask storage t, uint256 seed) internal view returns (bytes32[] memory parents) {
        if (t.p.flow != DAG) return parents;
        uint256 accepted = t.dagAccepted.length;
        if (seed % 8 != 0) {
            uint256 maxParents = t.p.maxParents;
            uint256 choices = accepted + 1;
            parents = new bytes32[](1 + (seed >> 3) % (maxParents < choices ? maxParents : choices));
            uint256 start = (seed >> 8) % choices;
            for (uint256 i = 0; i < parents.length; ++i) {
                uint256 pick = (start + i) % choices;
                parents[i] = pick == accepted ? t.initialWeights : t.dagAccepted[pick];
            }
            return parents;
        }
        parents = new bytes32[](1 + (seed >> 3) % 3);
        for (uint256 i = 0; i < parents.length; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            if (s % 2 == 0 && t.submitted.length > 0) parents[i] = t.submitted[s % t.submitted.length];
            else parents[i] = s % 3 == 0 ? t.initialWeights : keccak256(abi.encode("no such parent", s));
        }
    }

    function _pendingOf(GhostTask storage t) internal view returns (bytes32[] memory list, uint256 count) {
        list = new bytes32[](t.submitted.length);
        for (uint256 i = 0; i < t.submitted.length; ++i) {
            if (t.updates[t.submitted[i]].status == PENDING) list[count++] = t.submitted[i];
        }
    }

    /// @dev Pending updates that can be settled now: what an honest settler sends.
    function _settleableOf(GhostTask storage t) internal view returns (bytes32[] memory out) {
        (bytes32[] memory pending, uint256 n) = _pendingOf(t);
        uint256 count;
        for (uint256 i = 0; i < n; ++i) {
            if (_settleable(t, pending[i])) pending[count++] = pending[i];
        }
        out = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            out[i] = pending[i];
        }
    }

    /// @dev What member `index` can still score: pending, not scored by it, in its window.
    function _scorableBy(GhostTask storage t, uint256 index) internal view returns (bytes32[] memory out) {
        (bytes32[] memory pending, uint256 n) = _pendingOf(t);
        uint256 count;
        for (uint256 i = 0; i < n; ++i) {
            if (_scorable(t, index, pending[i])) pending[count++] = pending[i];
        }
        out = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            out[i] = pending[i];
        }
    }

    function _role(uint256 seed) internal pure returns (bytes32) {
        uint256 r = seed % 3;
        return r == 0 ? PUBLISHER : r == 1 ? PROVIDER : VALIDATOR;
    }

    // =====================================================================================
    // Actions (the fuzzer's targets)
    // =====================================================================================

    function publishFederation(uint256 actorSeed, uint256 paramSeed) external step {
        _publishAction(FEDERATION, _h(actorSeed), _h(paramSeed));
    }

    function publishDag(uint256 actorSeed, uint256 paramSeed) external step {
        _publishAction(DAG, _h(actorSeed), _h(paramSeed));
    }

    /// @dev A publisher three times out of four, anyone otherwise. With MAX_OPEN_TASKS open, a
    /// publisher first winds down its oldest open task (half of the time), else nothing happens.
    function _publishAction(uint8 flow, uint256 actorSeed, uint256 paramSeed) internal {
        if (g.taskIds.length >= MAX_TASKS) return;
        address actor = actorSeed % 4 != 0 ? publishers[(actorSeed >> 2) % 2] : _pick(actors, actorSeed >> 2);
        if (_openTasks() >= MAX_OPEN_TASKS) {
            if ((actorSeed >> 100) % 2 != 0) return;
            for (uint256 i = 0; i < g.taskIds.length; ++i) {
                GhostTask storage t = g.tasks[g.taskIds[i]];
                if (t.closed || t.publisher != actor) continue;
                _closeTask(actor, t);
                break;
            }
            if (_openTasks() >= MAX_OPEN_TASKS) return;
        }
        _publish(actor, _taskParams(flow, paramSeed));
    }

    function joinTask(uint256 actorSeed, uint256 taskSeed) external step {
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found) return;
        _join(_mostly(providerPool, _h(actorSeed)), t);
    }

    /// @dev A commitment alone, revealed later by revealUpdate (maybe rounds later, maybe never):
    /// to new content of the actor's, or (one in 16 each) the zero commitment or one it already made.
    function commitUpdate(uint256 actorSeed, uint256 taskSeed, uint256 contentSeed) external step {
        contentSeed = _h(contentSeed);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.submitted.length >= MAX_UPDATES) return;
        address actor = _mostly(providerPool, _h(actorSeed));
        _joinFirst(actor, t, contentSeed);
        uint256 v = contentSeed % 16;
        if (v == 0) {
            _commit(actor, t, bytes32(0), bytes32(0), bytes32(0));
            return;
        }
        bytes32 update = _makeContent(t, actor, _contentOf(actor, contentSeed >> 8), contentSeed >> 16);
        bytes32 salt = _commitTo(actor, t, update);
        if (v == 1) _commit(actor, t, bytes32(0), bytes32(0), _commitment(t.id, actor, update, salt)); // again
    }

    /// @dev Reveals a remembered commitment now: by its provider (one in 8: someone else, or the
    /// wrong salt, or the next round).
    function revealUpdate(uint256 pickSeed, uint256 variant) external step {
        pickSeed = _h(pickSeed);
        variant = _h(variant);
        uint256 count = g.commitCount < MAX_COMMITS ? g.commitCount : MAX_COMMITS;
        if (count == 0) return;
        Commit memory c = g.commits[pickSeed % count];
        GhostTask storage t = g.tasks[c.taskId];
        uint256 v = variant % 8;
        address actor = v == 0 ? _pick(actors, variant >> 3) : c.provider;
        bytes32 salt = v == 1 ? keccak256(abi.encode(c.salt)) : c.salt;
        _reveal(actor, t, c.update, salt, _parents(t, variant >> 8), v == 2 ? 1 : 0, false);
    }

    /// @dev A federation update: committed, revealed in the next block (one in 16 each: in the
    /// same block, then again in the next; without a commitment; with the wrong salt; for the next
    /// or the previous round; now and then to a dag task, or with no samples).
    function submitUpdate(uint256 actorSeed, uint256 taskSeed, uint256 contentSeed, uint256 roundSeed)
        external
        step
    {
        contentSeed = _h(contentSeed);
        roundSeed = _h(roundSeed);
        (GhostTask storage t, bool found) = _ghostTaskOf(roundSeed % 16 == 3 ? DAG : FEDERATION, _h(taskSeed));
        if (!found || t.submitted.length >= MAX_UPDATES) return;
        address actor = _mostly(providerPool, _h(actorSeed));
        _joinFirst(actor, t, contentSeed);
        bytes32 update = _makeContent(t, actor, _contentOf(actor, contentSeed), contentSeed >> 16);
        uint256 v = roundSeed % 16;
        bytes32 salt = v == 4 ? _newSalt(actor, update) : _commitTo(actor, t, update);
        if (v == 5) _reveal(actor, t, update, salt, _parents(t, roundSeed >> 8), 0, false); // the commitment's own block
        _advance(1);
        if (v == 6) salt = keccak256(abi.encode(salt));
        if (t.p.flow == DAG) {
            _reveal(actor, t, update, salt, _parents(t, roundSeed >> 8), 0, false);
            return;
        }
        uint32 round = t.currentRound;
        if (v == 1) round += 1;
        else if (v == 2 && round > 1) round -= 1;
        _submit(actor, t, round, update, contentSeed % 64 == 0 ? 0 : SAMPLES, salt, false);
    }

    function submitDagUpdate(uint256 actorSeed, uint256 taskSeed, uint256 contentSeed, uint256 parentSeed)
        external
        step
    {
        contentSeed = _h(contentSeed);
        (GhostTask storage t, bool found) = _ghostTaskOf(DAG, _h(taskSeed));
        if (!found || t.submitted.length >= MAX_UPDATES) return;
        address actor = _mostly(providerPool, _h(actorSeed));
        _joinFirst(actor, t, contentSeed);
        bytes32 update = _makeContent(t, actor, _contentOf(actor, contentSeed), contentSeed >> 16);
        bytes32 salt = _commitTo(actor, t, update);
        _advance(1);
        _reveal(actor, t, update, salt, _parents(t, _h(parentSeed)), 0, false);
    }

    /// @dev The providers' clients: each one in `mask` joins if it has not and commits its own
    /// content (honest: good; Byzantine: poisoned or a replayed model; the copier: anything);
    /// in the next block they all reveal.
    function providersSubmit(uint256 taskSeed, uint256 mask, uint256 contentSeed) external step {
        mask = _h(mask);
        contentSeed = _h(contentSeed);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found) return;
        uint256 n = providerPool.length;
        bytes32[] memory updates = new bytes32[](n);
        bytes32[] memory salts = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            if ((mask >> i) & 1 == 0 || t.submitted.length + i >= MAX_UPDATES) continue;
            address provider = providerPool[i];
            uint256 seed = uint256(keccak256(abi.encode(contentSeed, i)));
            _joinFirst(provider, t, seed);
            updates[i] = _makeContent(t, provider, _contentOf(provider, seed), seed >> 16);
            salts[i] = _commitTo(provider, t, updates[i]);
        }
        _advance(1);
        for (uint256 i = 0; i < n; ++i) {
            if (updates[i] == bytes32(0)) continue;
            _reveal(providerPool[i], t, updates[i], salts[i], _parents(t, contentSeed >> (8 + i)), 0, false);
        }
    }

    /// @dev A byte-identical copy of an update already on chain, committed and revealed by the
    /// copier (or anyone), in its task or (half of the time) another: refused as a duplicate or
    /// a replayed model.
    function copyUpdate(uint256 actorSeed, uint256 taskSeed, uint256 updateSeed) external step {
        actorSeed = _h(actorSeed);
        updateSeed = _h(updateSeed);
        (GhostTask storage from, bool found) = _ghostTask(_h(taskSeed));
        if (!found || from.submitted.length == 0) return;
        GhostTask storage t = from;
        if (updateSeed % 2 == 1) (t,) = _ghostTask(updateSeed >> 1);
        address actor = actorSeed % 2 == 0 ? copier : _pick(actors, actorSeed >> 1);
        bytes32 update = from.submitted[(updateSeed >> 8) % from.submitted.length];
        if (!t.updates[update].made) {
            t.updates[update].made = true; // someone else's work, whoever reveals it
            t.updates[update].author = from.updates[update].author;
            t.updates[update].content = from.updates[update].content;
        }
        _joinFirst(actor, t, updateSeed);
        bytes32 salt = _commitTo(actor, t, update);
        _advance(1);
        bytes32[] memory parents = new bytes32[](t.p.flow == DAG ? 1 : 0);
        if (parents.length == 1) parents[0] = t.initialWeights;
        _reveal(actor, t, update, salt, parents, 0, false);
    }

    /// @dev I3: an honest provider commits; in the block of its reveal the copier, who saw the
    /// reveal in the mempool and pays more, goes first: it reveals the author's content with the
    /// author's salt, then commits to it and reveals at once; after the author's reveal it
    /// reveals its own commitment. (It may also have copied the author's commitment bytes into its
    /// own namespace before the author's commit.) The author must keep the credit.
    function frontRunUpdate(uint256 victimSeed, uint256 taskSeed, uint256 parentSeed) external step {
        victimSeed = _h(victimSeed);
        if (!knownHoles) return;
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.closed || t.submitted.length >= MAX_UPDATES) return;
        address victim = _pick(honestProviders, victimSeed);
        if (!t.joined[victim]) _join(victim, t);
        if (!t.joined[copier]) _join(copier, t);
        bytes32 update = _makeContent(t, victim, Content.Good, 0);
        bytes32 salt = _newSalt(victim, update);
        bytes32 commitment = _commitment(t.id, victim, update, salt);
        if ((victimSeed >> 8) % 2 == 0) _commit(copier, t, bytes32(0), bytes32(0), commitment); // same bytes, own namespace
        _commit(victim, t, update, salt, commitment);
        _advance(1);
        bytes32[] memory parents = _parents(t, _h(parentSeed));
        bool authorCan = t.p.flow == DAG
            ? _expectSubmitDag(victim, t.id, parents, update, salt)
            : _expectSubmit(victim, t.id, t.currentRound, update, SAMPLES, salt);
        if (!authorCan) return; // nothing to front-run: the author's reveal is refused anyway
        ++g.stats.frontRuns;
        _reveal(copier, t, update, salt, parents, 0, false);
        bytes32 copySalt = _commitTo(copier, t, update);
        _reveal(copier, t, update, copySalt, parents, 0, false);
        _reveal(victim, t, update, salt, parents, 0, true);
        _advance(1);
        _reveal(copier, t, update, copySalt, parents, 0, false);
    }

    function submitScore(uint256 actorSeed, uint256 taskSeed, uint256 updateSeed, uint256 scoreSeed) external step {
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.submitted.length == 0) return;
        address actor = _scorer(t, _h(actorSeed));
        updateSeed = _h(updateSeed);
        bytes32 update = updateSeed % 16 == 0 ? keccak256(abi.encode("unknown", updateSeed))
            : t.submitted[updateSeed % t.submitted.length];
        _score(actor, t, update, _scoreOf(t, actor, update, _h(scoreSeed)));
    }

    function submitScores(uint256 actorSeed, uint256 taskSeed, uint256 pickSeed, uint256 scoreSeed) external step {
        pickSeed = _h(pickSeed);
        scoreSeed = _h(scoreSeed);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.submitted.length == 0) return;
        address actor = _scorer(t, _h(actorSeed));
        bytes32[] memory batch = _distinct(t.submitted, pickSeed, 1 + (pickSeed >> 8) % 4);
        int64[] memory scores = new int64[](pickSeed % 32 == 0 ? batch.length + 1 : batch.length);
        for (uint256 i = 0; i < batch.length; ++i) {
            scores[i] = _scoreOf(t, actor, batch[i], scoreSeed >> i);
        }
        _scores(actor, t, batch, scores, false);
    }

    /// @dev The honest members' validator daemons on one task: each one that is online (its
    /// host is up, and three times out of four: bits 2i, 2i+1 of `onlineMask` not both zero) and
    /// holds its role scores, in one batch, every update it can still score (late ones too, while
    /// they lack a quorum); then one of them settles what can be settled and, in a federation
    /// task, proposes the right aggregate as soon as proposals open (or its base model when
    /// nothing was accepted), and each attests it. They must never revert. They also run on every
    /// open task whenever time passes (`_advance`).
    function honestCommitteeScores(uint256 taskSeed, uint256 onlineMask) external step {
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.closed) return;
        _honestDaemons(t, _h(onlineMask));
    }

    function _honestDaemons(GhostTask storage t, uint256 onlineMask) internal {
        address awake; // an online honest member with its role
        for (uint256 i = 0; i < t.committee.length; ++i) {
            address member = t.committee[i];
            if (kindOf[member] != Kind.HonestValidator || (onlineMask >> (2 * i)) & 3 == 0) continue;
            if (!_online(member) || !_has(VALIDATOR, member)) continue;
            awake = member;
            bytes32[] memory batch = _scorableBy(t, i);
            if (batch.length == 0) continue;
            int64[] memory scores = new int64[](batch.length);
            for (uint256 j = 0; j < batch.length; ++j) {
                scores[j] = _scoreOf(t, member, batch[j], 0);
            }
            _scores(member, t, batch, scores, true);
        }
        if (awake == address(0) || t.closed) return;
        bytes32[] memory due = _settleableOf(t);
        if (due.length > 0) _settle(awake, t, due, true);
        if (t.p.flow == FEDERATION && !t.closed) _honestRound(t, awake, onlineMask >> 16);
    }

    /// @dev Once proposals open, `proposer` (an online honest member) proposes the right result
    /// unless it is proposed (the base model when nothing was accepted: that finalizes); each
    /// online honest member with its role that has not attested in the round recomputes the
    /// aggregate (which takes it 0..MAX_RECOMPUTE blocks after the proposal, drawn per member and
    /// round) and attests it, naming the CID it serves it from.
    function _honestRound(GhostTask storage t, address proposer, uint256 onlineMask) internal {
        uint32 round = t.currentRound;
        GhostRound storage r = t.rounds[round];
        if (r.pending > 0 || block.number < _submissionsClose(t, round)) return;
        if (r.accepted.length == 0) {
            _propose(proposer, t, round, r.accepted, r.base, true, true);
            return;
        }
        bytes32 right = _rightResult(t, round);
        if (!r.isProposed[right] && !r.proposedBy[proposer]) _propose(proposer, t, round, r.accepted, right, true, true);
        if (!r.isProposed[right]) return;
        for (uint256 i = 0; i < t.committee.length && !r.finalized; ++i) {
            address member = t.committee[i];
            if (kindOf[member] != Kind.HonestValidator || (onlineMask >> (2 * i)) & 3 == 0) continue;
            if (!_online(member) || !_has(VALIDATOR, member) || r.attestedMask & uint32(1 << i) != 0) continue;
            uint256 recompute = uint256(keccak256(abi.encode("recompute", member, t.id, round))) % (MAX_RECOMPUTE + 1);
            if (block.number < r.proposedAt[right] + recompute) continue;
            _attest(member, t, round, right, true, true);
        }
    }

    function _online(address member) internal view returns (bool) {
        return g.blockNumber >= g.offlineUntil[member];
    }

    /// @dev An honest member's host goes down for 1..MAX_OFFLINE blocks: it neither scores nor
    /// attests meanwhile (I2: an offline member). One host at a time: while one is down, this
    /// brings it back. In known-holes mode: a member of a federation task's committee, for up
    /// to twice as long.
    function memberGoesOffline(uint256 memberSeed, uint256 durationSeed) external step {
        for (uint256 i = 0; i < honestValidators.length; ++i) {
            if (!_online(honestValidators[i])) {
                g.offlineUntil[honestValidators[i]] = g.blockNumber;
                return;
            }
        }
        memberSeed = _h(memberSeed);
        address member = _pick(honestValidators, memberSeed);
        uint256 duration = 1 + _h(durationSeed) % MAX_OFFLINE;
        if (knownHoles) {
            // aimed (I2): an honest member of a federation task's committee, for longer
            (GhostTask storage t, bool found) = _ghostTaskOf(FEDERATION, memberSeed >> 8);
            for (uint256 i = 0; found && i < t.committee.length; ++i) {
                address m = t.committee[((memberSeed >> 16) + i) % t.committee.length];
                if (kindOf[m] == Kind.HonestValidator) {
                    member = m;
                    duration *= 2;
                    break;
                }
            }
        }
        g.offlineUntil[member] = g.blockNumber + duration;
    }

    /// @dev The lying members, fast: each (unless it abstains, one time in four) scores every
    /// update it can with a lie, and tries one late score on a pending update past its deadline
    /// (refused once the update has a quorum or its extension ended). They also act in every new
    /// block, before the honest members.
    function liarsScore(uint256 taskSeed, uint256 scoreSeed) external step {
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.closed) return;
        _liars(t, _h(scoreSeed));
    }

    function _liars(GhostTask storage t, uint256 scoreSeed) internal {
        for (uint256 i = 0; i < t.committee.length; ++i) {
            address member = t.committee[i];
            if (kindOf[member] != Kind.LyingValidator || !_has(VALIDATOR, member)) continue;
            if ((scoreSeed >> (100 + 2 * i)) % 4 == 0) continue;
            bytes32[] memory batch = _scorableBy(t, i);
            if (batch.length > 0) {
                int64[] memory scores = new int64[](batch.length);
                for (uint256 j = 0; j < batch.length; ++j) {
                    scores[j] = _scoreOf(t, member, batch[j], scoreSeed >> j);
                }
                _scores(member, t, batch, scores, false);
            }
            _lateScore(t, i, scoreSeed >> 120);
        }
    }

    /// @dev Member `index` scores one pending update it has not scored whose deadline passed.
    function _lateScore(GhostTask storage t, uint256 index, uint256 seed) internal {
        (bytes32[] memory pending, uint256 n) = _pendingOf(t);
        for (uint256 j = 0; j < n; ++j) {
            bytes32 update = pending[(j + seed) % n];
            if (t.updates[update].scoredMask & uint32(1 << index) != 0) continue;
            if (block.number < _scoreDeadline(t, update)) continue;
            address member = t.committee[index];
            _score(member, t, update, _scoreOf(t, member, update, seed >> 10));
            return;
        }
    }

    function _allLiars() internal {
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            if (!t.closed) _liars(t, uint256(keccak256(abi.encode("liars", g.seq, i))));
        }
    }

    /// @dev Anyone settles: what can be settled now, or a few updates drawn anyhow (maybe
    /// decided, still in their window, or unknown).
    function settleUpdates(uint256 actorSeed, uint256 taskSeed, uint256 pickSeed) external step {
        pickSeed = _h(pickSeed);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.submitted.length == 0) return;
        bytes32[] memory batch;
        if (pickSeed % 2 == 0) {
            batch = _settleableOf(t);
        } else {
            batch = _distinct(t.submitted, pickSeed >> 1, 1 + (pickSeed >> 9) % 3);
            if ((pickSeed >> 12) % 16 == 0) batch[0] = keccak256(abi.encode("unknown", pickSeed));
        }
        if (batch.length == 0) return;
        _settle(_pick(actors, _h(actorSeed)), t, batch, false);
    }

    /// @dev Any participant's proposal: the right aggregate, a wrong one, the base model, with
    /// the right or a wrong list of updates; in known-holes mode three in four name a dead CID.
    function proposeAggregate(uint256 actorSeed, uint256 taskSeed, uint256 variant) external step {
        variant = _h(variant);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.p.flow != FEDERATION) return;
        address actor = _pick(actors, _h(actorSeed));
        uint32 round = variant % 16 == 0 ? t.currentRound + 1 : t.currentRound;
        bytes32[] memory included = t.rounds[round].accepted;
        if ((variant >> 4) % 8 == 0 && t.submitted.length > 0) {
            // a wrong list: one more update (maybe rejected or pending)
            bytes32[] memory longer = new bytes32[](included.length + 1);
            for (uint256 i = 0; i < included.length; ++i) {
                longer[i] = included[i];
            }
            longer[included.length] = t.submitted[(variant >> 8) % t.submitted.length];
            included = longer;
        }
        bytes32 result;
        uint256 which = (variant >> 12) % 4;
        if (which == 0 || which == 1) result = _rightResult(t, round);
        else if (which == 2) result = keccak256(abi.encode("wrong aggregate", (variant >> 16) % 4));
        else result = t.rounds[round].base;
        bool live = !(knownHoles && (variant >> 20) % 4 != 0) && kindOf[actor] != Kind.LyingValidator;
        _propose(actor, t, round, included, result, live, false);
    }

    /// @dev Honest members attest only the right aggregate (naming their CID), liars only a wrong
    /// one, anyone else anything proposed.
    function attestAggregate(uint256 actorSeed, uint256 taskSeed, uint256 resultSeed) external step {
        resultSeed = _h(resultSeed);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.p.flow != FEDERATION) return;
        address actor = _scorer(t, _h(actorSeed));
        uint32 round = t.currentRound;
        bytes32 right = _rightResult(t, round);
        bytes32[] storage proposed = t.rounds[round].proposed;
        bytes32 result = proposed.length == 0 ? right : proposed[resultSeed % proposed.length];
        Kind kind = kindOf[actor];
        if (kind == Kind.HonestValidator) {
            result = right;
        } else if (kind == Kind.LyingValidator) {
            result = bytes32(0);
            for (uint256 i = 0; i < proposed.length; ++i) {
                if (proposed[i] != right) result = proposed[i];
            }
            if (result == bytes32(0)) return; // nothing wrong to attest yet
        }
        _attest(actor, t, round, result, kind == Kind.HonestValidator, false);
    }

    /// @dev Anyone closes a round (usually a participant, often early): with the right result,
    /// the base model, a wrong proposal, or the leading proposal; liars with a wrong one.
    function closeRound(uint256 actorSeed, uint256 taskSeed, uint256 variant) external step {
        variant = _h(variant);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.p.flow != FEDERATION) return;
        address actor = _scorer(t, _h(actorSeed));
        uint32 round = variant % 16 == 0 ? t.currentRound + 1 : t.currentRound;
        GhostRound storage r = t.rounds[round];
        uint256 which = (variant >> 4) % 4;
        bytes32 result = _rightResult(t, round);
        if (which == 1) result = r.base;
        if (which == 2 || kindOf[actor] == Kind.LyingValidator) result = keccak256(abi.encode("wrong aggregate", (variant >> 8) % 4));
        if (which == 3) {
            for (uint256 i = 0; i < r.proposed.length; ++i) {
                if (r.attestations[r.proposed[i]] == r.leading) result = r.proposed[i];
            }
        }
        _closeRound(actor, t, round, result, false);
    }

    /// @dev The publisher (one in 4), a committee member (one in 4; one in 2 once the publisher
    /// lost its role: then it may), or anyone.
    function closeTask(uint256 actorSeed, uint256 taskSeed) external step {
        actorSeed = _h(actorSeed);
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found) return;
        uint256 who = actorSeed % 4;
        if (!_has(PUBLISHER, t.publisher) && who == 2) who = 1; // the committee winds down an orphaned task
        address actor = who == 0 ? t.publisher
            : who == 1 ? t.committee[(actorSeed >> 2) % t.committee.length] : _pick(actors, actorSeed >> 2);
        _closeTask(actor, t);
    }

    /// @dev A random role of a random actor; in known-holes mode half of them are aimed: an
    /// honest member of an open task's committee (mid-round), the provider of a pending update, the
    /// publisher of an open task (then, half of the time, a provider tries to close the task and
    /// a committee member closes it).
    function revokeRole(uint256 actorSeed, uint256 roleSeed) external step {
        actorSeed = _h(actorSeed);
        roleSeed = _h(roleSeed);
        address account = _pick(actors, actorSeed);
        bytes32 role = _role(roleSeed);
        GhostTask storage t = g.tasks[0];
        if (knownHoles && actorSeed % 2 == 0) (t, account, role) = _aimedRevocation(actorSeed >> 1);
        if (account == address(0)) return;
        consortium.revokeRole(role, account);
        if (role == PUBLISHER && t.id != 0 && (actorSeed >> 100) % 2 == 0) {
            // the publisher is gone: someone who is not on the committee tries to close its task
            // (refused), then a member of the committee winds it down
            _closeTask(_pick(providerPool, actorSeed >> 108), t);
            _closeTask(t.committee[(actorSeed >> 104) % t.committee.length], t);
        }
    }

    function _aimedRevocation(uint256 seed) internal view returns (GhostTask storage t, address, bytes32) {
        bool found;
        (t, found) = _ghostTask(seed >> 3);
        if (!found || t.closed) return (t, address(0), bytes32(0));
        uint256 aim = seed % 4;
        if (aim == 0) {
            for (uint256 i = 0; i < t.committee.length; ++i) {
                address member = t.committee[((seed >> 16) + i) % t.committee.length];
                if (kindOf[member] == Kind.HonestValidator) return (t, member, VALIDATOR);
            }
        } else if (aim < 3) {
            (bytes32[] memory pending, uint256 n) = _pendingOf(t);
            if (n > 0) return (t, t.updates[pending[(seed >> 16) % n]].provider, PROVIDER);
        } else {
            return (t, t.publisher, PUBLISHER);
        }
        return (t, address(0), bytes32(0));
    }

    /// @dev The admin grants a role: half of the time it gives an actor its own role back (the
    /// first, from a random start, that lost it), otherwise any role to anyone.
    function grantRole(uint256 actorSeed, uint256 roleSeed) external step {
        actorSeed = _h(actorSeed);
        roleSeed = _h(roleSeed);
        if (roleSeed % 2 == 0) {
            for (uint256 i = 0; i < actors.length; ++i) {
                address account = actors[(actorSeed + i) % actors.length];
                bytes32 own = _ownRole(account);
                if (own != bytes32(0) && !_has(own, account)) {
                    consortium.grantRole(own, account);
                    return;
                }
            }
        }
        consortium.grantRole(_role(roleSeed >> 1), _pick(actors, actorSeed));
    }

    function _ownRole(address account) internal view returns (bytes32) {
        Kind kind = kindOf[account];
        if (kind == Kind.Publisher) return PUBLISHER;
        if (kind == Kind.HonestValidator || kind == Kind.LyingValidator) return VALIDATOR;
        if (kind == Kind.Outsider) return bytes32(0);
        return PROVIDER;
    }

    /// @dev Anyone but the admin granting a role: must always revert.
    function strangerGrantsRole(uint256 actorSeed, uint256 targetSeed, uint256 roleSeed) external step {
        address actor = _pick(actors, _h(actorSeed));
        (bool ok, bytes memory reason) =
            _callAs(actor, address(consortium), abi.encodeCall(consortium.grantRole, (_role(_h(roleSeed)), _pick(actors, _h(targetSeed)))));
        _record("grantRole", actor, 0, false, ok, reason, false);
    }

    /// @dev An account registers a key with its proof of possession: its own key (accepted), or
    /// another's key it cannot sign for, a proof made for another account, a compressed key, a
    /// wrong prefix, a garbage proof, an empty peer address (all refused).
    function registerMember(uint256 actorSeed, uint256 keySeed) external step {
        keySeed = _h(keySeed);
        address actor = _pick(actors, _h(actorSeed));
        string memory peer = keySeed % 16 == 0 ? "" : "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWfuzz";
        uint256 mine = (keySeed >> 4) % keyPrivate.length;
        uint256 other = (mine + 1 + (keySeed >> 8) % (keyPrivate.length - 1)) % keyPrivate.length;
        uint256 v = (keySeed >> 12) % 8;
        bytes memory key = keyPublic[v == 1 ? other : mine];
        bytes32 message = consortium.keyProofMessage(v == 2 ? _pick(actors, (keySeed >> 16) + 1) : actor);
        if (v == 2 && message == consortium.keyProofMessage(actor)) v = 0; // drew itself
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", message));
        (uint8 sv, bytes32 sr, bytes32 ss) = vm.sign(keyPrivate[mine], digest);
        bytes memory proof = abi.encodePacked(sr, ss, sv);
        if (v == 3) {
            key = new bytes(33); // compressed
            key[0] = 0x02;
        } else if (v == 4) {
            key = abi.encodePacked(bytes1(0x05), _slice(key, 1)); // wrong prefix
        } else if (v == 5) {
            proof = new bytes(65); // garbage
        }
        bool proofValid = v == 0 || v >= 6;
        _register(actor, peer, key, proof, proofValid);
    }

    function _slice(bytes memory b, uint256 from) internal pure returns (bytes memory out) {
        out = new bytes(b.length - from);
        for (uint256 i = 0; i < out.length; ++i) {
            out[i] = b[from + i];
        }
    }

    /// @dev Anyone withdraws its next relayed-publication nonce: always succeeds, moves it on by one.
    function cancelPublishNonce(uint256 actorSeed) external step {
        address actor = _pick(actors, _h(actorSeed));
        uint256 before = registry.publishNonce(actor);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try registry.cancelPublishNonce() returns (uint256 cancelled) {
            ok = cancelled == before;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("cancelPublishNonce", actor, 0, true, ok, reason, false);
        if (registry.publishNonce(actor) != before + (ok ? 1 : 0)) _violate(LEDGER_ACCOUNTING, "a publish nonce moved wrongly");
    }

    /// @dev Time passes (usually 1..3 blocks, sometimes up to MAX_ROLL); the honest members'
    /// daemons wake up with the new block, the honest keeper half of the time (and, whatever
    /// the draw, at least every KEEPER_PERIOD).
    function roll(uint256 blocksSeed) external step {
        blocksSeed = _h(blocksSeed);
        _advance(blocksSeed % 8 == 0 ? 1 + (blocksSeed >> 3) % MAX_ROLL : 1 + (blocksSeed >> 3) % 3);
        if ((blocksSeed >> 16) % 2 == 0 && g.lastKeeperBlock != g.blockNumber) _keeper();
    }

    function keeper() external step {
        _keeper();
    }

    /// @dev I8 (a hole of the old contracts): a task is closed mid-round, its updates pending
    /// (half of the time, by its publisher; by a committee member once the publisher lost its
    /// role), or an already closed task is picked, and then
    /// everyone tries to write to it: committee members score (alone and in batches, in their
    /// windows), anyone settles, providers join, commit and reveal, the keeper proposes and
    /// closes the round, members attest, the publisher closes it again. All must revert.
    function closedTaskWrites(uint256 taskSeed, uint256 actorSeed) external step {
        actorSeed = _h(actorSeed);
        if (!knownHoles) return;
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found) return;
        if (!t.closed) {
            (, uint256 pending) = _pendingOf(t);
            if (pending == 0 || (actorSeed >> 200) % 2 == 0) return;
            address closer = t.publisher;
            if (!_has(PUBLISHER, closer)) closer = t.committee[actorSeed % t.committee.length];
            _closeTask(closer, t);
            if (!t.closed) return;
        }
        _closedTaskScores(t, actorSeed);
        _closedTaskProvider(t, actorSeed >> 64);
        if (t.p.flow == FEDERATION) _closedTaskRound(t, actorSeed >> 128);
        _closeTask(t.publisher, t);
    }

    function _closedTaskScores(GhostTask storage t, uint256 seed) internal {
        (bytes32[] memory pending, uint256 n) = _pendingOf(t);
        if (n == 0) return;
        address member = t.committee[seed % t.committee.length];
        int64[] memory scores = new int64[](n);
        bytes32[] memory batch = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            batch[i] = pending[i];
            scores[i] = _scoreOf(t, member, pending[i], seed >> 8);
            _score(member, t, pending[i], scores[i]);
        }
        _scores(t.committee[(seed >> 16) % t.committee.length], t, batch, scores, false);
        _settle(keeperAccount, t, batch, false);
    }

    function _closedTaskProvider(GhostTask storage t, uint256 seed) internal {
        address provider = _pick(providerPool, seed);
        _join(provider, t);
        bytes32 update = _makeContent(t, provider, Content.Good, 0);
        bytes32 salt = _newSalt(provider, update);
        _commit(provider, t, update, salt, _commitment(t.id, provider, update, salt));
        Commit storage c = t.daemonCommit[provider];
        if (c.update != bytes32(0)) _reveal(provider, t, c.update, c.salt, _parents(t, seed >> 8), 0, false);
    }

    function _closedTaskRound(GhostTask storage t, uint256 seed) internal {
        uint32 round = t.currentRound;
        GhostRound storage r = t.rounds[round];
        bytes32 right = r.accepted.length == 0 ? r.base : _rightResult(t, round);
        _propose(keeperAccount, t, round, r.accepted, right, true, false);
        if (r.proposed.length > 0) _attest(t.committee[seed % t.committee.length], t, round, r.proposed[0], false, false);
        _closeRound(keeperAccount, t, round, right, false);
    }

    /// @dev I-hole of the old contracts: the keeper prepares a settle batch now and sends it later
    /// (another participant may settle an entry first).
    function keeperPreparesSettle(uint256 taskSeed) external step {
        if (!knownHoles) return;
        (GhostTask storage t, bool found) = _ghostTask(_h(taskSeed));
        if (!found || t.closed) return;
        bytes32[] memory batch = _settleableOf(t);
        if (batch.length == 0) return;
        g.staleTask = t.id;
        g.staleBatch = batch;
    }

    function keeperSendsPreparedSettle() external step {
        if (!knownHoles || g.staleBatch.length == 0) return;
        GhostTask storage t = g.tasks[g.staleTask];
        bytes32[] memory batch = g.staleBatch;
        delete g.staleBatch;
        if (t.closed) return;
        _settle(keeperAccount, t, batch, true);
    }

    // =====================================================================================
    // The keeper: what an honest participant does when woken
    // =====================================================================================

    /// @dev For every open task: settle what can be settled; in a federation task whose round
    /// accepts proposals, propose the right aggregate (or add its CID when the result was already
    /// proposed: the keeper proposes once per round), and after the attestation deadline close
    /// the round (with the right result; the base model when no proposal has more than f
    /// attestations). The honest members attest in their daemons. None of it may revert.
    function _keeper() internal {
        g.inKeeper = true;
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            if (t.closed) continue;
            bytes32[] memory due = _settleableOf(t);
            if (due.length > 0) _settle(keeperAccount, t, due, true);
            if (t.p.flow == FEDERATION && !t.closed) _keeperRound(t);
        }
        g.lastKeeperBlock = g.blockNumber;
        g.lastKeeperSeq = ++g.seq;
        ++g.keeperRuns;
        g.inKeeper = false;
    }

    /// @dev I1: someone saw the keeper's proposal in the mempool and goes first (half of the
    /// time): with the same result and a CID that points to nothing, or (one in 4) with a wrong
    /// result; a liar then attests its wrong result.
    function _frontRunProposal(GhostTask storage t, uint32 round, bytes32[] memory included, bytes32 right) internal {
        uint256 s = uint256(keccak256(abi.encode("front-run proposal", g.seq, t.id)));
        if (s % 4 >= 2) return;
        address attacker = _pick(actors, s >> 8);
        bytes32 result = s % 4 == 0 ? right : keccak256(abi.encode("wrong aggregate", (s >> 16) % 4));
        _propose(attacker, t, round, included, result, false, false);
    }

    function _keeperRound(GhostTask storage t) internal {
        uint32 round = t.currentRound;
        GhostRound storage r = t.rounds[round];
        if (block.number < _submissionsClose(t, round) || r.pending > 0) return;
        bytes32[] memory included = r.accepted;
        if (included.length == 0) {
            _propose(keeperAccount, t, round, included, r.base, true, true);
            return;
        }
        bytes32 right = _rightResult(t, round);
        if (!r.proposedBy[keeperAccount]) {
            if (knownHoles) _frontRunProposal(t, round, included, right);
            _propose(keeperAccount, t, round, included, right, true, true);
        }
        (,,, uint256 attestationClose) = _roundDeadlines(t, round);
        if (!r.finalized && block.number >= attestationClose) _closeRound(keeperAccount, t, round, right, true);
    }
}
