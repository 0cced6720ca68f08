// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {LedgerState} from "./ledger/LedgerState.sol";
import {RoundLedger} from "./ledger/RoundLedger.sol";
import {TaskRegistry} from "./ledger/TaskRegistry.sol";
import {UpdateLedger} from "./ledger/UpdateLedger.sol";

/// @title LearningLedger — tasks, updates, committee scores and federation rounds
/// @notice One deployed contract composed of three parts kept in their own files (TaskRegistry,
/// UpdateLedger, RoundLedger) over shared storage (LedgerState). Roles come from the Consortium.
contract LearningLedger is TaskRegistry, UpdateLedger, RoundLedger {
    /// @param consortium_ the consortium whose roles this ledger enforces
    /// @param vetting_ the contract that draws committees and vets tasks (zero: tasks name their
    /// committee and open at publication, a single-host laboratory)
    /// @param scoreCommitments_ the contract that forwards committed-then-revealed scores (zero: none)
    constructor(IConsortium consortium_, address vetting_, address scoreCommitments_)
        LedgerState(consortium_, vetting_, scoreCommitments_)
        EIP712("ledgerlearn", "1")
    {}
}
