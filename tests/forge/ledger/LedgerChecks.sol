// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IRoundLedger} from "../../../contracts/interfaces/IRoundLedger.sol";
import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {LedgerModel} from "./LedgerModel.sol";

/// @title LedgerChecks — the invariants, as views that revert with what broke
/// @dev Called by the invariant test after every call of a sequence.
abstract contract LedgerChecks is LedgerModel {
    // One bit per invariant; `_check(bits)` verifies those in one pass over the ledger.
    uint256 internal constant NO_POISONED_ACCEPTED = 1 << 0;
    uint256 internal constant HONEST_MAJORITY_DECIDES = 1 << 1;
    uint256 internal constant UPDATES_DECIDED_IN_TIME = 1 << 2;
    uint256 internal constant ROUNDS_FINALIZE_IN_TIME = 1 << 3;
    uint256 internal constant CLOSED_TASKS_FROZEN = 1 << 4;
    uint256 internal constant FIRST_SUBMITTER_KEEPS_CREDIT = 1 << 5;
    uint256 internal constant CREDIT_GOES_TO_AUTHOR = 1 << 6;
    uint256 internal constant FINALIZED_ROUNDS_RIGHT = 1 << 7;
    uint256 internal constant ROUND_ACCOUNTING = 1 << 8;
    uint256 internal constant CALLS_MATCH_RULES = 1 << 9;
    uint256 internal constant HONEST_ACTIONS_SUCCEED = 1 << 10;
    uint256 internal constant ALL_INVARIANTS = (1 << 11) - 1;

    /// @notice Safety (B1): no update that is not good is ever accepted, and every accepted update
    /// had at least one honest approval: the f lying members' approvals alone never suffice.
    function checkNoPoisonedUpdateAccepted() external view {
        _check(NO_POISONED_ACCEPTED);
    }

    /// @notice The honest majority decides (B2): once floor(n/2)+1 honest members approved a good
    /// update it is accepted; once n - floor(n/2) honest members rejected a bad one it is rejected
    /// (whatever the f liars said, and before any deadline).
    function checkHonestMajorityDecides() external view {
        _check(HONEST_MAJORITY_DECIDES);
    }

    /// @notice Liveness of decisions: in an open task, no update is still pending after an honest
    /// keeper acted past its scoring deadline (every update is decided within its deadline plus
    /// the keeper's period, KEEPER_PERIOD + MAX_ROLL blocks).
    function checkUpdatesDecidedInTime() external view {
        _check(UPDATES_DECIDED_IN_TIME);
    }

    /// @notice Liveness of rounds: in an open federation task, the current round's scoring
    /// deadline is still ahead of the keeper's last action: a round is finalized (or its task
    /// closed) within roundLength + scoreWindow + KEEPER_PERIOD + MAX_ROLL blocks of its start.
    function checkRoundsFinalizeInTime() external view {
        _check(ROUNDS_FINALIZE_IN_TIME);
    }

    /// @notice I8: once a task is closed nothing observable about it changes (task, committee,
    /// rounds, proposals, updates, participation).
    function checkClosedTasksFrozen() external view {
        _check(CLOSED_TASKS_FROZEN);
    }

    /// @notice C3: the first submitter of a content hash stays its provider (a byte-identical copy
    /// is refused and gets no credit).
    function checkFirstSubmitterKeepsCredit() external view {
        _check(FIRST_SUBMITTER_KEEPS_CREDIT);
    }

    /// @notice I3: credit goes to the author: the provider of record of an update is whoever
    /// trained it, even when a copier saw it in the mempool.
    function checkCreditGoesToAuthor() external view {
        _check(CREDIT_GOES_TO_AUTHOR);
    }

    /// @notice Verified aggregation: a finalized round's result is the right aggregate of its
    /// accepted updates (its base model when none), and (I1) someone gave a CID its bytes can be
    /// fetched from.
    function checkFinalizedRoundsRight() external view {
        _check(FINALIZED_ROUNDS_RIGHT);
    }

    /// @notice The ledger's bookkeeping matches what happened: each update's status is the one
    /// the handler observed, each round's pending and accepted counts and its accepted digest
    /// (acceptance order) match the ghost.
    function checkRoundAccounting() external view {
        _check(ROUND_ACCOUNTING);
    }

    /// @notice Every call succeeded exactly when the rules (LedgerModel) say it must: honest
    /// calls never revert, unauthorised or out-of-window calls always do.
    function checkCallsMatchRules() external view {
        _check(CALLS_MATCH_RULES);
    }

    /// @notice The honest keeper's and honest members' calls never revert (including a settle
    /// batch prepared before another participant settled one of its entries).
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
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            if (bits & CLOSED_TASKS_FROZEN != 0 && t.frozen && _fingerprint(t) != t.frozenFingerprint) {
                revert(string.concat("task ", _str(t.id), " changed after it closed at block ", _str(t.frozenAtBlock)));
            }
            ITaskRegistry.TaskInfo memory info = registry.getTask(t.id);
            uint256[] memory pendingPerRound = new uint256[](uint256(info.currentRound) + 1);
            for (uint256 j = 0; j < t.submitted.length; ++j) {
                bytes32 h = t.submitted[j];
                GhostUpdate storage u = t.updates[h];
                if (u.status == PENDING && u.round <= info.currentRound) ++pendingPerRound[u.round];
                _checkUpdate(bits, t, info, h, u, updateLedger.getUpdate(t.id, h));
            }
            if (t.flow == FEDERATION) _checkRounds(bits, t, info, pendingPerRound);
        }
    }

    function _checkUpdate(
        uint256 bits,
        GhostTask storage t,
        ITaskRegistry.TaskInfo memory info,
        bytes32 h,
        GhostUpdate storage u,
        IUpdateLedger.UpdateInfo memory onChain
    ) internal view {
        IUpdateLedger.Status s = onChain.status;
        bool good = u.content == Content.Good;
        if (bits & NO_POISONED_ACCEPTED != 0 && s == IUpdateLedger.Status.Accepted && (!good || u.honestPasses == 0)) {
            revert(string.concat(
                "accepted without an honest approval: ", _updateName(t, h), " (liar approvals ",
                _str(u.liarPasses), ", honest approvals ", _str(u.honestPasses), ")"
            ));
        }
        if (bits & HONEST_MAJORITY_DECIDES != 0) {
            uint256 n = t.committee.length;
            uint256 majority = n / 2 + 1;
            if (good && u.honestPasses >= majority && s != IUpdateLedger.Status.Accepted) {
                revert(string.concat("approved by an honest majority but not accepted: ", _updateName(t, h)));
            }
            if (!good && u.honestScores - u.honestPasses >= n - majority + 1 && s != IUpdateLedger.Status.Rejected) {
                revert(string.concat("rejected by an honest majority but not rejected: ", _updateName(t, h)));
            }
        }
        if (bits & UPDATES_DECIDED_IN_TIME != 0 && !info.closed && s == IUpdateLedger.Status.Pending) {
            uint256 deadline = updateLedger.scoreDeadline(t.id, h);
            if (deadline <= g.lastKeeperBlock) {
                revert(string.concat(
                    "still pending after the keeper acted at block ", _str(g.lastKeeperBlock), ": ",
                    _updateName(t, h), " (deadline ", _str(deadline), ")"
                ));
            }
        }
        if (bits & FIRST_SUBMITTER_KEEPS_CREDIT != 0 && onChain.provider != u.firstSubmitter) {
            revert(string.concat(_updateName(t, h), " first submitted by ", nameOf[u.firstSubmitter],
                " now credited to ", nameOf[onChain.provider]));
        }
        if (bits & CREDIT_GOES_TO_AUTHOR != 0 && u.author != address(0) && onChain.provider != u.author) {
            revert(string.concat(_updateName(t, h), " trained by ", nameOf[u.author], " is credited to ",
                nameOf[onChain.provider]));
        }
        if (bits & ROUND_ACCOUNTING != 0 && uint8(s) != u.status) {
            revert(string.concat(_updateName(t, h), " changed status without the handler seeing it"));
        }
    }

    function _checkRounds(
        uint256 bits,
        GhostTask storage t,
        ITaskRegistry.TaskInfo memory info,
        uint256[] memory pendingPerRound
    ) internal view {
        if (bits & (ROUNDS_FINALIZE_IN_TIME | FINALIZED_ROUNDS_RIGHT | ROUND_ACCOUNTING) == 0) return;
        for (uint32 r = 1; r <= info.currentRound; ++r) {
            IRoundLedger.RoundInfo memory ri = roundLedger.getRound(t.id, r);
            string memory where = string.concat("round ", _str(r), " of task ", _str(t.id));
            if (bits & ROUNDS_FINALIZE_IN_TIME != 0 && r == info.currentRound && !info.closed) {
                uint256 scoringCloses = uint256(ri.startBlock) + info.roundLength + info.scoreWindow;
                if (scoringCloses <= g.lastKeeperBlock) {
                    revert(string.concat(
                        where, " not finalized after the keeper acted at block ", _str(g.lastKeeperBlock),
                        " (scoring closed at ", _str(scoringCloses), ", accepted ", _str(ri.acceptedCount),
                        ", attestation mask ", _str(ri.attestedMask), ")"
                    ));
                }
            }
            if (bits & FINALIZED_ROUNDS_RIGHT != 0 && ri.finalized) {
                if (ri.acceptedCount == 0) {
                    if (ri.resultHash != ri.baseModelHash) revert(string.concat(where, " with no update changed its model"));
                } else if (ri.resultHash != _rightResult(t, r)) {
                    revert(string.concat(where, " finalized a wrong aggregate"));
                } else if (!t.liveCid[r][ri.resultHash]) {
                    revert(string.concat(where, " finalized an aggregate whose only CID is dead"));
                }
            }
            if (bits & ROUND_ACCOUNTING != 0 && (ri.pendingCount != pendingPerRound[r]
                    || ri.acceptedCount != t.accepted[r].length || ri.acceptedDigest != _digest(t.accepted[r]))) {
                revert(string.concat(where, ": counts or digest differ from the ghost"));
            }
        }
    }

    function _updateName(GhostTask storage t, bytes32 update) internal view returns (string memory) {
        GhostUpdate storage u = t.updates[update];
        string memory content = u.content == Content.Good ? "good" : u.content == Content.Poisoned ? "poisoned" : "base-replay";
        return string.concat(content, " update ", _hex(update, 4), " of task ", _str(t.id));
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

    /// @notice What a sequence did (for the sanity tests and the logs).
    function summary()
        external
        view
        returns (
            uint256 tasks,
            uint256 updates,
            uint256 accepted,
            uint256 finalizedRounds,
            uint256 aggregatedRounds,
            uint256 ledgerCalls,
            uint256 ledgerSuccesses,
            uint256 keeperRuns
        )
    {
        tasks = g.taskIds.length;
        for (uint256 i = 0; i < tasks; ++i) {
            GhostTask storage t = g.tasks[g.taskIds[i]];
            updates += t.submitted.length;
            for (uint256 j = 0; j < t.submitted.length; ++j) {
                if (t.updates[t.submitted[j]].status == ACCEPTED) ++accepted;
            }
            if (t.flow == FEDERATION) {
                ITaskRegistry.TaskInfo memory info = registry.getTask(t.id);
                for (uint32 r = 1; r <= info.currentRound; ++r) {
                    IRoundLedger.RoundInfo memory ri = roundLedger.getRound(t.id, r);
                    if (ri.finalized) ++finalizedRounds;
                    if (ri.finalized && ri.acceptedCount > 0) ++aggregatedRounds;
                }
            }
        }
        ledgerCalls = g.ledgerCalls;
        ledgerSuccesses = g.ledgerSuccesses;
        keeperRuns = g.keeperRuns;
    }
}
