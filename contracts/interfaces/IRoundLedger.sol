// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILedgerAccess} from "./ILedgerAccess.sol";

/// @title IRoundLedger — federation rounds and verified aggregation
/// @notice Round r starts from the global model of the task (round 1: the initial weights) and
/// accepts updates for roundLength blocks; when fewer than minUpdates arrived by then, the window
/// stays open until the minUpdates-th update (inclusive of its block) or roundExtension more
/// blocks. The committee scores them until scoreWindow blocks after the window closed (an update
/// still short of a quorum: up to scoreExtension blocks more). Then any participant proposes the
/// aggregate: the accepted updates of the round in the order they were accepted (checked against
/// an on-chain digest), and the content hash and CID of the aggregate computed from them with the
/// task's rule. A result is keyed by its content hash; any participant may add another CID to a
/// proposed result (a dead CID proposed first cannot block the round), each participant once per
/// round. Committee members recompute the aggregate, attest its hash (naming the CID they serve
/// it from) and each attests once per round; k attestations finalize the round, the result
/// becomes the global model and the next round opens.
///
/// Deadline and fallback: attestations are due attestWindow blocks after the end of the scoring
/// extension. After that block, `closeRound` (any participant) finalizes the round with a proposal
/// that more than f members attested — at least one honest member recomputed it — choosing one with
/// the most attestations; when no proposal has more than f, the round keeps its base model (its
/// accepted updates stay accepted but are not aggregated). So every round with accepted updates
/// finalizes within roundLength + roundExtension + scoreWindow + scoreExtension + attestWindow
/// blocks of its start (plus the blocks until some participant calls), whatever proposers or f
/// members do. A round without accepted updates finalizes at once, keeping the global model.
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
        uint32 submittedCount; // updates submitted in the round (every status)
        uint8 leadingAttestations; // most attestations any proposal of the round gathered
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
    /// @notice Another participant proposed an already proposed result: one more CID to fetch it from.
    event AggregateCidAdded(uint256 indexed taskId, uint32 indexed round, bytes32 indexed resultHash, address account, string cid);
    /// @notice A committee member attested that it recomputed `resultHash`; it serves it at `cid`
    /// (empty: it names none).
    event AggregateAttested(
        uint256 indexed taskId, uint32 indexed round, bytes32 indexed resultHash, address validator, string cid
    );
    /// @notice The attestation deadline passed without a quorum: the round was closed with
    /// `resultHash`, the proposal with the most attestations (`attestations` > f), or the base
    /// model when no proposal had more than f (`keptBaseModel`).
    event RoundClosedAtDeadline(
        uint256 indexed taskId, uint32 indexed round, bytes32 resultHash, uint8 attestations, bool keptBaseModel
    );
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
    /// @notice The account already proposed (or added a CID to) a result in this round.
    error RoundLedgerAlreadyProposed(uint256 taskId, uint256 round, address account);
    /// @notice No proposal with this result for the round.
    error RoundLedgerUnknownProposal(uint256 taskId, uint256 round, bytes32 resultHash);
    /// @notice The committee member already attested a proposal in this round.
    error RoundLedgerAlreadyAttested(uint256 taskId, uint256 round, address validator);
    /// @notice The result hash is zero, or a round without accepted updates was given updates.
    error RoundLedgerInvalidProposal(uint256 taskId, uint256 round, bytes32 resultHash);
    /// @notice Attestations are open until `deadlineBlock`: the round cannot be closed by deadline yet.
    error RoundLedgerAttestationOpen(uint256 taskId, uint256 round, uint256 deadlineBlock);
    /// @notice `resultHash` has `attestations` but the leading proposal has `leading` (> f): close
    /// the round with a leading proposal.
    error RoundLedgerNotLeading(uint256 taskId, uint256 round, bytes32 resultHash, uint256 attestations, uint256 leading);

    /// @notice Proposes the aggregate of `round`, or adds a CID to an already proposed result (any
    /// participant, once per round).
    function proposeAggregate(
        uint256 taskId,
        uint32 round,
        bytes32[] calldata updates,
        bytes32 resultHash,
        string calldata cid
    ) external;

    /// @notice Attests a proposed aggregate after recomputing it (committee member); `cid` names
    /// where this member serves the content (may be empty).
    function attestAggregate(uint256 taskId, uint32 round, bytes32 resultHash, string calldata cid) external;

    /// @notice After the attestation deadline, finalizes the round without a quorum (any
    /// participant): with `resultHash` when it is a leading proposal attested by more than f
    /// members, else (whatever `resultHash`) with the base model.
    function closeRound(uint256 taskId, uint32 round, bytes32 resultHash) external;

    /// @notice The stored state of a round.
    function getRound(uint256 taskId, uint32 round) external view returns (RoundInfo memory);

    /// @notice Attestations gathered by a proposed result (0 when never proposed), and its proposer.
    function getProposal(uint256 taskId, uint32 round, bytes32 resultHash)
        external
        view
        returns (address proposer, uint8 attestations);

    /// @notice The round's deadlines as they stand: submissions close at `submissionsClose` (it moves
    /// while the round waits for minUpdates), scoring at `scoringClose` (updates with fewer than
    /// quorum scores: `extendedScoringClose`), attestations are due by `attestationClose`.
    function roundDeadlines(uint256 taskId, uint32 round)
        external
        view
        returns (uint256 submissionsClose, uint256 scoringClose, uint256 extendedScoringClose, uint256 attestationClose);
}
