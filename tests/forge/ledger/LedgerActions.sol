// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundLedger} from "../../../contracts/interfaces/IRoundLedger.sol";
import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {LedgerModel} from "./LedgerModel.sol";

/// @title LedgerActions — what the random call sequences can do
/// @dev Two layers. Primitives (`_publish`, `_join`, `_submit`, ...): one per ledger function;
/// each asks LedgerModel whether the call must succeed, makes it as the given actor, records a
/// mismatch either way, and keeps the ghost in step. Actions (external, the fuzzer's targets):
/// draw an actor, a task and arguments from the fuzzed seeds and call primitives. Random actors
/// are never "honest" (a revert is only compared with the rules); the keeper and the honest
/// committee members are, and their reverts are failures in themselves.
abstract contract LedgerActions is LedgerModel {
    /// @dev Forge may reset block.number between calls of a sequence: every action starts at the
    /// block the sequence reached.
    modifier step() {
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
        _record("publishTask", actor, taskId, expected, ok, reason, false);
        if (!ok) return;
        g.taskIds.push(taskId);
        GhostTask storage t = g.tasks[taskId];
        t.id = taskId;
        t.flow = p.flow;
        t.publisher = actor;
        t.threshold = p.threshold;
        t.initialWeights = p.initialWeightsHash;
        t.committee = p.committee;
    }

    function _join(address actor, GhostTask storage t) internal {
        bool expected = _expectJoin(actor, t.id);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try updateLedger.joinTask(t.id) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("joinTask", actor, t.id, expected, ok, reason, false);
        _freeze(t.id);
    }

    function _submit(address actor, GhostTask storage t, uint32 round, bytes32 update, uint32 samples) internal {
        bool expected = _expectSubmit(actor, t.id, round, update, samples);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try updateLedger.submitUpdate(t.id, round, update, "bafkreiupdate", samples) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("submitUpdate", actor, t.id, expected, ok, reason, false);
        if (ok) _noteSubmitted(t, update, actor, round);
        _freeze(t.id);
    }

    function _submitDag(address actor, GhostTask storage t, bytes32[] memory parents, bytes32 update) internal {
        bool expected = _expectSubmitDag(actor, t.id, parents, update);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try updateLedger.submitDagUpdate(t.id, parents, update, "bafkreiupdate", SAMPLES) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("submitDagUpdate", actor, t.id, expected, ok, reason, false);
        if (ok) _noteSubmitted(t, update, actor, 0);
        _freeze(t.id);
    }

    function _score(address actor, GhostTask storage t, bytes32 update, int64 score) internal {
        bool expected = _expectScore(actor, t.id, update);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try updateLedger.submitScore(t.id, update, score) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("submitScore", actor, t.id, expected, ok, reason, false);
        if (ok) {
            _noteScore(t, actor, update, score);
            _observe(t, update);
        }
        _freeze(t.id);
    }

    /// @dev `batch` holds distinct updates (so an entry's skip depends on the state before the call).
    function _scores(address actor, GhostTask storage t, bytes32[] memory batch, int64[] memory scores, bool honest)
        internal
    {
        bool expected = _expectScores(actor, t.id, batch);
        bool[] memory skipped = new bool[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) {
            IUpdateLedger.Status s = updateLedger.getUpdate(t.id, batch[i]).status;
            skipped[i] = s == IUpdateLedger.Status.Accepted || s == IUpdateLedger.Status.Rejected;
        }
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try updateLedger.submitScores(t.id, batch, scores) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("submitScores", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            for (uint256 i = 0; i < batch.length; ++i) {
                if (skipped[i]) continue;
                _noteScore(t, actor, batch[i], scores[i]);
                _observe(t, batch[i]);
            }
        }
        _freeze(t.id);
    }

    function _settle(address actor, GhostTask storage t, bytes32[] memory batch, bool honest) internal {
        bool expected = _expectSettle(actor, t.id, batch);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try updateLedger.settleUpdates(t.id, batch) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("settleUpdates", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            for (uint256 i = 0; i < batch.length; ++i) {
                _observe(t, batch[i]);
            }
        }
        _freeze(t.id);
    }

    /// @dev `liveCid`: the proposal names a CID whose bytes can be fetched (an honest proposer's).
    function _propose(
        address actor,
        GhostTask storage t,
        uint32 round,
        bytes32[] memory included,
        bytes32 result,
        bool liveCid,
        bool honest
    ) internal {
        bool expected = _expectPropose(actor, t.id, round, included, result);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try roundLedger.proposeAggregate(t.id, round, included, result, liveCid ? "bafkreilive" : "bafkreidead") {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("proposeAggregate", actor, t.id, expected, ok, reason, honest);
        if (ok) {
            t.proposed[round].push(result);
            if (liveCid) t.liveCid[round][result] = true;
        }
        _freeze(t.id);
    }

    function _attest(address actor, GhostTask storage t, uint32 round, bytes32 result, bool honest) internal {
        bool expected = _expectAttest(actor, t.id, round, result);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try roundLedger.attestAggregate(t.id, round, result) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("attestAggregate", actor, t.id, expected, ok, reason, honest);
        _freeze(t.id);
    }

    function _close(address actor, GhostTask storage t) internal {
        bool expected = _expectClose(actor, t.id);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try registry.closeTask(t.id) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("closeTask", actor, t.id, expected, ok, reason, false);
        _freeze(t.id);
    }

    function _register(address actor, string memory peer, bytes memory key) internal {
        bool expected = _expectRegister(actor, peer, key);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try consortium.registerMember(peer, key) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("registerMember", actor, 0, expected, ok, reason, false);
    }

    // ---- ghost bookkeeping ----

    function _noteSubmitted(GhostTask storage t, bytes32 update, address actor, uint32 round) internal {
        GhostUpdate storage u = t.updates[update];
        u.made = true;
        u.firstSubmitter = actor;
        u.round = round;
        u.status = PENDING;
        t.submitted.push(update);
    }

    function _noteScore(GhostTask storage t, address member, bytes32 update, int64 score) internal {
        GhostUpdate storage u = t.updates[update];
        bool pass = score >= t.threshold;
        if (kindOf[member] == Kind.HonestValidator) {
            ++u.honestScores;
            if (pass) ++u.honestPasses;
        } else if (pass) {
            ++u.liarPasses;
        }
    }

    /// @dev Takes in a decision; acceptance order is the order the handler observes, which is the
    /// chain's as long as every entry of a batch is observed in batch order.
    function _observe(GhostTask storage t, bytes32 update) internal {
        GhostUpdate storage u = t.updates[update];
        uint8 status = uint8(updateLedger.getUpdate(t.id, update).status);
        if (u.status == PENDING && status == ACCEPTED) {
            if (t.flow == FEDERATION) t.accepted[u.round].push(update);
            else t.dagAccepted.push(update);
        }
        u.status = status;
    }

    // ---- choices ----

    /// @dev Fuzzed values are often small or edge values (0, 1, type(uint256).max): every seed is
    /// hashed before its bits are used.
    function _h(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, "ledgerlearn-fuzz-seed")));
    }

    /// @dev A provider's client joins before its first submission (three times out of four).
    function _joinFirst(address actor, GhostTask storage t, uint256 seed) internal {
        (bool joined,) = updateLedger.participation(t.id, actor);
        if (!joined && (seed >> 128) % 4 != 0) _join(actor, t);
    }

    function _contentOf(address actor, uint256 seed) internal view returns (Content) {
        Kind kind = kindOf[actor];
        if (kind == Kind.HonestProvider || kind == Kind.HonestValidator) return Content.Good;
        if (kind == Kind.ByzantineProvider) return seed % 4 == 0 ? Content.BaseReplay : Content.Poisoned;
        return Content(seed % 3);
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
        uint256 accepted = t.dagAccepted.length;
        if (seed % 8 != 0) {
            uint256 maxParents = registry.getTask(t.id).maxParents;
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
            if (updateLedger.getUpdate(t.id, t.submitted[i]).status == IUpdateLedger.Status.Pending) {
                list[count++] = t.submitted[i];
            }
        }
    }

    /// @dev Pending updates whose scoring deadline has passed: what settleUpdates takes.
    function _expiredPending(GhostTask storage t) internal view returns (bytes32[] memory out) {
        (bytes32[] memory pending, uint256 n) = _pendingOf(t);
        uint256 count;
        for (uint256 i = 0; i < n; ++i) {
            if (block.number >= updateLedger.scoreDeadline(t.id, pending[i])) pending[count++] = pending[i];
        }
        out = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            out[i] = pending[i];
        }
    }

    /// @dev What `member` can still score: pending, not scored by it, before the deadline.
    function _scorableBy(GhostTask storage t, uint256 member) internal view returns (bytes32[] memory out) {
        (bytes32[] memory pending, uint256 n) = _pendingOf(t);
        uint256 count;
        for (uint256 i = 0; i < n; ++i) {
            if (_scorable(t.id, member, pending[i])) pending[count++] = pending[i];
        }
        out = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            out[i] = pending[i];
        }
    }

    // =====================================================================================
    // Actions (the fuzzer's targets)
    // =====================================================================================

    function publishFederation(uint256 actorSeed, uint256 paramSeed) external step {
        actorSeed = _h(actorSeed);
        paramSeed = _h(paramSeed);
        _publishAction(FEDERATION, actorSeed, paramSeed);
    }

    function publishDag(uint256 actorSeed, uint256 paramSeed) external step {
        actorSeed = _h(actorSeed);
        paramSeed = _h(paramSeed);
        _publishAction(DAG, actorSeed, paramSeed);
    }

    function _publishAction(uint8 flow, uint256 actorSeed, uint256 paramSeed) internal {
        if (g.taskIds.length >= MAX_TASKS || _openTasks() >= MAX_OPEN_TASKS) return;
        // A publisher three times out of four, anyone otherwise.
        address actor = actorSeed % 4 != 0 ? actors[(actorSeed >> 2) % 2] : _pick(actors, actorSeed >> 2);
        _publish(actor, _taskParams(flow, paramSeed));
    }

    function joinTask(uint256 actorSeed, uint256 taskSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found) return;
        _join(_mostly(providerPool, actorSeed), t);
    }

    /// @dev A federation update for the current round (sometimes the next or previous one, now
    /// and then to a dag task).
    function submitUpdate(uint256 actorSeed, uint256 taskSeed, uint256 contentSeed, uint256 roundSeed)
        external
        step
    {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        contentSeed = _h(contentSeed);
        roundSeed = _h(roundSeed);
        (GhostTask storage t, bool found) = _ghostTaskOf(roundSeed % 16 == 3 ? DAG : FEDERATION, taskSeed);
        if (!found || t.submitted.length >= MAX_UPDATES) return;
        address actor = _mostly(providerPool, actorSeed);
        _joinFirst(actor, t, contentSeed);
        uint32 round = t.flow == FEDERATION ? registry.getTask(t.id).currentRound : 1;
        if (roundSeed % 16 == 1) round += 1;
        else if (roundSeed % 16 == 2 && round > 1) round -= 1;
        bytes32 update = _makeContent(t, actor, _contentOf(actor, contentSeed));
        _submit(actor, t, round, update, contentSeed % 64 == 0 ? 0 : SAMPLES);
    }

    function submitDagUpdate(uint256 actorSeed, uint256 taskSeed, uint256 contentSeed, uint256 parentSeed)
        external
        step
    {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        contentSeed = _h(contentSeed);
        parentSeed = _h(parentSeed);
        (GhostTask storage t, bool found) = _ghostTaskOf(DAG, taskSeed);
        if (!found || t.submitted.length >= MAX_UPDATES) return;
        address actor = _mostly(providerPool, actorSeed);
        _joinFirst(actor, t, contentSeed);
        _submitDag(actor, t, _parents(t, parentSeed), _makeContent(t, actor, _contentOf(actor, contentSeed)));
    }

    /// @dev The providers' clients: each one in `mask` joins if it has not, and submits its own
    /// content (honest: good; Byzantine: poisoned or the base model; the copier: anything).
    function providersSubmit(uint256 taskSeed, uint256 mask, uint256 contentSeed) external step {
        taskSeed = _h(taskSeed);
        mask = _h(mask);
        contentSeed = _h(contentSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found) return;
        for (uint256 i = 0; i < providerPool.length; ++i) {
            if ((mask >> i) & 1 == 0 || t.submitted.length >= MAX_UPDATES) continue;
            address provider = providerPool[i];
            uint256 seed = uint256(keccak256(abi.encode(contentSeed, i)));
            _joinFirst(provider, t, seed);
            bytes32 update = _makeContent(t, provider, _contentOf(provider, seed));
            if (t.flow == FEDERATION) _submit(provider, t, registry.getTask(t.id).currentRound, update, SAMPLES);
            else _submitDag(provider, t, _parents(t, seed >> 8), update);
        }
    }

    /// @dev A byte-identical copy of an update already on chain, by the copier (or anyone).
    function copyUpdate(uint256 actorSeed, uint256 taskSeed, uint256 updateSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        updateSeed = _h(updateSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.submitted.length == 0) return;
        address actor = actorSeed % 2 == 0 ? copier : _pick(actors, actorSeed >> 1);
        bytes32 update = t.submitted[updateSeed % t.submitted.length];
        if (t.flow == FEDERATION) {
            _submit(actor, t, registry.getTask(t.id).currentRound, update, SAMPLES);
        } else {
            bytes32[] memory parents = new bytes32[](1);
            parents[0] = t.initialWeights;
            _submitDag(actor, t, parents, update);
        }
    }

    /// @dev Known hole (I3): the copier sees an honest provider's update in the mempool and gets
    /// its own copy mined first; the author's transaction then fails as a duplicate.
    function frontRunUpdate(uint256 victimSeed, uint256 taskSeed, uint256 parentSeed) external step {
        victimSeed = _h(victimSeed);
        taskSeed = _h(taskSeed);
        parentSeed = _h(parentSeed);
        if (!knownHoles) return;
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.submitted.length + 2 > MAX_UPDATES) return;
        address victim = _pick(honestProviders, victimSeed);
        bytes32 update = _makeContent(t, victim, Content.Good);
        if (t.flow == FEDERATION) {
            uint32 round = registry.getTask(t.id).currentRound;
            if (!_expectSubmit(victim, t.id, round, update, SAMPLES)) return; // the author could not submit anyway
            if (!_expectSubmit(copier, t.id, round, update, SAMPLES)) _join(copier, t);
            _submit(copier, t, round, update, SAMPLES);
            _submit(victim, t, round, update, SAMPLES);
        } else {
            bytes32[] memory parents = _parents(t, parentSeed);
            if (!_expectSubmitDag(victim, t.id, parents, update)) return;
            if (!_expectSubmitDag(copier, t.id, parents, update)) _join(copier, t);
            _submitDag(copier, t, parents, update);
            _submitDag(victim, t, parents, update);
        }
    }

    function submitScore(uint256 actorSeed, uint256 taskSeed, uint256 updateSeed, uint256 scoreSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        updateSeed = _h(updateSeed);
        scoreSeed = _h(scoreSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.submitted.length == 0) return;
        if (!knownHoles && _isClosed(t.id)) return; // known hole: a closed task still takes scores
        address actor = _scorer(t, actorSeed);
        bytes32 update = t.submitted[updateSeed % t.submitted.length];
        _score(actor, t, update, _scoreOf(t, actor, update, scoreSeed));
    }

    function submitScores(uint256 actorSeed, uint256 taskSeed, uint256 pickSeed, uint256 scoreSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        pickSeed = _h(pickSeed);
        scoreSeed = _h(scoreSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.submitted.length == 0) return;
        if (!knownHoles && _isClosed(t.id)) return; // known hole: a closed task still takes scores
        address actor = _scorer(t, actorSeed);
        bytes32[] memory batch = _distinct(t.submitted, pickSeed, 1 + (pickSeed >> 8) % 4);
        int64[] memory scores = new int64[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) {
            scores[i] = _scoreOf(t, actor, batch[i], scoreSeed >> i);
        }
        _scores(actor, t, batch, scores, false);
    }

    /// @dev The honest members' validator daemons: each online one (three times out of four:
    /// bits 2i, 2i+1 of `onlineMask` not both zero) scores, in one batch, every update it can
    /// still score. They must never revert.
    function honestCommitteeScores(uint256 taskSeed, uint256 onlineMask) external step {
        taskSeed = _h(taskSeed);
        onlineMask = _h(onlineMask);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || _isClosed(t.id)) return;
        for (uint256 i = 0; i < t.committee.length; ++i) {
            address member = t.committee[i];
            if (kindOf[member] != Kind.HonestValidator || (onlineMask >> (2 * i)) & 3 == 0) continue;
            if (!_has(VALIDATOR, member)) continue;
            bytes32[] memory batch = _scorableBy(t, i);
            if (batch.length == 0) continue;
            int64[] memory scores = new int64[](batch.length);
            for (uint256 j = 0; j < batch.length; ++j) {
                scores[j] = _scoreOf(t, member, batch[j], 0);
            }
            _scores(member, t, batch, scores, true);
        }
    }

    /// @dev The lying members, fast: each scores every update it can with a lie.
    function liarsScore(uint256 taskSeed, uint256 scoreSeed) external step {
        taskSeed = _h(taskSeed);
        scoreSeed = _h(scoreSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || _isClosed(t.id)) return;
        for (uint256 i = 0; i < t.committee.length; ++i) {
            address member = t.committee[i];
            if (kindOf[member] != Kind.LyingValidator || !_has(VALIDATOR, member)) continue;
            bytes32[] memory batch = _scorableBy(t, i);
            if (batch.length == 0) continue;
            int64[] memory scores = new int64[](batch.length);
            for (uint256 j = 0; j < batch.length; ++j) {
                scores[j] = _scoreOf(t, member, batch[j], scoreSeed >> j);
            }
            _scores(member, t, batch, scores, false);
        }
    }

    function settleUpdates(uint256 actorSeed, uint256 taskSeed, uint256 pickSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        pickSeed = _h(pickSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.submitted.length == 0) return;
        if (!knownHoles && _isClosed(t.id)) return; // known hole: a closed task still takes settlements
        bytes32[] memory batch = pickSeed % 2 == 0
            ? _expiredPending(t)
            : _distinct(t.submitted, pickSeed >> 1, 1 + (pickSeed >> 9) % 3);
        if (batch.length == 0) return;
        _settle(_pick(actors, actorSeed), t, batch, false);
    }

    /// @dev Any participant's proposal: the right aggregate, a wrong one, the base model, with
    /// the right or a wrong list of updates; in known-holes mode three in four name a dead CID.
    function proposeAggregate(uint256 actorSeed, uint256 taskSeed, uint256 variant) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        variant = _h(variant);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.flow != FEDERATION) return;
        address actor = _pick(actors, actorSeed);
        ITaskRegistry.TaskInfo memory info = registry.getTask(t.id);
        uint32 round = variant % 16 == 0 ? info.currentRound + 1 : info.currentRound;
        bytes32[] memory included = t.accepted[round];
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
        else if (which == 2) result = keccak256(abi.encode("wrong aggregate", variant >> 16));
        else result = roundLedger.getRound(t.id, round).baseModelHash;
        bool live = !(knownHoles && (variant >> 20) % 4 != 0);
        _propose(actor, t, round, included, result, live, false);
    }

    /// @dev Honest members attest only the right aggregate, liars only a wrong one, anyone else anything.
    function attestAggregate(uint256 actorSeed, uint256 taskSeed, uint256 resultSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        resultSeed = _h(resultSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || t.flow != FEDERATION) return;
        address actor = _scorer(t, actorSeed);
        uint32 round = registry.getTask(t.id).currentRound;
        bytes32 right = _rightResult(t, round);
        bytes32[] storage proposed = t.proposed[round];
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
        _attest(actor, t, round, result, false);
    }

    function closeTask(uint256 actorSeed, uint256 taskSeed) external step {
        actorSeed = _h(actorSeed);
        taskSeed = _h(taskSeed);
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found) return;
        _close(actorSeed % 2 == 0 ? t.publisher : _pick(actors, actorSeed >> 1), t);
    }

    function revokeRole(uint256 actorSeed, uint256 roleSeed) external step {
        actorSeed = _h(actorSeed);
        roleSeed = _h(roleSeed);
        address account = _pick(actors, actorSeed);
        bytes32 role = _role(roleSeed);
        if (knownHoles && actorSeed % 4 == 0) {
            // walk into the hole below: an honest member loses its role
            account = _pick(honestValidators, actorSeed >> 1);
            role = VALIDATOR;
        }
        // Known hole: without an attestation deadline and fallback, revoking honest committee
        // members mid-round can leave fewer than k who may attest (the round never finalizes).
        if (!knownHoles && role == VALIDATOR && kindOf[account] == Kind.HonestValidator) return;
        consortium.revokeRole(role, account);
    }

    function grantRole(uint256 actorSeed, uint256 roleSeed) external step {
        actorSeed = _h(actorSeed);
        roleSeed = _h(roleSeed);
        consortium.grantRole(_role(roleSeed), _pick(actors, actorSeed));
    }

    /// @dev Anyone but the admin granting a role: must always revert.
    function strangerGrantsRole(uint256 actorSeed, uint256 targetSeed, uint256 roleSeed) external step {
        actorSeed = _h(actorSeed);
        targetSeed = _h(targetSeed);
        roleSeed = _h(roleSeed);
        address actor = _pick(actors, actorSeed);
        bool ok;
        bytes memory reason;
        vm.prank(actor);
        try consortium.grantRole(_role(roleSeed), _pick(actors, targetSeed)) {
            ok = true;
        } catch (bytes memory r) {
            reason = r;
        }
        _record("grantRole", actor, 0, false, ok, reason, false);
    }

    function registerMember(uint256 actorSeed, uint256 keySeed) external step {
        actorSeed = _h(actorSeed);
        keySeed = _h(keySeed);
        string memory peer = keySeed % 16 == 0 ? "" : "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWfuzz";
        uint256 v = (keySeed >> 4) % 4;
        bytes memory key = new bytes(v == 0 ? 33 : v == 1 ? 65 : v == 2 ? 33 : 20);
        key[0] = v == 0 ? bytes1(0x02) : v == 1 ? bytes1(0x04) : bytes1(0x04); // v == 2: wrong prefix
        _register(_pick(actors, actorSeed), peer, key);
    }

    /// @dev Time passes (usually 1..3 blocks, sometimes up to MAX_ROLL); the honest keeper wakes
    /// up with the new block half of the time, and always once it idled KEEPER_PERIOD blocks.
    function roll(uint256 blocksSeed) external step {
        blocksSeed = _h(blocksSeed);
        g.blockNumber += blocksSeed % 8 == 0 ? 1 + (blocksSeed >> 3) % MAX_ROLL : 1 + (blocksSeed >> 3) % 3;
        vm.roll(g.blockNumber);
        if ((blocksSeed >> 16) % 2 == 0 || g.blockNumber - g.lastKeeperBlock >= KEEPER_PERIOD) _keeper();
    }

    function keeper() external step {
        _keeper();
    }

    /// @dev Known hole: the keeper prepares a settle batch now and sends it later (the race with
    /// another participant settling an entry first).
    function keeperPreparesSettle(uint256 taskSeed) external step {
        taskSeed = _h(taskSeed);
        if (!knownHoles) return;
        (GhostTask storage t, bool found) = _ghostTask(taskSeed);
        if (!found || _isClosed(t.id)) return;
        bytes32[] memory batch = _expiredPending(t);
        if (batch.length == 0) return;
        g.staleTask = t.id;
        g.staleBatch = batch;
    }

    function keeperSendsPreparedSettle() external step {
        if (!knownHoles || g.staleBatch.length == 0) return;
        GhostTask storage t = g.tasks[g.staleTask];
        bytes32[] memory batch = g.staleBatch;
        delete g.staleBatch;
        if (_isClosed(t.id)) return;
        _settle(keeperAccount, t, batch, true);
    }

    function _role(uint256 seed) internal pure returns (bytes32) {
        uint256 r = seed % 3;
        return r == 0 ? PUBLISHER : r == 1 ? PROVIDER : VALIDATOR;
    }

    // =====================================================================================
    // The keeper: what an honest participant does when woken
    // =====================================================================================

    /// @dev For every open task: settle the pending updates whose deadline passed; in a federation
    /// task whose round accepts proposals, propose the right aggregate (unless proposed) and have
    /// every honest committee member that still holds its role attest it. None of it may revert.
    function _keeper() internal {
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            if (_isClosed(t.id)) continue;
            bytes32[] memory expired = _expiredPending(t);
            if (expired.length > 0) _settle(keeperAccount, t, expired, true);
            if (t.flow == FEDERATION) _keeperRound(t);
        }
        g.lastKeeperBlock = block.number;
        ++g.keeperRuns;
    }

    function _keeperRound(GhostTask storage t) internal {
        ITaskRegistry.TaskInfo memory info = registry.getTask(t.id);
        uint32 round = info.currentRound;
        IRoundLedger.RoundInfo memory r = roundLedger.getRound(t.id, round);
        if (block.number < uint256(r.startBlock) + info.roundLength || r.pendingCount > 0) return;
        bytes32[] memory included = t.accepted[round];
        if (r.acceptedCount == 0) {
            _propose(keeperAccount, t, round, included, r.baseModelHash, true, true);
            return;
        }
        bytes32 right = _rightResult(t, round);
        (address proposer,) = roundLedger.getProposal(t.id, round, right);
        if (proposer == address(0)) _propose(keeperAccount, t, round, included, right, true, true);
        for (uint256 i = 0; i < t.committee.length; ++i) {
            ITaskRegistry.TaskInfo memory now_ = registry.getTask(t.id);
            if (now_.closed || now_.currentRound != round) break; // finalized
            address member = t.committee[i];
            if (kindOf[member] != Kind.HonestValidator || !_has(VALIDATOR, member)) continue;
            if (roundLedger.getRound(t.id, round).attestedMask & uint32(1 << i) != 0) continue;
            _attest(member, t, round, right, true);
        }
    }
}
