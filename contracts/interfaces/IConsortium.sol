// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @title IConsortium — membership of a ledgerlearn consortium
/// @notice Who may take part and in which role (publisher, provider, validator), and how to
/// reach each member: the multiaddress of its IPFS node (the private swarm is built from these)
/// and its secp256k1 public key (validation fragments are encrypted to it).
/// Roles are granted and revoked by the admin (in a council deployment, the council's timelock:
/// by vote); a revocation takes effect in the next block.
interface IConsortium is IAccessControl {
    /// @notice What a member published about itself.
    struct Member {
        string peerAddress;
        bytes encryptionKey;
        uint64 registeredBlock;
    }

    /// @notice A role granted at deployment (the founding members of a council deployment).
    struct RoleGrant {
        bytes32 role;
        address account;
    }

    /// @notice A member registered (or updated) its IPFS peer address and encryption key.
    event MemberRegistered(address indexed account, string peerAddress, bytes encryptionKey);

    /// @notice A founder's role must be PUBLISHER, PROVIDER or VALIDATOR.
    error ConsortiumNotAParticipantRole(bytes32 role);
    /// @notice `account` holds none of the participant roles.
    error ConsortiumNotAParticipant(address account);
    /// @notice The encryption key is not an uncompressed secp256k1 public key (65 bytes, 0x04 first).
    error ConsortiumInvalidEncryptionKey(address account, uint256 length);
    /// @notice The proof of possession was not signed by the encryption key (whose address is
    /// `keyAddress`; the proof recovers `signer`).
    error ConsortiumInvalidKeyProof(address account, address keyAddress, address signer);
    /// @notice The IPFS peer address is empty or longer than the allowed maximum.
    error ConsortiumInvalidPeerAddress(address account, uint256 length);

    /// @notice Role of accounts that publish tasks.
    function PUBLISHER_ROLE() external view returns (bytes32);
    /// @notice Role of accounts that submit updates trained on their data.
    function PROVIDER_ROLE() external view returns (bytes32);
    /// @notice Role of accounts that may sit on a task's committee.
    function VALIDATOR_ROLE() external view returns (bytes32);

    /// @notice Registers the caller's IPFS peer address and encryption public key, proving it holds
    /// the key: `keyProof` is an EIP-191 signature by the encryption key of
    /// `keyProofMessage(msg.sender)` (so nobody registers a key it cannot decrypt with, e.g. another
    /// member's, to have fragments meant for it readable by that member).
    /// @dev Only accounts holding at least one participant role; may be called again to update.
    /// The peer address cannot be proven on chain (libp2p keys are not secp256k1): libp2p's secure
    /// channel authenticates the peer id when a member dials it, so a copied address only fails to
    /// connect to the copier.
    function registerMember(string calldata peerAddress, bytes calldata encryptionKey, bytes calldata keyProof)
        external;

    /// @notice The 32-byte message an encryption key signs (EIP-191) to be registered by `account`:
    /// bound to this contract, the chain and the account.
    function keyProofMessage(address account) external view returns (bytes32);

    /// @notice What `account` registered (empty fields when it never did).
    function memberOf(address account) external view returns (Member memory);

    /// @notice True when `account` holds at least one of the three participant roles.
    function isParticipant(address account) external view returns (bool);

    /// @notice True when `account` was ever granted a participant role (held one at some point,
    /// registered or not): a member removed before it registered its node may still hold what its
    /// bundle gave it.
    function wasAdmitted(address account) external view returns (bool);

    /// @notice Accounts that ever registered, in registration order (filter by role with hasRole).
    function registeredMembers() external view returns (address[] memory);
}
