// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CheatCodes} from "./base/Vm.sol";
import {LedgerGhost} from "./ledger/LedgerGhost.sol";
import {LedgerHandler} from "./ledger/LedgerHandler.sol";

/// @title LedgerHandlerSanity — the handler is not vacuous
/// @notice Fixed pseudo-random walks over the handler's actions (the selector list forge draws
/// from), every invariant checked after every step, must publish tasks of both flows, get updates
/// accepted, rejected and expired, scored late, replays refused, rounds finalized with an
/// aggregate and closed at the attestation deadline, writes tried on closed tasks: invariants
/// that hold because nothing happens prove nothing. The attack walks (known-holes mode, what
/// `make test-fuzz` runs) must also reach the attacks: front-run reveals, CIDs added to a result
/// proposed with a dead CID, rounds that kept their base model, revoked providers' updates.
contract LedgerHandlerSanity is CheatCodes {
    uint256 internal constant STEPS = 600;
    uint256 internal constant WALKS = 3;

    struct Totals {
        LedgerGhost.Stats s;
        uint256 tasks;
        uint256 updates;
        uint256 calls;
        uint256 successes;
        uint256 keeperRuns;
    }

    function _walk(LedgerHandler handler, uint256 seed) internal {
        bytes4[] memory list = handler.actions();
        for (uint256 i = 0; i < STEPS; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            bytes4 action = list[s % list.length];
            // closing tasks and revoking roles as often as anything else ends a walk early
            if (action == handler.closeTask.selector && (s >> 200) % 4 != 0) continue;
            if (action == handler.revokeRole.selector && (s >> 200) % 2 != 0) continue;
            (bool ok, bytes memory reason) = address(handler).call(
                abi.encodeWithSelector(
                    action,
                    s >> 8,
                    uint256(keccak256(abi.encode(s, 1))),
                    uint256(keccak256(abi.encode(s, 2))),
                    uint256(keccak256(abi.encode(s, 3)))
                )
            );
            if (!ok) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
            handler.checkAll();
        }
    }

    /// @dev WALKS walks from fresh handlers; what they reached, summed.
    function _walks(bool knownHoles, uint256 firstSeed) internal returns (Totals memory sum) {
        for (uint256 w = 0; w < WALKS; ++w) {
            LedgerHandler handler = new LedgerHandler(knownHoles);
            _walk(handler, firstSeed + w);
            (LedgerGhost.Stats memory s, uint256 tasks, uint256 updates, uint256 calls, uint256 successes, uint256 runs) =
                handler.stats();
            sum.tasks += tasks;
            sum.updates += updates;
            sum.calls += calls;
            sum.successes += successes;
            sum.keeperRuns += runs;
            sum.s.accepted += s.accepted;
            sum.s.rejected += s.rejected;
            sum.s.expired += s.expired;
            sum.s.finalized += s.finalized;
            sum.s.aggregated += s.aggregated;
            sum.s.closedAtDeadline += s.closedAtDeadline;
            sum.s.keptBase += s.keptBase;
            sum.s.closedWithLeading += s.closedWithLeading;
            sum.s.cidAdded += s.cidAdded;
            sum.s.lateScores += s.lateScores;
            sum.s.revokedProviderRejected += s.revokedProviderRejected;
            sum.s.frontRuns += s.frontRuns;
            sum.s.replaysRefused += s.replaysRefused;
            sum.s.tooManyPending += s.tooManyPending;
            sum.s.closedByMember += s.closedByMember;
            sum.s.closedTaskCalls += s.closedTaskCalls;
            sum.s.registered += s.registered;
            if (w == 0) _callStats(handler);
        }
        _report(sum);
    }

    function _report(Totals memory t) internal view {
        LedgerGhost.Stats memory s = t.s;
        _log("tasks", t.tasks);
        _log("updates revealed", t.updates);
        _log("accepted", s.accepted);
        _log("rejected", s.rejected);
        _log("expired", s.expired);
        _log("rejected because the provider lost its role", s.revokedProviderRejected);
        _log("late scores (in the extension)", s.lateScores);
        _log("finalized rounds", s.finalized);
        _log("finalized rounds that aggregated updates", s.aggregated);
        _log("rounds closed at the attestation deadline", s.closedAtDeadline);
        _log("... keeping the base model although updates were accepted", s.keptBase);
        _log("... with a proposal more than f members attested", s.closedWithLeading);
        _log("CIDs added to a proposed result", s.cidAdded);
        _log("front-run reveals", s.frontRuns);
        _log("replayed models refused", s.replaysRefused);
        _log("dag reveals refused by maxPending", s.tooManyPending);
        _log("tasks closed by a committee member", s.closedByMember);
        _log("writes attempted on closed tasks", s.closedTaskCalls);
        _log("members registered", s.registered);
        _log("keeper runs", t.keeperRuns);
        _log("ledger calls", t.calls);
        _log("successful ledger calls", t.successes);
        require(t.tasks >= 15, "fewer than 15 tasks published");
        require(t.updates >= 120, "fewer than 120 updates revealed");
        require(s.accepted >= 30, "fewer than 30 updates accepted");
        require(s.rejected >= 6, "fewer than 6 updates rejected");
        require(s.expired >= 2, "fewer than 2 updates expired");
        require(s.lateScores >= 1, "no late score");
        require(s.finalized >= 10, "fewer than 10 rounds finalized");
        require(s.aggregated >= 6, "fewer than 6 rounds aggregated updates");
        require(s.closedAtDeadline >= 1, "no round closed at the attestation deadline");
        require(s.replaysRefused >= 1, "no replayed model refused");
        require(s.closedTaskCalls >= 5, "fewer than 5 writes on closed tasks");
        require(s.registered >= 1, "no member registered");
        require(t.keeperRuns >= 10, "the keeper hardly acted");
        require(t.successes * 5 >= t.calls, "fewer than 1 ledger call in 5 succeeded");
    }

    function _callStats(LedgerHandler handler) internal view {
        (string[] memory names, uint256[] memory c, uint256[] memory ok) = handler.callStats();
        for (uint256 i = 0; i < names.length; ++i) {
            _log(string.concat(names[i], " calls"), c[i]);
            _log(string.concat(names[i], " successes"), ok[i]);
        }
    }

    function test_randomWalkReachesEveryStage() public {
        _walks(false, 1);
    }

    function test_attackWalkReachesEveryStage() public {
        Totals memory t = _walks(true, 1);
        require(t.s.frontRuns >= 3, "fewer than 3 front-run reveals");
        require(t.s.cidAdded >= 2, "fewer than 2 CIDs added to a proposed result");
        require(t.s.closedAtDeadline >= 2, "fewer than 2 rounds closed at the attestation deadline");
        require(t.s.keptBase >= 1, "no round kept its base model at the deadline");
        require(t.s.revokedProviderRejected >= 1, "no update rejected for its provider's revoked role");
        require(t.s.closedByMember >= 1, "no task closed by its committee after the publisher lost its role");
    }
}
