// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILearningLedger} from "../interfaces/ILearningLedger.sol";
import {IScoreCommitments} from "../interfaces/IScoreCommitments.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../interfaces/IUpdateLedger.sol";

/// @title ScoreCommitments — committee scores committed, then revealed to the ledger
/// @notice Deployed before the ledger, with the ledger's address (the ledger names this contract
/// as its score commitments contract); the constructor does not call the ledger.
contract ScoreCommitments is IScoreCommitments {
    bytes32 private constant VALIDATOR_ROLE = keccak256("VALIDATOR_ROLE");
    int64 private constant SCORE_INVALID = type(int64).min;

    ILearningLedger private immutable _ledger;
    mapping(uint256 taskId => mapping(bytes32 update => mapping(address validator => bytes32))) private _commitments;
    /// @dev Scores revealed after their update's decision, in time.
    struct LateCredit {
        uint32 agreed;
        uint32 disagreed;
    }

    mapping(uint256 taskId => mapping(address validator => LateCredit)) private _lateCredits;
    mapping(uint256 taskId => LateCredit) private _lateCreditTotals;

    /// @param ledger_ the ledger the revealed scores go to (its address may be predicted)
    constructor(ILearningLedger ledger_) {
        _ledger = ledger_;
    }

    /// @notice The ledger the revealed scores go to.
    function ledger() external view returns (ILearningLedger) {
        return _ledger;
    }

    /// @inheritdoc IScoreCommitments
    function commitScore(uint256 taskId, bytes32 update, bytes32 commitment) external {
        _checkMember(taskId, msg.sender);
        _commit(taskId, update, commitment);
    }

    /// @inheritdoc IScoreCommitments
    function commitScores(uint256 taskId, bytes32[] calldata updates, bytes32[] calldata commitments) external {
        if (updates.length != commitments.length) revert ScoreCommitmentsLengthMismatch(updates.length, commitments.length);
        _checkMember(taskId, msg.sender);
        for (uint256 i = 0; i < updates.length; ++i) {
            _commit(taskId, updates[i], commitments[i]);
        }
    }

    /// @inheritdoc IScoreCommitments
    function revealScore(uint256 taskId, bytes32 update, int64 score, bytes32 salt) external {
        IUpdateLedger.UpdateInfo memory u = _ledger.getUpdate(taskId, update);
        if (u.status == IUpdateLedger.Status.Pending) {
            _reveal(taskId, update, score, salt);
        } else {
            (bool counts, uint256 deadline, int64 threshold) = _late(taskId, update, u.status);
            if (!counts) revert ScoreCommitmentsRevealClosed(taskId, update, deadline);
            _revealDecided(taskId, update, score, salt, u.status, threshold);
        }
    }

    /// @inheritdoc IScoreCommitments
    function revealScores(uint256 taskId, bytes32[] calldata updates, int64[] calldata scores, bytes32[] calldata salts)
        external
    {
        if (updates.length != scores.length || updates.length != salts.length) {
            revert ScoreCommitmentsLengthMismatch(updates.length, scores.length);
        }
        for (uint256 i = 0; i < updates.length; ++i) {
            IUpdateLedger.Status status = _ledger.getUpdate(taskId, updates[i]).status;
            if (status == IUpdateLedger.Status.Pending) {
                _reveal(taskId, updates[i], scores[i], salts[i]);
            } else {
                // Decided by the other members since the batch was prepared: credited if in time.
                (bool counts,, int64 threshold) = _late(taskId, updates[i], status);
                // The ledger (immutable, ours) calls nothing back: no reentrancy through it.
                // slither-disable-next-line reentrancy-no-eth
                if (counts) _revealDecided(taskId, updates[i], scores[i], salts[i], status, threshold);
            }
        }
    }

    /// @inheritdoc IScoreCommitments
    function scoreCommitment(uint256 taskId, bytes32 update, address validator, int64 score, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, update, validator, score, salt));
    }

    /// @inheritdoc IScoreCommitments
    function commitmentOf(uint256 taskId, bytes32 update, address validator) external view returns (bytes32) {
        return _commitments[taskId][update][validator];
    }

    /// @inheritdoc IScoreCommitments
    function lateCreditOf(uint256 taskId, address validator) external view returns (uint32 agreed, uint32 disagreed) {
        LateCredit storage c = _lateCredits[taskId][validator];
        return (c.agreed, c.disagreed);
    }

    /// @inheritdoc IScoreCommitments
    function lateCreditTotal(uint256 taskId) external view returns (uint32 agreed, uint32 disagreed) {
        LateCredit storage c = _lateCreditTotals[taskId];
        return (c.agreed, c.disagreed);
    }

    /// @dev A commit-reveal task's committee member holding VALIDATOR_ROLE.
    function _checkMember(uint256 taskId, address account) private view {
        if (_ledger.getTask(taskId).commitWindow == 0) revert ScoreCommitmentsNotCommitReveal(taskId);
        if (!_ledger.consortium().hasRole(VALIDATOR_ROLE, account)) revert ScoreCommitmentsNotMember(taskId, account);
        // The fragment hashes are not needed to check membership.
        // slither-disable-next-line unused-return
        (address[] memory committee,) = _ledger.getCommittee(taskId);
        for (uint256 i = 0; i < committee.length; ++i) {
            if (committee[i] == account) return;
        }
        revert ScoreCommitmentsNotMember(taskId, account);
    }

    function _commit(uint256 taskId, bytes32 update, bytes32 commitment) private {
        uint256 deadline = _ledger.commitDeadline(taskId, update); // reverts for an unknown update
        if (block.number >= deadline) revert ScoreCommitmentsCommitClosed(taskId, update, deadline);
        mapping(address => bytes32) storage mine = _commitments[taskId][update];
        if (mine[msg.sender] != bytes32(0) || commitment == bytes32(0)) {
            revert ScoreCommitmentsAlreadyCommitted(taskId, update, msg.sender);
        }
        mine[msg.sender] = commitment;
        emit ScoreCommitted(taskId, update, msg.sender, commitment);
    }

    function _reveal(uint256 taskId, bytes32 update, int64 score, bytes32 salt) private {
        _open(taskId, update, score, salt);
        emit ScoreRevealed(taskId, update, msg.sender, score);
        _ledger.submitScoreFor(taskId, update, msg.sender, score);
    }

    /// @dev Whether a reveal of an update decided before it still counts: the update not expired,
    /// its scoring deadline not reached, its task not closed (the reward escrow reads the credits
    /// from the close on: they must not move after it). Also the deadline and the threshold.
    function _late(uint256 taskId, bytes32 update, IUpdateLedger.Status status)
        private
        view
        returns (bool counts, uint256 deadline, int64 threshold)
    {
        deadline = _ledger.scoreDeadline(taskId, update);
        ITaskRegistry.TaskInfo memory t = _ledger.getTask(taskId);
        counts = status != IUpdateLedger.Status.Expired && block.number < deadline && !t.closed;
        threshold = t.threshold;
    }

    /// @dev A reveal of an update decided (accepted or rejected) before it, in time: credited
    /// on the side of the decision or counted against it, like the ledger credits its scores.
    function _revealDecided(
        uint256 taskId,
        bytes32 update,
        int64 score,
        bytes32 salt,
        IUpdateLedger.Status status,
        int64 threshold
    ) private {
        _open(taskId, update, score, salt);
        bool passed = score != SCORE_INVALID && score >= threshold;
        // On the side of the decision: passed an accepted update, or failed a rejected one.
        bool agreed = status != IUpdateLedger.Status.Accepted ? !passed : passed;
        LateCredit storage mine = _lateCredits[taskId][msg.sender];
        LateCredit storage total = _lateCreditTotals[taskId];
        if (agreed) {
            mine.agreed += 1;
            total.agreed += 1;
        } else {
            mine.disagreed += 1;
            total.disagreed += 1;
        }
        emit ScoreRevealedAfterDecision(taskId, update, msg.sender, score, agreed);
    }

    /// @dev Checks a reveal against the member's commitment (in the reveal window) and spends it.
    function _open(uint256 taskId, bytes32 update, int64 score, bytes32 salt) private {
        mapping(address => bytes32) storage mine = _commitments[taskId][update];
        bytes32 commitment = mine[msg.sender];
        if (commitment == bytes32(0)) revert ScoreCommitmentsNoCommitment(taskId, update, msg.sender);
        uint256 deadline = _ledger.commitDeadline(taskId, update);
        if (block.number < deadline) revert ScoreCommitmentsRevealTooEarly(taskId, update, deadline);
        bytes32 revealed = scoreCommitment(taskId, update, msg.sender, score, salt);
        if (revealed != commitment) revert ScoreCommitmentsMismatch(taskId, update, commitment, revealed);
        delete mine[msg.sender];
    }
}
