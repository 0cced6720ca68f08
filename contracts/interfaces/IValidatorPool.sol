// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IValidatorPool — the validators that opted in to be drawn onto committees
/// @notice A validator joins the pool once it holds VALIDATOR_ROLE and registered its encryption
/// key in the Consortium (fragments are encrypted to it); it may leave at any time. Committees
/// are drawn from the pool (see ITaskVetting); a member that lost VALIDATOR_ROLE is skipped.
interface IValidatorPool {
    /// @notice `validator` joined the pool.
    event PoolJoined(address indexed validator);
    /// @notice `validator` left the pool.
    event PoolLeft(address indexed validator);

    /// @notice `account` does not hold VALIDATOR_ROLE.
    error PoolNotValidator(address account);
    /// @notice `account` has not registered its encryption key in the Consortium.
    error PoolNotRegistered(address account);
    /// @notice `account` is already in the pool.
    error PoolAlreadyJoined(address account);
    /// @notice `account` is not in the pool.
    error PoolNotJoined(address account);
    /// @notice The pool holds `max` validators already.
    error PoolFull(uint256 max);

    /// @notice Joins the pool (VALIDATOR_ROLE and a registered encryption key needed).
    function joinPool() external;
    /// @notice Leaves the pool (committees already drawn are not changed).
    function leavePool() external;
    /// @notice The pool's members, in pool order (leaving moves the last member to the gap).
    function pool() external view returns (address[] memory);
    /// @notice Whether `account` is in the pool.
    function inPool(address account) external view returns (bool);
    /// @notice Most validators the pool holds.
    function MAX_POOL() external view returns (uint256);
}
