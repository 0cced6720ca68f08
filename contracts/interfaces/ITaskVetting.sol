// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaskRegistry} from "./ITaskRegistry.sol";
import {IValidatorPool} from "./IValidatorPool.sol";

/// @title ITaskVetting — a task's committee drawn from the pool, then its vetting
/// @notice A task published on a ledger with this contract names no committee (only its size
/// and quorum k) and is in stage Drawing from its publication block P.
///
/// Draw. Pool members commit `seedCommitment(taskId, member, seed)` during
/// [P, P + drawCommitBlocks) and reveal the seed during the next drawRevealBlocks blocks. Then
/// anyone calls `draw`: the seed is keccak256(taskId, x) where x is the XOR of
/// keccak256(taskId, s) over the revealed seeds s (order does not matter); the eligible members
/// are the pool's, in pool order, holding VALIDATOR_ROLE, not the publisher, and not a member
/// that committed and did not reveal; the committee is a partial Fisher-Yates shuffle: for
/// i = 0 .. size-1, j = i + uint256(keccak256(seed, i)) mod (n - i), swap(i, j), member i is
/// eligible[i]. `CommitteeDrawn` carries the seed, the eligible list and the committee, and every
/// reveal is an event: anyone re-derives the draw from chain data. No reveal, or fewer eligible
/// members than the committee's size: the task expires (there is no fallback to a block hash,
/// which the block producer steers).
///
/// Trust assumption: the seed cannot be predicted before the reveals or steered by the
/// publisher, nor by any coalition of pool members short of all of those who reveal; a member
/// that withholds its reveal after seeing the others' chooses between two seeds (the last
/// revealer's bias) at the price of its own seat (it is not eligible), and its withholding is on
/// chain (a SeedCommitted without a SeedRevealed).
///
/// Vetting. The drawn members vote approve or reject with a reason (on chain, in the event) during
/// vetBlocks blocks from the draw: k approvals approve the task (it opens once the publisher posted
/// the fragments), more than n - k rejections reject it; otherwise `expire` after the window. A
/// task still drawing vetBlocks blocks after its reveal window expires too. A member's vote may
/// be relayed by anyone (a gateway) with the member's EIP-712 signature of
/// `Vote(uint256 taskId,bool approve,string reason,address member,uint256 deadline)` in the
/// domain ("ledgerlearn vetting", "1", the chain, this contract): a member votes once per task,
/// so a signature cannot be replayed, and it is void after its deadline (a timestamp).
///
/// Windows are consortium-wide limits set by the Consortium's admin (the council); a task takes
/// them when it is first touched here (a seed commitment, the draw or its expiry).
interface ITaskVetting is IValidatorPool {
    /// @notice Consortium-wide windows, in blocks.
    struct Limits {
        uint32 drawCommitBlocks;
        uint32 drawRevealBlocks;
        uint32 vetBlocks;
    }

    /// @notice A task's draw and vetting so far.
    struct VettingInfo {
        uint64 commitEnd; // first block that refuses seed commitments (0: not touched yet)
        uint64 revealEnd; // first block that refuses reveals; draw from here
        uint64 drawnBlock; // block of the draw (0: not drawn)
        uint64 vetEnd; // first block that refuses votes (expiry from here)
        uint16 commits;
        uint16 reveals;
        uint8 approvals;
        uint8 rejections;
        bool concluded;
        bytes32 seed; // the draw's seed (once drawn)
    }

    /// @notice The Consortium's admin changed the windows.
    event LimitsChanged(Limits limits);
    /// @notice A pool member committed to a seed for a task's draw.
    event SeedCommitted(uint256 indexed taskId, address indexed member, bytes32 commitment);
    /// @notice A pool member revealed its seed.
    event SeedRevealed(uint256 indexed taskId, address indexed member, bytes32 seed);
    /// @notice The committee was drawn: `eligible` in pool order, `members` in committee order.
    event CommitteeDrawn(uint256 indexed taskId, bytes32 seed, address[] eligible, address[] members);
    /// @notice A drawn member voted, with its reason.
    event VettingVoted(uint256 indexed taskId, address indexed member, bool approve, string reason);
    /// @notice Vetting ended: Open (approved), Rejected or Expired.
    event VettingConcluded(uint256 indexed taskId, ITaskRegistry.Stage outcome);

