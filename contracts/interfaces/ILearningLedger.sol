// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "./IConsortium.sol";
import {IRoundLedger} from "./IRoundLedger.sol";
import {ITaskRegistry} from "./ITaskRegistry.sol";
import {IUpdateLedger} from "./IUpdateLedger.sol";

/// @title ILearningLedger — the whole ledger as its satellite contracts see it
interface ILearningLedger is ITaskRegistry, IUpdateLedger, IRoundLedger {
    /// @notice The consortium whose roles the ledger enforces.
    function consortium() external view returns (IConsortium);
    /// @notice The contract that draws committees and vets tasks (zero: none).
    function vetting() external view returns (address);
    /// @notice The contract that forwards committed-then-revealed scores (zero: none).
    function scoreCommitments() external view returns (address);
}
