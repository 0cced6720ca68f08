// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILedgerAccess} from "./ILedgerAccess.sol";

/// @title IRoundLedger — federation rounds and verified aggregation
/// @notice Round r starts from the global model of the task (round 1: the initial weights) and
/// accepts updates for roundLength blocks; the committee scores them until scoreWindow blocks
/// later. Then any participant proposes the aggregate: the accepted updates of the round in the
/// order they were accepted (checked against an on-chain digest), and the content hash and CID of
/// the aggregate computed from them with the task's rule. Committee members recompute it and
/// attest; on quorum (k attestations for one result) the round is finalized, the result becomes
/// the global model and the next round opens. A proposal that gets no quorum is superseded by a
/// correct one; each member attests once per round. A round without accepted updates finalizes at
/// once, keeping the global model.
interface IRoundLedger is ILedgerAccess {
    /// @notice The stored state of a round: its receipt once finalized.
    struct RoundInfo {
        uint64 startBlock;
        uint32 pendingCount; // submitted, not yet decided
        uint32 acceptedCount;
        uint32 attestedMask; // bit i set: committee member i attested a proposal
        bool finalized;
        bytes32 baseModelHash; // global model the round started from
        bytes32 acceptedDigest; // keccak chain over the accepted updates, in acceptance order
        bytes32 resultHash; // the finalized aggregate (zero until finalized)
    }

    /// @notice An aggregate was proposed for a round: the receipt's inputs, rule and result.
    event AggregateProposed(
        uint256 indexed taskId,
        uint32 indexed round,
        bytes32 indexed resultHash,
        address proposer,
        string cid,
        bytes32[] updates,
        uint8 aggregationRule,
        uint16 numByzantine
    );
    /// @notice A committee member attested that it recomputed `resultHash`.
    event AggregateAttested(uint256 indexed taskId, uint32 indexed round, bytes32 indexed resultHash, address validator);
    /// @notice A round was finalized: `resultHash` is the global model of the next round.
    event RoundFinalized(uint256 indexed taskId, uint32 indexed round, bytes32 resultHash, uint32 acceptedCount);

    /// @notice The round is not the task's current round.
    error RoundLedgerNotCurrentRound(uint256 taskId, uint256 round, uint256 currentRound);
    /// @notice Proposals open once submissions closed and every update is decided, or the
    /// scoring deadline passed.
    error RoundLedgerRoundOpen(uint256 taskId, uint256 round, uint256 openUntilBlock, uint256 pendingCount);
    /// @notice Updates of the round are still pending after the scoring deadline: settle them first.
    error RoundLedgerPendingUpdates(uint256 taskId, uint256 round, uint256 pendingCount);
    /// @notice The proposal's updates are not the round's accepted updates in acceptance order.
    error RoundLedgerIncludedMismatch(uint256 taskId, uint256 round, bytes32 expectedDigest, bytes32 givenDigest);
    /// @notice This result was already proposed for the round.
    error RoundLedgerDuplicateProposal(uint256 taskId, uint256 round, bytes32 resultHash);
    /// @notice No proposal with this result for the round.
    error RoundLedgerUnknownProposal(uint256 taskId, uint256 round, bytes32 resultHash);
    /// @notice The committee member already attested a proposal in this round.
    error RoundLedgerAlreadyAttested(uint256 taskId, uint256 round, address validator);
    /// @notice The result hash is zero, or a round without accepted updates was given updates.
    error RoundLedgerInvalidProposal(uint256 taskId, uint256 round, bytes32 resultHash);

    /// @notice Proposes the aggregate of `round` (any participant).
    function proposeAggregate(
        uint256 taskId,
        uint32 round,
        bytes32[] calldata updates,
        bytes32 resultHash,
        string calldata cid
    ) external;

    /// @notice Attests a proposed aggregate after recomputing it (committee member).
    function attestAggregate(uint256 taskId, uint32 round, bytes32 resultHash) external;

    /// @notice The stored state of a round.
    function getRound(uint256 taskId, uint32 round) external view returns (RoundInfo memory);

    /// @notice Attestations gathered by a proposed result (0 when never proposed), and its proposer.
    function getProposal(uint256 taskId, uint32 round, bytes32 resultHash)
        external
        view
        returns (address proposer, uint8 attestations);
}
