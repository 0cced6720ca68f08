// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @title IConsortium — membership of a ledgerlearn consortium
/// @notice Who may take part and in which role (publisher, provider, validator), and how to
/// reach each member: the multiaddress of its IPFS node (the private swarm is built from these)
/// and its secp256k1 public key (validation fragments are encrypted to it).
/// Roles are granted and revoked by the admin; a revocation takes effect in the next block.
interface IConsortium is IAccessControl {
    /// @notice What a member published about itself.
    struct Member {
        string peerAddress;
        bytes encryptionKey;
        uint64 registeredBlock;
    }

    /// @notice A member registered (or updated) its IPFS peer address and encryption key.
    event MemberRegistered(address indexed account, string peerAddress, bytes encryptionKey);

    /// @notice `account` holds none of the participant roles.
    error ConsortiumNotAParticipant(address account);
    /// @notice The encryption key is not a secp256k1 public key (33 bytes compressed, 65 uncompressed).
    error ConsortiumInvalidEncryptionKey(address account, uint256 length);
    /// @notice The IPFS peer address is empty or longer than the allowed maximum.
    error ConsortiumInvalidPeerAddress(address account, uint256 length);

    /// @notice Role of accounts that publish tasks.
    function PUBLISHER_ROLE() external view returns (bytes32);
    /// @notice Role of accounts that submit updates trained on their data.
    function PROVIDER_ROLE() external view returns (bytes32);
    /// @notice Role of accounts that may sit on a task's committee.
    function VALIDATOR_ROLE() external view returns (bytes32);

    /// @notice Registers the caller's IPFS peer address and encryption public key.
    /// @dev Only accounts holding at least one participant role; may be called again to update.
    function registerMember(string calldata peerAddress, bytes calldata encryptionKey) external;

    /// @notice What `account` registered (empty fields when it never did).
    function memberOf(address account) external view returns (Member memory);

    /// @notice True when `account` holds at least one of the three participant roles.
    function isParticipant(address account) external view returns (bool);

    /// @notice Accounts that ever registered, in registration order (filter by role with hasRole).
    function registeredMembers() external view returns (address[] memory);
}
