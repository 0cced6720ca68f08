// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestToken — an ERC-20 for rewards on a devnet and in tests (its owner mints at will:
/// never a consortium's real reward token)
contract TestToken is ERC20, Ownable {
    /// @param owner_ who mints
    constructor(address owner_) ERC20("ledgerlearn test token", "LLT") Ownable(owner_) {}

    /// @notice Mints `amount` to `to` (the owner only).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
