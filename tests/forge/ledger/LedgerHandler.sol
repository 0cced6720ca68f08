// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {LedgerActions} from "./LedgerActions.sol";
import {LedgerChecks} from "./LedgerChecks.sol";
import {LedgerGhost} from "./LedgerGhost.sol";

/// @title LedgerHandler — the target of forge's random call sequences over Consortium + LearningLedger
/// @notice Deploys both contracts (the handler is the consortium's admin), hands out roles to a
/// fixed cast (2 publishers, 3 honest providers, a Byzantine provider, a copier, 5 honest
/// validators of which one also provides, 2 lying validators, 2 outsiders, a keeper) and exposes
/// the actions in `actions()`. Committees have n = 3..5 members of which exactly f lie (f < k <= n - f).
contract LedgerHandler is LedgerActions, LedgerChecks {
    /// @param knownHoles_ steer into the attacks the old contracts fell to (front-running copiers,
    /// dead CIDs, honest members and providers revoked mid-round, stale settle batches).
    constructor(bool knownHoles_) LedgerGhost(knownHoles_) {}

    /// @notice The actions random sequences call (the last four only in known-holes mode).
    function actions() external view returns (bytes4[] memory list) {
        bytes4[30] memory all = [
            this.publishFederation.selector,
            this.publishDag.selector,
            this.joinTask.selector,
            this.commitUpdate.selector,
            this.revealUpdate.selector,
            this.submitUpdate.selector,
            this.submitDagUpdate.selector,
            this.providersSubmit.selector,
            this.copyUpdate.selector,
            this.submitScore.selector,
            this.submitScores.selector,
            this.honestCommitteeScores.selector,
            this.memberGoesOffline.selector,
            this.liarsScore.selector,
            this.settleUpdates.selector,
            this.proposeAggregate.selector,
            this.attestAggregate.selector,
            this.closeRound.selector,
            this.closeTask.selector,
            this.revokeRole.selector,
            this.grantRole.selector,
            this.strangerGrantsRole.selector,
            this.registerMember.selector,
            this.cancelPublishNonce.selector,
            this.roll.selector,
            this.keeper.selector,
            this.frontRunUpdate.selector,
            this.closedTaskWrites.selector,
            this.keeperPreparesSettle.selector,
            this.keeperSendsPreparedSettle.selector
        ];
        uint256 count = knownHoles ? all.length : all.length - 4;
        list = new bytes4[](count);
        for (uint256 i = 0; i < count; ++i) {
            list[i] = all[i];
        }
    }
}
