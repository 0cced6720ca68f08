// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ILedgerAccess — errors shared by every part of the learning ledger
interface ILedgerAccess {
    /// @notice `account` lacks `neededRole` in the consortium (or lost it: revocation is immediate).
    error LedgerUnauthorizedAccount(address account, bytes32 neededRole);
    /// @notice No task with this id was published.
    error LedgerUnknownTask(uint256 taskId);
    /// @notice `account` is not on the task's committee.
    error LedgerNotCommitteeMember(uint256 taskId, address account);
}
