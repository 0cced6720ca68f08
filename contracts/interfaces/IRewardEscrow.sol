// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IRewardEscrow — a task's reward, escrowed at publication, split by the ledger's credits
/// @notice The publisher escrows an ERC-20 amount for a task before it closes, with the share of
/// it that goes to providers (`providerShareBps`, in basis points; the rest goes to validators).
/// The publisher also sets how often a validator may score against the decision before it
/// forfeits its share (`maxDisagreementBps`, of its counted scores). Once the task is closed, each
/// account withdraws its own share (pull payment):
///
///   provider:  floor(providerPool * accepted / totalAccepted)
///   validator: floor(validatorPool * counted / totalCounted)
///   counted:   agreed, or 0 if disagreed * 10000 > maxDisagreementBps * (agreed + disagreed)
///
/// with `accepted` and its total the ledger's credits (`creditOf`, `creditTotals`), `agreed` and
/// `disagreed` a member's scores on the side of the committee's decision and against it (the
/// ledger's credits plus, in commit-reveal tasks, those revealed after the decision:
/// `lateCreditOf`), and `totalCounted` the sum of `counted` over the committee. An update counts
/// for its provider once accepted. A liar that passes poisoned updates agrees with every honest
/// update it also passes: past the tolerance it earns nothing, and its part goes to the other
/// members, not back to the publisher (who gains nothing by a strict tolerance). Rejected
/// updates, scores against the decision, scores never revealed, expired updates and absent
/// members earn nothing. A pool nobody earned (no accepted update, no counted score) and a task
/// that never opened (rejected or expired at
/// vetting, or withdrawn before) go back to the publisher (`refund`, after close); the rounding
/// dust and the shares still unclaimed `CLAIM_PERIOD` after the refund go back too (`sweep`;
/// from then on nothing more is withdrawn).
interface IRewardEscrow {
    /// @notice A task's escrow.
    struct Escrow {
        IERC20 token;
        uint16 providerShareBps;
        uint16 maxDisagreementBps; // a validator scoring against the decision more often forfeits
        bool refunded; // empty pools (or the whole, for a task that never opened) went back
        uint48 sweepAfter; // timestamp from which the rest goes back (0: not set yet)
        uint128 amount;
        uint128 paid; // withdrawn and refunded so far
    }

    /// @notice The publisher escrowed a reward for a task.
    event RewardFunded(
        uint256 indexed taskId,
        address indexed publisher,
        IERC20 token,
        uint256 amount,
        uint16 providerShareBps,
        uint16 maxDisagreementBps
    );
    /// @notice An account withdrew its share.
    event RewardWithdrawn(uint256 indexed taskId, address indexed account, uint256 amount);
    /// @notice Unearned pools or the rest went back to the publisher.
    event RewardRefunded(uint256 indexed taskId, address indexed publisher, uint256 amount);

    /// @notice Only the task's publisher funds and is refunded.
    error RewardNotPublisher(uint256 taskId, address account);
    /// @notice The task is closed (funding) or not closed yet (withdraw, refund).
    error RewardTaskState(uint256 taskId, bool closed);
    /// @notice The task has a reward already.
    error RewardAlreadyFunded(uint256 taskId);
    /// @notice No reward was escrowed for the task.
    error RewardNotFunded(uint256 taskId);
    /// @notice A zero amount (or one the escrow did not receive whole), or a provider share or
    /// disagreement tolerance above 10000 basis points.
    error RewardInvalidTerms(uint256 amount, uint256 providerShareBps, uint256 maxDisagreementBps);
    /// @notice The account has nothing (more) to withdraw.
    error RewardNothingOwed(uint256 taskId, address account);
    /// @notice The refund was made already, or the sweep is not due until `sweepAfter`.
    error RewardNotRefundable(uint256 taskId, uint256 sweepAfter);

    /// @notice Escrows `amount` of `token` for a task (its publisher, before it closes; once).
    function fund(uint256 taskId, IERC20 token, uint256 amount, uint16 providerShareBps, uint16 maxDisagreementBps)
        external;
    /// @notice Pays the caller its share of a closed task's reward (once).
    function withdraw(uint256 taskId) external;
    /// @notice Gives the publisher back the pools nobody earned (all of it if the task never opened).
    function refund(uint256 taskId) external;
    /// @notice Gives the publisher back what is left CLAIM_PERIOD after the refund.
    function sweep(uint256 taskId) external;

    /// @notice What `account` may withdraw now (0 before close, after its withdrawal, or when it earned nothing).
    function owed(uint256 taskId, address account) external view returns (uint256);
    /// @notice A task's escrow.
    function escrowOf(uint256 taskId) external view returns (Escrow memory);
    /// @notice Whether `account` withdrew its share of a task.
    function withdrawn(uint256 taskId, address account) external view returns (bool);
    /// @notice Seconds after the refund during which shares can still be withdrawn before a sweep.
    function CLAIM_PERIOD() external view returns (uint256);
}
