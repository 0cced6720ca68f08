// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundLedger} from "../../../contracts/interfaces/IRoundLedger.sol";
import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {LedgerModel} from "./LedgerModel.sol";

/// @title LedgerChecks — the invariants, as views that revert with what broke
/// @dev Called by the invariant test after every call of a sequence. Each compares the chain
/// (views) with the ghost (what the handler knows: who trained what, who is honest, what the
/// rules predict) and with what the actions noted at call time (`_violate`).
abstract contract LedgerChecks is LedgerModel {
    uint256 internal constant ALL_INVARIANTS = (1 << INVARIANT_COUNT) - 1;

    /// @notice Safety (B1): no update that is not good is ever accepted, every accepted update had
    /// at least one honest approval (the f lying members' approvals alone never suffice), and no
    /// update is accepted while its provider lacks PROVIDER_ROLE.
    function checkNoBadUpdateAccepted() external view {
        _check(NO_BAD_UPDATE_ACCEPTED);
    }

    /// @notice The honest majority decides (B2): once floor(n/2)+1 honest members approved a good
    /// update it is accepted (rejected only when its provider lost its role); once n - floor(n/2)
    /// honest members rejected a bad one it is rejected (whatever the f liars said, before any
    /// deadline).
    function checkHonestMajorityDecides() external view {
        _check(HONEST_MAJORITY_DECIDES);
    }

    /// @notice Liveness of decisions: in an open task no update is still pending once the keeper
    /// acted after its scoring deadline with a quorum of scores, or after the end of its scoring
    /// extension without one (then it expired: no credit, no blame).
    function checkUpdatesDecidedInTime() external view {
        _check(UPDATES_DECIDED_IN_TIME);
    }

    /// @notice Liveness of rounds (I1, I2): the current round of an open federation task is
    /// finalized once the keeper acted at or after start + roundLength + roundExtension +
    /// scoreWindow + scoreExtension + attestWindow; the keeper acts at least every KEEPER_PERIOD
    /// blocks, so no round stays open KEEPER_PERIOD blocks past that bound — whatever liars,
    /// dead CIDs, flooding proposers, offline or revoked members do.
    function checkRoundsFinalizeInTime() external view {
        _check(ROUNDS_FINALIZE_IN_TIME);
    }

    /// @notice I8: once a task is closed nothing observable about it changes (task, committee,
    /// rounds and their deadlines, proposals, updates, participation, commitments); it closed
    /// exactly when the rules say.
    function checkClosedTasksFrozen() external view {
        _check(CLOSED_TASKS_FROZEN);
    }

    /// @notice I3: the provider of record of an update is the first account that committed to
    /// its content (anywhere in the ledger): a copier who saw it revealed gets nothing.
    function checkFirstCommitterKeepsCredit() external view {
        _check(FIRST_COMMITTER_KEEPS_CREDIT);
    }

    /// @notice I3: credit goes to the author: the provider of record of an update is whoever
    /// trained it, even when a copier front-ran its reveal.
    function checkCreditGoesToAuthor() external view {
        _check(CREDIT_GOES_TO_AUTHOR);
    }

    /// @notice I4, C1: no update on chain is a replayed model (the round's base model, another
    /// task's initial weights, update or result).
    function checkNoReplayedModel() external view {
        _check(NO_REPLAYED_MODEL);
    }

    /// @notice Verified aggregation: a finalized round's result is the right aggregate of its
    /// accepted updates and someone named a CID its bytes can be fetched from (I1); or its base
    /// model when it had none, or when it was closed at the attestation deadline with no proposal
    /// attested by more than f members.
    function checkFinalizedRoundsRight() external view {
        _check(FINALIZED_ROUNDS_RIGHT);
    }

    /// @notice The ledger's bookkeeping matches the rules: every update's provider, round, status,
    /// counts and mask; each round's start, base, counts, accepted digest (acceptance order),
    /// attestations, result and deadlines; proposals; participation (dag: undecided counts);
    /// content marked used.
    function checkLedgerAccounting() external view {
        _check(LEDGER_ACCOUNTING);
    }

    /// @notice Every call succeeded exactly when the rules (LedgerModel) say it must, and every
    /// decision is the one the rules predict.
    function checkCallsMatchRules() external view {
        _check(CALLS_MATCH_RULES);
    }

    /// @notice The honest keeper's, the honest members' and the authors' calls never revert
    /// (including a settle batch prepared before another participant settled one of its entries,
    /// and a reveal a copier tried to front-run).
    function checkHonestActionsSucceed() external view {
        _check(HONEST_ACTIONS_SUCCEED);
    }

    /// @notice Every invariant above, in one pass.
    function checkAll() external view {
        _check(ALL_INVARIANTS);
    }

    function _check(uint256 bits) internal view {
        if (bits & CALLS_MATCH_RULES != 0 && g.mismatches != 0) {
            revert(string.concat(_str(g.mismatches), " call(s) against the rules; first: ", g.firstMismatch));
        }
        if (bits & HONEST_ACTIONS_SUCCEED != 0 && g.honestFailures != 0) {
            revert(string.concat(_str(g.honestFailures), " honest call(s) reverted; first: ", g.firstHonestFailure));
        }
        for (uint256 bit = 0; bit < INVARIANT_COUNT; ++bit) {
            if (bits & (1 << bit) != 0 && g.violations[1 << bit] != 0) revert(g.firstViolation[1 << bit]);
        }
        if (bits & ROUNDS_FINALIZE_IN_TIME != 0 && g.blockNumber >= g.lastKeeperBlock + KEEPER_PERIOD) {
            revert(string.concat("the keeper idled since block ", _str(g.lastKeeperBlock)));
        }
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            if (t.frozen && bits & CLOSED_TASKS_FROZEN != 0) {
                // A write names its task: the closed tasks the last action called the ledger on,
                // and one more in rotation (a write that reaches another task's state is caught
                // within a few calls).
                if (!g.isTouched[t.id] && g.ledgerCalls % g.taskIds.length != i) continue;
                if (_fingerprint(t) != t.frozenFingerprint) {
                    revert(string.concat("task ", _str(t.id), " changed after it closed at block ", _str(t.frozenAtBlock)));
                }
                // Everything else held when it froze, and nothing observable changed since.
                continue;
            }
            if (bits & LEDGER_ACCOUNTING != 0) _checkTask(t);
            for (uint256 j = 0; j < t.submitted.length; ++j) {
                _checkUpdate(bits, t, t.submitted[j]);
            }
            if (t.p.flow == FEDERATION) _checkRounds(bits, t);
        }
    }

    function _checkTask(GhostTask storage t) internal view {
        ITaskRegistry.TaskInfo memory info = registry.getTask(t.id);
        if (info.closed != t.closed || info.currentRound != t.currentRound) {
            revert(string.concat("task ", _str(t.id), ": closed or current round differ from the rules"));
        }
        for (uint256 i = 0; i < providerPool.length; ++i) {
            address provider = providerPool[i];
            (bool joined, uint32 value) = updateLedger.participation(t.id, provider);
            uint32 expected = t.p.flow == DAG ? t.dagPending[provider] : t.lastRound[provider];
            if (joined != t.joined[provider] || value != expected) {
                revert(string.concat("task ", _str(t.id), ": participation of ", nameOf[provider], " differs"));
            }
        }
    }

    function _checkUpdate(uint256 bits, GhostTask storage t, bytes32 h) internal view {
        GhostUpdate storage u = t.updates[h];
        IUpdateLedger.UpdateInfo memory onChain = updateLedger.getUpdate(t.id, h);
        IUpdateLedger.Status s = onChain.status;
        bool good = u.content == Content.Good;
        if (bits & NO_BAD_UPDATE_ACCEPTED != 0 && s == IUpdateLedger.Status.Accepted
                && (!good || u.honestPasses == 0 || u.providerLostRole)) {
            revert(string.concat(
                "accepted without an honest approval or a provider: ", _updateName(t, h), " (liar approvals ",
                _str(u.liarPasses), ", honest approvals ", _str(u.honestPasses), ")"
            ));
        }
        if (bits & HONEST_MAJORITY_DECIDES != 0) {
            uint256 n = t.committee.length;
            uint256 majority = n / 2 + 1;
            bool revoked = s == IUpdateLedger.Status.Rejected && u.providerLostRole;
            if (good && u.honestPasses >= majority && s != IUpdateLedger.Status.Accepted && !revoked) {
                revert(string.concat("approved by an honest majority but not accepted: ", _updateName(t, h)));
            }
            if (!good && u.honestScores - u.honestPasses >= n - majority + 1 && s != IUpdateLedger.Status.Rejected) {
                revert(string.concat("rejected by an honest majority but not rejected: ", _updateName(t, h)));
            }
        }
        if (bits & UPDATES_DECIDED_IN_TIME != 0 && !t.closed && s == IUpdateLedger.Status.Pending) {
            uint256 deadline = _scoreDeadline(t, h);
            bool quorum = u.scoreCount >= t.p.quorum;
            if (deadline + t.p.scoreExtension <= g.lastKeeperBlock
                    || (quorum && deadline <= g.lastKeeperBlock && g.lastKeeperSeq > u.lastScoreSeq)) {
                revert(string.concat(
                    "still pending after the keeper acted at block ", _str(g.lastKeeperBlock), ": ",
                    _updateName(t, h), " (deadline ", _str(deadline), ", scores ", _str(u.scoreCount), ")"
                ));
            }
        }
        if (bits & FIRST_COMMITTER_KEEPS_CREDIT != 0 && onChain.provider != g.firstCommitter[h]) {
            revert(string.concat(_updateName(t, h), " first committed to by ", nameOf[g.firstCommitter[h]],
                " is credited to ", nameOf[onChain.provider]));
        }
        if (bits & CREDIT_GOES_TO_AUTHOR != 0 && u.author != address(0) && onChain.provider != u.author) {
            revert(string.concat(_updateName(t, h), " trained by ", nameOf[u.author], " is credited to ",
                nameOf[onChain.provider]));
        }
        if (bits & NO_REPLAYED_MODEL != 0 && (u.content == Content.BaseReplay || u.content == Content.ForeignReplay)) {
            revert(string.concat("a replayed model was revealed: ", _updateName(t, h)));
        }
        if (bits & LEDGER_ACCOUNTING != 0) {
            if (onChain.provider != u.provider || onChain.round != u.round || uint8(s) != u.status
                    || onChain.passCount != u.passCount || onChain.scoreCount != u.scoreCount
                    || onChain.scoredMask != u.scoredMask) {
                revert(string.concat(_updateName(t, h), ": stored update differs from the rules"));
            }
            if (s == IUpdateLedger.Status.Pending && updateLedger.scoreDeadline(t.id, h) != _scoreDeadline(t, h)) {
                revert(string.concat(_updateName(t, h), ": scoreDeadline differs from the rules"));
            }
        }
    }

    function _checkRounds(uint256 bits, GhostTask storage t) internal view {
        if (bits & (ROUNDS_FINALIZE_IN_TIME | FINALIZED_ROUNDS_RIGHT | LEDGER_ACCOUNTING) == 0) return;
        uint32 current = t.currentRound;
        if (bits & ROUNDS_FINALIZE_IN_TIME != 0 && !t.closed && !t.rounds[current].finalized) {
            uint256 bound = _roundBound(t, current);
            if (bound <= g.lastKeeperBlock || bound + KEEPER_PERIOD <= g.blockNumber) {
                GhostRound storage r = t.rounds[current];
                revert(string.concat(
                    "round ", _str(current), " of task ", _str(t.id), " (start ", _str(r.start), ", bound ",
                    _str(bound), ") not finalized at block ", _str(g.blockNumber), " (keeper at ",
                    _str(g.lastKeeperBlock), ", pending ", _str(r.pending), ", accepted ", _str(r.accepted.length),
                    ", leading ", _str(r.leading), ")"
                ));
            }
        }
        for (uint32 round = 1; round <= current; ++round) {
            GhostRound storage r = t.rounds[round];
            if (bits & FINALIZED_ROUNDS_RIGHT != 0 && r.finalized) {
                if (r.accepted.length == 0) {
                    if (r.result != r.base) revert(string.concat(_where(t, round), " with no update changed its model"));
                } else if (r.result == r.base) {
                    if (!r.keptBase || r.leading > t.p.f) {
                        revert(string.concat(_where(t, round), " kept its base model without the deadline fallback"));
                    }
                } else if (r.result != _rightResult(t, round)) {
                    revert(string.concat(_where(t, round), " finalized a wrong aggregate"));
                } else if (!r.liveCid[r.result]) {
                    revert(string.concat(_where(t, round), " finalized an aggregate whose only CIDs are dead"));
                }
            }
            if (bits & LEDGER_ACCOUNTING != 0) _checkRoundStored(t, round);
        }
    }

    function _where(GhostTask storage t, uint32 round) internal view returns (string memory) {
        return string.concat("round ", _str(round), " of task ", _str(t.id));
    }

    function _checkRoundStored(GhostTask storage t, uint32 round) internal view {
        GhostRound storage r = t.rounds[round];
        IRoundLedger.RoundInfo memory ri = roundLedger.getRound(t.id, round);
        if (ri.startBlock != r.start || ri.baseModelHash != r.base || ri.submittedCount != r.submitted
                || ri.pendingCount != r.pending || ri.acceptedCount != r.accepted.length
                || ri.acceptedDigest != _digest(r.accepted)) {
            revert(string.concat(_where(t, round), ": start, base, counts or digest differ from the rules"));
        }
        if (ri.attestedMask != r.attestedMask || ri.leadingAttestations != r.leading || ri.finalized != r.finalized
                || ri.resultHash != r.result) {
            revert(string.concat(_where(t, round), ": attestations or result differ from the rules"));
        }
        for (uint256 i = 0; i < r.proposed.length; ++i) {
            bytes32 result = r.proposed[i];
            (address proposer, uint8 attestations) = roundLedger.getProposal(t.id, round, result);
            if (proposer != r.proposer[result] || attestations != r.attestations[result]) {
                revert(string.concat(_where(t, round), ": a proposal differs from the rules"));
            }
        }
        if (round == t.currentRound) {
            (uint256 a, uint256 b, uint256 c, uint256 d) = roundLedger.roundDeadlines(t.id, round);
            (uint256 ga, uint256 gb, uint256 gc, uint256 gd) = _roundDeadlines(t, round);
            if (a != ga || b != gb || c != gc || d != gd) revert(string.concat(_where(t, round), ": deadlines differ from the rules"));
        }
    }

    /// @notice Per ledger function: how often the sequence called it and how often it succeeded.
    function callStats() external view returns (string[] memory names, uint256[] memory calls, uint256[] memory successes) {
        names = g.callNames;
        calls = new uint256[](names.length);
        successes = new uint256[](names.length);
        for (uint256 i = 0; i < names.length; ++i) {
            uint256[2] storage c = g.callCounts[keccak256(bytes(names[i]))];
            calls[i] = c[0];
            successes[i] = c[1];
        }
    }

    /// @notice What a sequence reached (for the sanity walks and the logs).
    function stats()
        external
        view
        returns (Stats memory s, uint256 tasks, uint256 updates, uint256 calls, uint256 successes, uint256 keeperRuns)
    {
        s = g.stats;
        tasks = g.taskIds.length;
        for (uint256 i = 0; i < tasks; ++i) {
            updates += g.tasks[g.taskIds[i]].submitted.length;
        }
        calls = g.ledgerCalls;
        successes = g.ledgerSuccesses;
        keeperRuns = g.keeperRuns;
    }
}
