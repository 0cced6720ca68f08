// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "../interfaces/IConsortium.sol";
import {ISwarmKeys} from "../interfaces/ISwarmKeys.sol";

/// @title SwarmKeys — the private swarm's key epochs (see ISwarmKeys)
contract SwarmKeys is ISwarmKeys {
    /// @notice ECIES over secp256k1 (eciespy): a 65-byte ephemeral key, a 16-byte nonce, a 16-byte
    /// tag and the 32-byte key.
    uint256 public constant SHARE_BYTES = 129;

    /// @notice Who the members are.
    IConsortium public immutable consortium;

    /// @inheritdoc ISwarmKeys
    uint256 public epoch;

    mapping(uint256 epoch => bytes32) private _keyHashes;
    mapping(address account => bool) private _cutOff;

    /// @param consortium_ the consortium whose members share the key
    /// @param foundingKeyHash keccak256 of the key the founders' bundles carry (epoch 0)
    constructor(IConsortium consortium_, bytes32 foundingKeyHash) {
        consortium = consortium_;
        _keyHashes[0] = foundingKeyHash;
    }

    /// @inheritdoc ISwarmKeys
    function rotate(address[] calldata removed, bytes32 newKeyHash, address[] calldata members, bytes[] calldata shares)
        external
    {
        _requireMember(msg.sender);
        if (newKeyHash == bytes32(0)) revert SwarmKeysNoKeyHash();
        if (removed.length == 0) revert SwarmKeysNothingToCutOff(address(0));
        for (uint256 i = 0; i < removed.length; ++i) {
            address gone = removed[i];
            if (_cutOff[gone] || consortium.isParticipant(gone) || !consortium.wasAdmitted(gone)) {
                revert SwarmKeysNothingToCutOff(gone);
            }
            _cutOff[gone] = true;
        }
        uint256 expected = _participantsRegistered();
        if (members.length != expected || shares.length != expected) {
            revert SwarmKeysIncompleteShares(members.length, expected);
        }
        uint256 next = epoch + 1;
        epoch = next;
        _keyHashes[next] = newKeyHash;
        emit SwarmKeyRotated(next, msg.sender, removed, newKeyHash);
        address previous = address(0);
        for (uint256 i = 0; i < members.length; ++i) {
            address member = members[i];
            if (member <= previous) revert SwarmKeysIncompleteShares(members.length, expected);
            previous = member;
            _requireMember(member); // distinct registered participants, as many as there are: all
            _emitShare(next, member, shares[i]);
        }
    }

    /// @inheritdoc ISwarmKeys
    function share(address member, bytes calldata encrypted) external {
        _requireMember(msg.sender);
        _requireMember(member);
        _emitShare(epoch, member, encrypted);
    }

    /// @inheritdoc ISwarmKeys
    function requestShare() external {
        _requireMember(msg.sender);
        emit SwarmKeyShareRequested(epoch, msg.sender);
    }

    /// @inheritdoc ISwarmKeys
    function keyHash(uint256 epoch_) external view returns (bytes32) {
        return _keyHashes[epoch_];
    }

    /// @inheritdoc ISwarmKeys
    function cutOff(address account) external view returns (bool) {
        return _cutOff[account];
    }

    function _emitShare(uint256 epoch_, address member, bytes calldata encrypted) private {
        if (encrypted.length != SHARE_BYTES) revert SwarmKeysBadShare(member, encrypted.length);
        emit SwarmKeyShared(epoch_, member, msg.sender, encrypted);
    }

    function _requireMember(address account) private view {
        if (!consortium.isParticipant(account) || consortium.memberOf(account).registeredBlock == 0) {
            revert SwarmKeysNotAMember(account);
        }
    }

    function _participantsRegistered() private view returns (uint256 count) {
        address[] memory registered = consortium.registeredMembers();
        for (uint256 i = 0; i < registered.length; ++i) {
            if (consortium.isParticipant(registered[i])) ++count;
        }
    }
}
