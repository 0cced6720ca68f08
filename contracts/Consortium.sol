// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";

/// @title Consortium — membership and roles of a ledgerlearn consortium
/// @notice The admin (two-step transfer with a delay, OpenZeppelin AccessControlDefaultAdminRules;
/// in a council deployment the council's timelock) grants and revokes PUBLISHER, PROVIDER and
/// VALIDATOR. Members register how to reach them.
contract Consortium is AccessControlDefaultAdminRules, IConsortium {
    /// @inheritdoc IConsortium
    bytes32 public constant PUBLISHER_ROLE = keccak256("PUBLISHER_ROLE");
    /// @inheritdoc IConsortium
    bytes32 public constant PROVIDER_ROLE = keccak256("PROVIDER_ROLE");
    /// @inheritdoc IConsortium
    bytes32 public constant VALIDATOR_ROLE = keccak256("VALIDATOR_ROLE");

    uint256 private constant MAX_PEER_ADDRESS_LENGTH = 512;

    mapping(address account => Member) private _members;
    address[] private _registered;
    mapping(address account => bool) private _admitted;

    /// @param adminTransferDelay seconds between starting and accepting an admin transfer
    /// @param initialAdmin the first admin (a council deployment: the council's timelock)
    /// @param founders roles granted at deployment (the founding members), so that the deployer
    /// never holds a role
    constructor(uint48 adminTransferDelay, address initialAdmin, RoleGrant[] memory founders)
        AccessControlDefaultAdminRules(adminTransferDelay, initialAdmin)
    {
        for (uint256 i = 0; i < founders.length; ++i) {
            bytes32 role = founders[i].role;
            if (role != PUBLISHER_ROLE && role != PROVIDER_ROLE && role != VALIDATOR_ROLE) {
                revert ConsortiumNotAParticipantRole(role);
            }
            _grantRole(role, founders[i].account);
        }
    }

    /// @inheritdoc IConsortium
    function registerMember(string calldata peerAddress, bytes calldata encryptionKey, bytes calldata keyProof)
        external
    {
        if (!isParticipant(msg.sender)) revert ConsortiumNotAParticipant(msg.sender);
        uint256 peerLength = bytes(peerAddress).length;
        if (peerLength == 0 || peerLength > MAX_PEER_ADDRESS_LENGTH) {
            revert ConsortiumInvalidPeerAddress(msg.sender, peerLength);
        }
        if (encryptionKey.length != 65 || encryptionKey[0] != 0x04) {
            revert ConsortiumInvalidEncryptionKey(msg.sender, encryptionKey.length);
        }
        address keyAddress = address(uint160(uint256(keccak256(encryptionKey[1:]))));
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(keyProofMessage(msg.sender));
        // Any recovery failure is reported as a wrong signer.
        // slither-disable-next-line unused-return
        (address signer,,) = ECDSA.tryRecover(digest, keyProof);
        if (signer != keyAddress) revert ConsortiumInvalidKeyProof(msg.sender, keyAddress, signer);
        Member storage member = _members[msg.sender];
        if (member.registeredBlock == 0) _registered.push(msg.sender);
        member.peerAddress = peerAddress;
        member.encryptionKey = encryptionKey;
        member.registeredBlock = uint64(block.number);
        emit MemberRegistered(msg.sender, peerAddress, encryptionKey);
    }

    /// @inheritdoc IConsortium
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IConsortium
    function registeredMembers() external view returns (address[] memory) {
        return _registered;
    }

    /// @inheritdoc IConsortium
    function isParticipant(address account) public view returns (bool) {
        return hasRole(PUBLISHER_ROLE, account) || hasRole(PROVIDER_ROLE, account)
            || hasRole(VALIDATOR_ROLE, account);
    }

    /// @inheritdoc IConsortium
    function wasAdmitted(address account) external view returns (bool) {
        return _admitted[account];
    }

    /// @inheritdoc IConsortium
    function keyProofMessage(address account) public view returns (bytes32) {
        return keccak256(abi.encode(keccak256("ledgerlearn member key"), block.chainid, address(this), account));
    }

    /// @dev Remembers every account a participant role was granted to (`wasAdmitted`).
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (role == PUBLISHER_ROLE || role == PROVIDER_ROLE || role == VALIDATOR_ROLE) {
            _admitted[account] = true;
        }
    }
}
