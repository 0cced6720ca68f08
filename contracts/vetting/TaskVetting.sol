// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IConsortium} from "../interfaces/IConsortium.sol";
import {ILearningLedger} from "../interfaces/ILearningLedger.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {ITaskVetting} from "../interfaces/ITaskVetting.sol";
import {ValidatorPool} from "./ValidatorPool.sol";

/// @title TaskVetting — committees drawn from the validators' pool, then tasks vetted by them
/// @notice Deployed before the ledger, with the ledger's address (the ledger names this contract
/// as its vetting contract); the constructor does not call the ledger.
contract TaskVetting is ValidatorPool, EIP712, ITaskVetting {
    /// @inheritdoc ITaskVetting
    uint256 public constant MAX_REASON_BYTES = 280;
    bytes32 private constant VOTE_TYPE =
        keccak256("Vote(uint256 taskId,bool approve,string reason,address member,uint256 deadline)");

    struct Draw {
        uint64 commitEnd;
        uint64 revealEnd;
        uint64 drawnBlock;
        uint64 vetEnd;
        uint16 commits;
        uint16 reveals;
        uint8 approvals;
        uint8 rejections;
        bool concluded;
        uint24 votedMask;
        bytes32 mix; // XOR of keccak256(taskId, seed) over the reveals
        bytes32 seed;
    }

    ILearningLedger private immutable _ledger;
    Limits private _limits;
    mapping(uint256 taskId => Draw) private _draws;
    mapping(uint256 taskId => mapping(address member => bytes32)) private _commitments;

    /// @param ledger_ the ledger this contract draws and vets for (its address may be predicted)
    /// @param initialLimits the windows until the council changes them
    constructor(ILearningLedger ledger_, Limits memory initialLimits) EIP712("ledgerlearn vetting", "1") {
        _ledger = ledger_;
        _setLimits(initialLimits);
    }

    /// @notice The ledger this contract draws and vets for.
    function ledger() external view returns (ILearningLedger) {
        return _ledger;
    }

    /// @inheritdoc ITaskVetting
    function setLimits(Limits calldata newLimits) external {
        if (!_poolConsortium().hasRole(bytes32(0), msg.sender)) revert VettingNotAdmin(msg.sender);
        _setLimits(newLimits);
    }

    /// @inheritdoc ITaskVetting
    function limits() external view returns (Limits memory) {
        return _limits;
    }

    /// @inheritdoc ITaskVetting
    function commitSeed(uint256 taskId, bytes32 commitment) external {
        if (!inPool(msg.sender)) revert VettingNotInPool(msg.sender);
        (Draw storage d,) = _drawing(taskId);
        if (block.number >= d.commitEnd) revert VettingOutsideWindow(taskId, 0, d.commitEnd);
        if (_commitments[taskId][msg.sender] != 0 || commitment == bytes32(0)) {
            revert VettingAlreadyCommitted(taskId, msg.sender);
        }
        _commitments[taskId][msg.sender] = commitment;
        d.commits += 1;
        emit SeedCommitted(taskId, msg.sender, commitment);
    }

    /// @inheritdoc ITaskVetting
    function revealSeed(uint256 taskId, bytes32 seed) external {
        (Draw storage d,) = _drawing(taskId);
        if (block.number < d.commitEnd || block.number >= d.revealEnd) {
            revert VettingOutsideWindow(taskId, d.commitEnd, d.revealEnd);
        }
        bytes32 commitment = _commitments[taskId][msg.sender];
        if (commitment == bytes32(0)) revert VettingNoCommitment(taskId, msg.sender);
        bytes32 expected = seedCommitment(taskId, msg.sender, seed);
        if (expected != commitment) revert VettingSeedMismatch(taskId, commitment, expected);
        delete _commitments[taskId][msg.sender]; // revealed: eligible again
        d.mix ^= keccak256(abi.encode(taskId, seed));
        d.reveals += 1;
        emit SeedRevealed(taskId, msg.sender, seed);
    }

    /// @inheritdoc ITaskVetting
    function draw(uint256 taskId) external {
        (Draw storage d, ITaskRegistry.TaskInfo memory t) = _drawing(taskId);
        if (block.number < d.revealEnd) revert VettingOutsideWindow(taskId, d.revealEnd, type(uint64).max);
        if (d.reveals == 0) {
            _conclude(taskId, d, ITaskRegistry.Stage.Expired);
            return;
        }
        bytes32 seed = keccak256(abi.encode(taskId, d.mix));
        address[] memory eligible = _eligible(taskId, t.publisher);
        uint256 n = eligible.length;
        uint256 size = t.committeeSize;
        if (n < size) {
            _conclude(taskId, d, ITaskRegistry.Stage.Expired);
            return;
        }
        address[] memory shuffled = new address[](n);
        for (uint256 i = 0; i < n; ++i) {
            shuffled[i] = eligible[i];
        }
        address[] memory members = new address[](size);
        for (uint256 i = 0; i < size; ++i) {
            uint256 j = i + uint256(keccak256(abi.encode(seed, i))) % (n - i);
            (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
            members[i] = shuffled[i];
        }
        d.seed = seed;
        d.drawnBlock = uint64(block.number);
        d.vetEnd = uint64(block.number) + _limits.vetBlocks;
        emit CommitteeDrawn(taskId, seed, eligible, members);
        _ledger.setCommittee(taskId, members);
    }

    /// @inheritdoc ITaskVetting
    function vote(uint256 taskId, bool approve, string calldata reason) external {
        _vote(taskId, approve, reason, msg.sender);
    }

    /// @inheritdoc ITaskVetting
    function voteFor(
        uint256 taskId,
        bool approve,
        string calldata reason,
        address member,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert VettingExpiredSignature(deadline, block.timestamp);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(VOTE_TYPE, taskId, approve, keccak256(bytes(reason)), member, deadline))
        );
        // Any failure (length, s value) is reported as an invalid signer.
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError failure,) = ECDSA.tryRecover(digest, signature);
        if (failure != ECDSA.RecoverError.NoError || signer == address(0) || signer != member) {
            revert VettingInvalidSigner(signer, member);
        }
        _vote(taskId, approve, reason, member);
    }

    /// @dev `member`'s vote: checked, recorded, and the vetting concluded when it settles it.
    function _vote(uint256 taskId, bool approve, string calldata reason, address member) private {
        uint256 length = bytes(reason).length;
        if (length == 0 || length > MAX_REASON_BYTES) revert VettingReasonLength(length, MAX_REASON_BYTES);
        ITaskRegistry.TaskInfo memory t = _ledger.getTask(taskId);
        if (t.stage != ITaskRegistry.Stage.Vetting || t.closed) revert VettingWrongStage(taskId, t.stage);
        Draw storage d = _draws[taskId];
        if (block.number >= d.vetEnd) revert VettingOutsideWindow(taskId, d.drawnBlock, d.vetEnd);
        uint24 bit = uint24(1 << _seat(taskId, member));
        if (d.votedMask & bit != 0) revert VettingAlreadyVoted(taskId, member);
        d.votedMask |= bit;
        emit VettingVoted(taskId, member, approve, reason);
        if (d.concluded) return; // approved already: the vote is recorded, nothing changes
        if (approve) {
            d.approvals += 1;
            if (d.approvals >= t.quorum) _conclude(taskId, d, ITaskRegistry.Stage.Open);
        } else {
            d.rejections += 1;
            if (d.rejections > t.committeeSize - t.quorum) _conclude(taskId, d, ITaskRegistry.Stage.Rejected);
        }
    }

    /// @inheritdoc ITaskVetting
    function expire(uint256 taskId) external {
        ITaskRegistry.TaskInfo memory t = _ledger.getTask(taskId);
        bool drawing = t.stage == ITaskRegistry.Stage.Drawing;
        if (t.closed || (!drawing && t.stage != ITaskRegistry.Stage.Vetting)) revert VettingWrongStage(taskId, t.stage);
        Draw storage d = _touch(taskId, t);
        uint256 from = drawing ? uint256(d.revealEnd) + _limits.vetBlocks : d.vetEnd;
        if (block.number < from) revert VettingOutsideWindow(taskId, from, type(uint64).max);
        d.concluded = true;
        emit VettingConcluded(taskId, ITaskRegistry.Stage.Expired);
        _ledger.concludeVetting(taskId, ITaskRegistry.Stage.Expired);
    }

    /// @inheritdoc ITaskVetting
    function seedCommitment(uint256 taskId, address member, bytes32 seed) public pure returns (bytes32) {
        return keccak256(abi.encode(taskId, member, seed));
    }

    /// @inheritdoc ITaskVetting
    function vettingOf(uint256 taskId) external view returns (VettingInfo memory info) {
        Draw storage d = _draws[taskId];
        info = VettingInfo(
            d.commitEnd,
            d.revealEnd,
            d.drawnBlock,
            d.vetEnd,
            d.commits,
            d.reveals,
            d.approvals,
            d.rejections,
            d.concluded,
            d.seed
        );
    }

    /// @inheritdoc ITaskVetting
    function commitmentOf(uint256 taskId, address member) external view returns (bytes32) {
        return _commitments[taskId][member];
    }

    function _poolConsortium() internal view override returns (IConsortium) {
        return _ledger.consortium();
    }

    function _setLimits(Limits memory newLimits) private {
        if (newLimits.drawCommitBlocks == 0 || newLimits.drawRevealBlocks == 0 || newLimits.vetBlocks == 0) {
            revert VettingInvalidLimits(newLimits.drawCommitBlocks, newLimits.drawRevealBlocks, newLimits.vetBlocks);
        }
        _limits = newLimits;
        emit LimitsChanged(newLimits);
    }

    /// @dev The task, which must be drawing, with its windows (fixed on first touch).
    function _drawing(uint256 taskId) private returns (Draw storage d, ITaskRegistry.TaskInfo memory t) {
        t = _ledger.getTask(taskId);
        if (t.stage != ITaskRegistry.Stage.Drawing || t.closed) revert VettingWrongStage(taskId, t.stage);
        d = _touch(taskId, t);
    }

    /// @dev The task's draw record; its windows are set from the limits in force on first touch.
    function _touch(uint256 taskId, ITaskRegistry.TaskInfo memory t) private returns (Draw storage d) {
        d = _draws[taskId];
        if (d.commitEnd == 0) {
            Limits memory l = _limits;
            d.commitEnd = t.publishedBlock + l.drawCommitBlocks;
            d.revealEnd = d.commitEnd + l.drawRevealBlocks;
        }
    }

    /// @dev Pool members that may sit on the task's committee, in pool order: VALIDATOR_ROLE,
    /// not the publisher, not a member that committed a seed and withheld its reveal.
    function _eligible(uint256 taskId, address publisher) private view returns (address[] memory out) {
        address[] memory members = pool();
        IConsortium consortium = _poolConsortium();
        out = new address[](members.length);
        uint256 n = 0;
        for (uint256 i = 0; i < members.length; ++i) {
            address m = members[i];
            if (m == publisher || _commitments[taskId][m] != 0 || !consortium.hasRole(VALIDATOR_ROLE, m)) continue;
            out[n++] = m;
        }
        assembly ("memory-safe") {
            mstore(out, n) // shorten to the eligible members
        }
    }

    /// @dev `member`'s index on the task's drawn committee.
    function _seat(uint256 taskId, address member) private view returns (uint256) {
        // The fragment hashes are not needed to find a seat.
        // slither-disable-next-line unused-return
        (address[] memory committee,) = _ledger.getCommittee(taskId);
        for (uint256 i = 0; i < committee.length; ++i) {
            if (committee[i] == member) return i;
        }
        revert VettingNotCommitteeMember(taskId, member);
    }

    function _conclude(uint256 taskId, Draw storage d, ITaskRegistry.Stage outcome) private {
        d.concluded = true;
        emit VettingConcluded(taskId, outcome);
        _ledger.concludeVetting(taskId, outcome);
    }
}