    /// @notice Only the Consortium's admin (the council) changes the limits.
    error VettingNotAdmin(address account);
    /// @notice A window of zero blocks.
    error VettingInvalidLimits(uint32 drawCommitBlocks, uint32 drawRevealBlocks, uint32 vetBlocks);
    /// @notice The task is not in the stage this step needs.
    error VettingWrongStage(uint256 taskId, ITaskRegistry.Stage stage);
    /// @notice Too early or too late: this step is allowed in [opensAt, closesAt).
    error VettingOutsideWindow(uint256 taskId, uint256 opensAt, uint256 closesAt);
    /// @notice The member already committed a seed for the task.
    error VettingAlreadyCommitted(uint256 taskId, address member);
    /// @notice The member committed no seed for the task (or revealed it already).
    error VettingNoCommitment(uint256 taskId, address member);
    /// @notice The revealed seed does not match the commitment.
    error VettingSeedMismatch(uint256 taskId, bytes32 commitment, bytes32 revealed);
    /// @notice `account` is not in the pool.
    error VettingNotInPool(address account);
    /// @notice `account` is not on the task's drawn committee.
    error VettingNotCommitteeMember(uint256 taskId, address account);
    /// @notice The member voted on the task already.
    error VettingAlreadyVoted(uint256 taskId, address member);
    /// @notice A reason must be 1 to MAX_REASON_BYTES bytes long.
    error VettingReasonLength(uint256 length, uint256 max);
    /// @notice A relayed vote's signature passed its deadline.
    error VettingExpiredSignature(uint256 deadline, uint256 timestamp);
    /// @notice A relayed vote's signature is not the member's (another vote, chain or contract).
    error VettingInvalidSigner(address signer, address member);

    /// @notice Sets the windows (the Consortium's admin only).
    function setLimits(Limits calldata limits) external;
    /// @notice The windows in force.
    function limits() external view returns (Limits memory);

    /// @notice A pool member commits to a seed for a task's draw (in the commit window).
    function commitSeed(uint256 taskId, bytes32 commitment) external;
    /// @notice A pool member reveals its seed (in the reveal window).
    function revealSeed(uint256 taskId, bytes32 seed) external;
    /// @notice Draws the committee once the reveal window passed (anyone); with no reveal or too
    /// few eligible members, the task expires.
    function draw(uint256 taskId) external;
    /// @notice A drawn member votes, once, in the vetting window, with a reason.
    function vote(uint256 taskId, bool approve, string calldata reason) external;
    /// @notice `member`'s vote, relayed with its signature (see above) before `deadline`.
    function voteFor(
        uint256 taskId,
        bool approve,
        string calldata reason,
        address member,
        uint256 deadline,
        bytes calldata signature
    ) external;
    /// @notice Expires a task nobody decided (anyone), once its window passed.
    function expire(uint256 taskId) external;

    /// @notice The commitment to `seed` by `member` for `taskId`.
    function seedCommitment(uint256 taskId, address member, bytes32 seed) external pure returns (bytes32);
    /// @notice A task's draw and vetting so far (zeros before it is touched).
    function vettingOf(uint256 taskId) external view returns (VettingInfo memory);
    /// @notice The seed commitment of `member` for `taskId` (zero: none, or revealed).
    function commitmentOf(uint256 taskId, address member) external view returns (bytes32);
    /// @notice The longest reason a vote carries.
    function MAX_REASON_BYTES() external view returns (uint256);
}
