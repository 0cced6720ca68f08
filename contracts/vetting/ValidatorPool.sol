// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {IValidatorPool} from "../interfaces/IValidatorPool.sol";

/// @title ValidatorPool — validators that opted in to be drawn onto committees
abstract contract ValidatorPool is IValidatorPool {
    bytes32 internal constant VALIDATOR_ROLE = keccak256("VALIDATOR_ROLE");
    /// @inheritdoc IValidatorPool
    uint256 public constant MAX_POOL = 64;

    address[] private _pool;
    mapping(address validator => uint256) private _poolSlot; // index + 1

    function _poolConsortium() internal view virtual returns (IConsortium);

    /// @inheritdoc IValidatorPool
    function joinPool() external {
        IConsortium consortium = _poolConsortium();
        if (!consortium.hasRole(VALIDATOR_ROLE, msg.sender)) revert PoolNotValidator(msg.sender);
        if (consortium.memberOf(msg.sender).registeredBlock == 0) revert PoolNotRegistered(msg.sender);
        if (_poolSlot[msg.sender] != 0) revert PoolAlreadyJoined(msg.sender);
        if (_pool.length >= MAX_POOL) revert PoolFull(MAX_POOL);
        _pool.push(msg.sender);
        _poolSlot[msg.sender] = _pool.length;
        emit PoolJoined(msg.sender);
    }

    /// @inheritdoc IValidatorPool
    function leavePool() external {
        uint256 slot = _poolSlot[msg.sender];
        if (slot == 0) revert PoolNotJoined(msg.sender);
        address last = _pool[_pool.length - 1];
        _pool[slot - 1] = last;
        _poolSlot[last] = slot;
        _pool.pop();
        delete _poolSlot[msg.sender];
        emit PoolLeft(msg.sender);
    }

    /// @inheritdoc IValidatorPool
    function pool() public view returns (address[] memory) {
        return _pool;
    }

    /// @inheritdoc IValidatorPool
    function inPool(address account) public view returns (bool) {
        return _poolSlot[account] != 0;
    }
}
