// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ISwarmKeys — the private swarm's key, replaced when the council removes a member
/// @notice The consortium's IPFS nodes form a private network keyed by a pre-shared secret (kubo's
/// swarm key). A member the council removes still holds that key, so its node could still connect
/// and fetch. Any remaining member then rotates the key: it generates a new one, encrypts it to
/// every registered participant's encryption key (ECIES, off chain) and posts the ciphertexts
/// here with the key's hash; each member's agent decrypts its share, checks it against the hash
/// and restarts its node with the new key. The removed member gets no share and is refused by
/// every node that restarted. A member registered later gets a share from a member holding the key
/// (`share`); so does one whose shares do not match the hash (a lying rotator), once it asks
/// (`requestShare`).
/// @dev The chain stores only the epoch, each epoch's key hash and who was cut off; the shares
/// are in the events. A rotation needs an admitted member (registered or not: a bundle carries
/// the key) that lost all its roles and was not cut off yet, so a member cannot make everybody
/// restart at will.
interface ISwarmKeys {
    /// @notice Epoch `epoch`'s key replaced the previous one, cutting off `removed`.
    event SwarmKeyRotated(uint256 indexed epoch, address indexed rotator, address[] removed, bytes32 keyHash);
    /// @notice `member`'s copy of epoch `epoch`'s key, encrypted to its registered key by `from`.
    event SwarmKeyShared(uint256 indexed epoch, address indexed member, address indexed from, bytes share);
    /// @notice `member` found none of its shares of epoch `epoch`'s key usable and asks for another.
    event SwarmKeyShareRequested(uint256 indexed epoch, address indexed member);

    /// @notice `account` is not a registered participant (it holds no role or never registered).
    error SwarmKeysNotAMember(address account);
    /// @notice `account` cannot be cut off: it still holds a role, was never admitted, or was cut
    /// off already.
    error SwarmKeysNothingToCutOff(address account);
    /// @notice A rotation must give a share to each of the `expected` registered participants,
    /// in ascending address order, once; `given` were named.
    error SwarmKeysIncompleteShares(uint256 given, uint256 expected);
    /// @notice A share is not the size of an encrypted key.
    error SwarmKeysBadShare(address member, uint256 length);
    /// @notice The key hash is zero.
    error SwarmKeysNoKeyHash();

    /// @notice Replace the swarm key, cutting off `removed` (each an admitted member with no role
    /// left, registered or not). `members` are every registered participant, ascending; `shares[i]` is the new key
    /// encrypted to `members[i]`'s registered encryption key. Only a registered participant.
    function rotate(address[] calldata removed, bytes32 keyHash, address[] calldata members, bytes[] calldata shares)
        external;

    /// @notice Give `member` (a registered participant) its copy of the current key. Only a
    /// registered participant; the recipient keeps the first share matching the key hash.
    function share(address member, bytes calldata encrypted) external;

    /// @notice Ask the members holding the current key for another share: none of the caller's
    /// shares of it matched the key hash (a lying rotator or sharer). Only a registered
    /// participant; each holder answers a member at most once per epoch.
    function requestShare() external;

    /// @notice The current epoch (0: the key the consortium was founded with).
    function epoch() external view returns (uint256);

    /// @notice keccak256 of epoch `epoch_`'s key (zero when unknown).
    function keyHash(uint256 epoch_) external view returns (bytes32);

    /// @notice True when `account`'s node was cut off by a rotation.
    function cutOff(address account) external view returns (bool);
}
