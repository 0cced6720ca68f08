// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title CouncilTimelock — what the council decided waits `minDelay` seconds, then anyone executes
/// @notice The admin of the Consortium and the owner of the membership token. Proposer and
/// canceller: the Council; executor: anyone; no admin once the deployment wired it.
contract CouncilTimelock is TimelockController {
    /// @param minDelay seconds between queuing and execution
    /// @param proposers the Council
    /// @param executors address(0): anyone
    /// @param admin the deployer while it wires the roles, then it renounces (or zero)
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
