// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CheatCodes} from "./Vm.sol";

/// @title InvariantBase — what forge's invariant runner reads from a test contract
/// @dev Forge calls these views (by name and ABI) after setUp to learn which contracts and which
/// of their functions the random call sequences may target. Only the two the suite needs:
/// `targetContracts()` returns address[]; `targetSelectors()` returns (address, bytes4[])[].
/// Without them forge would also call the ledger and the consortium directly.
abstract contract InvariantBase is CheatCodes {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    /// @dev Random call sequences go to `target` only.
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @dev ... and only to these functions of it.
    function targetSelectors(address target, bytes4[] memory selectors) internal {
        FuzzSelector storage s = _targetedSelectors.push();
        s.addr = target;
        for (uint256 i = 0; i < selectors.length; ++i) {
            s.selectors.push(selectors[i]);
        }
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}
