// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CheatCodes} from "./base/Vm.sol";
import {LedgerHandler} from "./ledger/LedgerHandler.sol";

/// @title LedgerHandlerSanity — the handler is not vacuous
/// @notice A fixed pseudo-random walk over the handler's actions must publish tasks of both
/// flows, get updates accepted and rejected and rounds finalized, with every invariant holding:
/// invariants that hold because nothing happens prove nothing.
contract LedgerHandlerSanity is CheatCodes {
    LedgerHandler internal handler;

    function setUp() public {
        handler = new LedgerHandler(false);
    }

    function _walk(uint256 seed, uint256 steps) internal {
        for (uint256 i = 0; i < steps; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            uint256 a = s % 21;
            uint256 x = s >> 8;
            uint256 y = uint256(keccak256(abi.encode(s, 1)));
            uint256 z = uint256(keccak256(abi.encode(s, 2)));
            if (a == 0) handler.publishFederation(x, y);
            else if (a == 1) handler.publishDag(x, y);
            else if (a == 2 || a == 3) handler.joinTask(x, y);
            else if (a == 4 || a == 5) handler.submitUpdate(x, y, z, z >> 8);
            else if (a == 6) handler.submitDagUpdate(x, y, z, z >> 8);
            else if (a == 19) handler.providersSubmit(y, x, z);
            else if (a == 7) handler.copyUpdate(x, y, z);
            else if (a == 8) handler.submitScore(x, y, z, z >> 8);
            else if (a == 9) handler.honestCommitteeScores(y, x);
            else if (a == 10) handler.liarsScore(y, x);
            else if (a == 11) handler.settleUpdates(x, y, z);
            else if (a == 12) handler.proposeAggregate(x, y, z);
            else if (a == 13) handler.attestAggregate(x, y, z);
            else if (a == 14 && x % 8 == 0) handler.closeTask(x, y);
            else if (a == 15 && x % 4 == 0) handler.revokeRole(x, y);
            else if (a == 16) handler.grantRole(x, y);
            else if (a == 17) handler.registerMember(x, y);
            else if (a == 18) handler.roll(x);
            else handler.submitScores(x, y, z, z >> 8);
            handler.checkAll();
        }
    }

    function test_randomWalkReachesEveryStage() public {
        _walk(1, 600);
        (uint256 tasks, uint256 updates, uint256 accepted, uint256 finalized, uint256 aggregated, uint256 calls,
            uint256 successes, uint256 keeperRuns) = handler.summary();
        _log("tasks", tasks);
        _log("updates", updates);
        _log("accepted", accepted);
        _log("finalized rounds", finalized);
        _log("finalized rounds that aggregated updates", aggregated);
        _log("ledger calls", calls);
        _log("successful ledger calls", successes);
        _log("keeper runs", keeperRuns);
        (string[] memory names, uint256[] memory c, uint256[] memory ok) = handler.callStats();
        for (uint256 i = 0; i < names.length; ++i) {
            _log(string.concat(names[i], " calls"), c[i]);
            _log(string.concat(names[i], " successes"), ok[i]);
        }
        require(tasks >= 5, "fewer than 5 tasks published");
        require(updates >= 40, "fewer than 40 updates submitted");
        require(accepted >= 6, "fewer than 6 updates accepted");
        require(finalized >= 4, "fewer than 4 rounds finalized");
        require(aggregated >= 2, "fewer than 2 rounds aggregated updates");
        require(keeperRuns >= 2, "the keeper never acted");
        require(successes * 10 >= calls, "fewer than 1 ledger call in 10 succeeded");
    }
}
