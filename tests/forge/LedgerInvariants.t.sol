// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {InvariantBase} from "./base/InvariantBase.sol";
import {LedgerHandler} from "./ledger/LedgerHandler.sol";

/// @title LedgerInvariants — stateful fuzzing of Consortium + LearningLedger
/// @notice Random sequences of the handler's actions (publish, join, commit, reveal, score,
/// settle, propose, attest, close a round or a task, revoke, grant, register, time passing, an
/// honest keeper) by random actors including the committees' lying members and a copier; every
/// invariant is checked after every call. `invariant_all` checks them all in one campaign (what
/// `make test` runs); the others are one campaign each (`make fuzz-holes`), so one broken
/// invariant does not hide another. FUZZ_KNOWN_HOLES=1 steers the actions into the attacks the
/// old contracts fell to.
contract LedgerInvariants is InvariantBase {
    LedgerHandler internal handler;

    function setUp() public {
        handler = new LedgerHandler(vm.envOr("FUZZ_KNOWN_HOLES", false));
        targetContract(address(handler));
        targetSelectors(address(handler), handler.actions());
    }

    function invariant_all() external view {
        handler.checkAll();
    }

    function invariant_noBadUpdateAccepted() external view {
        handler.checkNoBadUpdateAccepted();
    }

    function invariant_honestMajorityDecides() external view {
        handler.checkHonestMajorityDecides();
    }

    function invariant_updatesDecidedInTime() external view {
        handler.checkUpdatesDecidedInTime();
    }

    function invariant_roundsFinalizeInTime() external view {
        handler.checkRoundsFinalizeInTime();
    }

    function invariant_closedTasksFrozen() external view {
        handler.checkClosedTasksFrozen();
    }

    function invariant_firstCommitterKeepsCredit() external view {
        handler.checkFirstCommitterKeepsCredit();
    }

    function invariant_creditGoesToAuthor() external view {
        handler.checkCreditGoesToAuthor();
    }

    function invariant_noReplayedModel() external view {
        handler.checkNoReplayedModel();
    }

    function invariant_finalizedRoundsRight() external view {
        handler.checkFinalizedRoundsRight();
    }

    function invariant_ledgerAccounting() external view {
        handler.checkLedgerAccounting();
    }

    function invariant_callsMatchRules() external view {
        handler.checkCallsMatchRules();
    }

    function invariant_honestActionsSucceed() external view {
        handler.checkHonestActionsSucceed();
    }
}
