// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {InvariantBase} from "./base/InvariantBase.sol";
import {LedgerHandler} from "./ledger/LedgerHandler.sol";

/// @title LedgerInvariants — stateful fuzzing of Consortium + LearningLedger
/// @notice Random sequences of the handler's actions (publish, join, submit, score, settle,
/// propose, attest, close, revoke, grant, register, time passing, an honest keeper) by random
/// actors including the committees' lying members; every invariant is checked after every call.
/// `invariant_all` checks them all in one campaign (what `make test` runs); the others are one
/// campaign each (what `make fuzz` runs), so one broken invariant does not hide another.
/// FUZZ_KNOWN_HOLES=1 lets the actions walk into the holes the next contract version closes.
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

    function invariant_noPoisonedUpdateAccepted() external view {
        handler.checkNoPoisonedUpdateAccepted();
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

    function invariant_firstSubmitterKeepsCredit() external view {
        handler.checkFirstSubmitterKeepsCredit();
    }

    function invariant_creditGoesToAuthor() external view {
        handler.checkCreditGoesToAuthor();
    }

    function invariant_finalizedRoundsRight() external view {
        handler.checkFinalizedRoundsRight();
    }

    function invariant_roundAccounting() external view {
        handler.checkRoundAccounting();
    }

    function invariant_callsMatchRules() external view {
        handler.checkCallsMatchRules();
    }

    function invariant_honestActionsSucceed() external view {
        handler.checkHonestActionsSucceed();
    }
}
