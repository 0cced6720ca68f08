// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ILearningLedger} from "../interfaces/ILearningLedger.sol";
import {IRewardEscrow} from "../interfaces/IRewardEscrow.sol";
import {IScoreCommitments} from "../interfaces/IScoreCommitments.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";

/// @title RewardEscrow — a task's reward escrowed by its publisher, split by the ledger's credits
contract RewardEscrow is IRewardEscrow, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @inheritdoc IRewardEscrow
    uint256 public constant CLAIM_PERIOD = 30 days;
    uint256 private constant BPS = 10_000;

    ILearningLedger private immutable _ledger;
    mapping(uint256 taskId => Escrow) private _escrows;
    mapping(uint256 taskId => mapping(address account => bool)) private _withdrawn;

    /// @param ledger_ the ledger whose tasks and credits this escrow reads
    constructor(ILearningLedger ledger_) {
        _ledger = ledger_;
    }

    /// @notice The ledger whose tasks and credits this escrow reads.
    function ledger() external view returns (ILearningLedger) {
        return _ledger;
    }

    /// @inheritdoc IRewardEscrow
    function fund(uint256 taskId, IERC20 token, uint256 amount, uint16 providerShareBps, uint16 maxDisagreementBps)
        external
        nonReentrant
    {
        ITaskRegistry.TaskInfo memory t = _ledger.getTask(taskId);
        if (msg.sender != t.publisher) revert RewardNotPublisher(taskId, msg.sender);
        if (t.closed) revert RewardTaskState(taskId, true);
        if (amount == 0 || amount > type(uint128).max || providerShareBps > BPS || maxDisagreementBps > BPS) {
            revert RewardInvalidTerms(amount, providerShareBps, maxDisagreementBps);
        }
        Escrow storage e = _escrows[taskId];
        if (e.amount != 0) revert RewardAlreadyFunded(taskId);
        e.token = token;
        e.providerShareBps = providerShareBps;
        e.maxDisagreementBps = maxDisagreementBps;
        e.amount = uint128(amount);
        emit RewardFunded(taskId, msg.sender, token, amount, providerShareBps, maxDisagreementBps);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        // A token that takes a fee on transfer would leave the escrow short of what it promises.
        if (token.balanceOf(address(this)) - before != amount) {
            revert RewardInvalidTerms(amount, providerShareBps, maxDisagreementBps);
        }
    }

    /// @inheritdoc IRewardEscrow
    function withdraw(uint256 taskId) external nonReentrant {
        uint256 amount = owed(taskId, msg.sender);
        if (amount == 0) revert RewardNothingOwed(taskId, msg.sender);
        _withdrawn[taskId][msg.sender] = true;
        Escrow storage e = _escrows[taskId];
        e.paid += uint128(amount);
        emit RewardWithdrawn(taskId, msg.sender, amount);
        e.token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IRewardEscrow
    function refund(uint256 taskId) external nonReentrant {
        (Escrow storage e, ITaskRegistry.TaskInfo memory t) = _closedEscrow(taskId);
        if (msg.sender != t.publisher) revert RewardNotPublisher(taskId, msg.sender);
        if (e.refunded) revert RewardNotRefundable(taskId, e.sweepAfter);
        e.refunded = true;
        e.sweepAfter = uint48(block.timestamp + CLAIM_PERIOD);
        uint256 amount = 0;
        if (t.stage != ITaskRegistry.Stage.Open) {
            amount = e.amount - e.paid; // it never opened: nobody earned anything
        } else {
            (uint256 accepted, uint256 agreed) = _totals(taskId, e);
            (uint256 providerPool, uint256 validatorPool) = _pools(e);
            if (accepted == 0) amount += providerPool;
            if (agreed == 0) amount += validatorPool;
        }
        _pay(taskId, e, t.publisher, amount);
    }

    /// @inheritdoc IRewardEscrow
    function sweep(uint256 taskId) external nonReentrant {
        (Escrow storage e, ITaskRegistry.TaskInfo memory t) = _closedEscrow(taskId);
        if (msg.sender != t.publisher) revert RewardNotPublisher(taskId, msg.sender);
        if (!e.refunded || block.timestamp < e.sweepAfter) revert RewardNotRefundable(taskId, e.sweepAfter);
        _pay(taskId, e, t.publisher, e.amount - e.paid);
    }

    /// @inheritdoc IRewardEscrow
    function owed(uint256 taskId, address account) public view returns (uint256 amount) {
        Escrow storage e = _escrows[taskId];
        if (e.amount == 0 || _withdrawn[taskId][account]) return 0;
        ITaskRegistry.TaskInfo memory t = _ledger.getTask(taskId);
        if (!t.closed || t.stage != ITaskRegistry.Stage.Open) return 0;
        if (e.refunded && block.timestamp >= e.sweepAfter) return 0; // swept or sweepable
        (uint256 totalAccepted, uint256 totalCounted) = _totals(taskId, e);
        (uint256 accepted, uint256 counted) = _credits(taskId, e, account, _ledger.scoreCommitments());
        (uint256 providerPool, uint256 validatorPool) = _pools(e);
        if (accepted != 0) amount += providerPool * accepted / totalAccepted;
        if (counted != 0) amount += validatorPool * counted / totalCounted;
    }

    /// @inheritdoc IRewardEscrow
    function escrowOf(uint256 taskId) external view returns (Escrow memory) {
        return _escrows[taskId];
    }

    /// @inheritdoc IRewardEscrow
    function withdrawn(uint256 taskId, address account) external view returns (bool) {
        return _withdrawn[taskId][account];
    }

    function _closedEscrow(uint256 taskId) private view returns (Escrow storage e, ITaskRegistry.TaskInfo memory t) {
        e = _escrows[taskId];
        if (e.amount == 0) revert RewardNotFunded(taskId);
        t = _ledger.getTask(taskId);
        if (!t.closed) revert RewardTaskState(taskId, false);
    }

    /// @dev The task's accepted updates, and the counted scores of its committee.
    function _totals(uint256 taskId, Escrow storage e) private view returns (uint256 accepted, uint256 counted) {
        // Rejected updates earn nothing: their count is not needed.
        // slither-disable-next-line unused-return
        (accepted,) = _ledger.creditTotals(taskId);
        address commitments = _ledger.scoreCommitments();
        // slither-disable-next-line unused-return
        (address[] memory members,) = _ledger.getCommittee(taskId);
        for (uint256 i = 0; i < members.length; ++i) {
            (, uint256 mine) = _credits(taskId, e, members[i], commitments);
            counted += mine;
        }
    }

    /// @dev An account's accepted updates and counted scores: its scores on the side of the
    /// decision (the ledger's and those revealed after the decision), none if it scored against
    /// the decision more often than the escrow's tolerance.
    function _credits(uint256 taskId, Escrow storage e, address account, address commitments)
        private
        view
        returns (uint256 accepted, uint256 counted)
    {
        // Rejected updates earn nothing: their count is not needed.
        // slither-disable-next-line unused-return
        (uint256 mine,, uint256 agreed, uint256 disagreed) = _ledger.creditOf(taskId, account);
        accepted = mine;
        if (commitments != address(0)) {
            (uint256 lateAgreed, uint256 lateDisagreed) = IScoreCommitments(commitments).lateCreditOf(taskId, account);
            agreed += lateAgreed;
            disagreed += lateDisagreed;
        }
        counted = disagreed * BPS > uint256(e.maxDisagreementBps) * (agreed + disagreed) ? 0 : agreed;
    }

    function _pools(Escrow storage e) private view returns (uint256 providerPool, uint256 validatorPool) {
        providerPool = uint256(e.amount) * e.providerShareBps / BPS;
        validatorPool = e.amount - providerPool;
    }

    function _pay(uint256 taskId, Escrow storage e, address publisher, uint256 amount) private {
        // Nothing to pay back (an amount, not a balance: no equality on a balance an attacker moves).
        // slither-disable-next-line incorrect-equality
        if (amount == 0) return;
        e.paid += uint128(amount);
        emit RewardRefunded(taskId, publisher, amount);
        e.token.safeTransfer(publisher, amount);
    }
}
