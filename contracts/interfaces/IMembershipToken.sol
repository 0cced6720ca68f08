// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IMembershipToken — one vote per member organisation of the council
/// @notice Each member organisation holds one token (its id is the organisation's address), which
/// cannot be transferred or delegated: one organisation, one vote. Tokens are minted (admit) and
/// burnt (remove) by the owner only, which is the council's timelock: membership changes by vote.
interface IMembershipToken {
    /// @notice An organisation was admitted to the council.
    event MemberAdmitted(address indexed organisation);
    /// @notice An organisation was removed from the council.
    event MemberRemoved(address indexed organisation);

    /// @notice Membership tokens move only by admission and removal.
    error MembershipNotTransferable(uint256 tokenId);
    /// @notice A vote cannot be delegated to another account.
    error MembershipSelfDelegationOnly(address account, address delegatee);

    /// @notice Admits `organisation` (the owner, i.e. the council, only).
    function admit(address organisation) external;
    /// @notice Removes `organisation` (the owner, i.e. the council, only).
    function remove(address organisation) external;
    /// @notice Whether `organisation` is a member.
    function isMember(address organisation) external view returns (bool);
    /// @notice The member organisations (in admission order, a removal moves the last to the gap).
    function members() external view returns (address[] memory);
}
