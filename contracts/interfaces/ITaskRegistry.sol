// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ILedgerAccess} from "./ILedgerAccess.sol";

/// @title ITaskRegistry — publication of learning tasks
/// @notice A task fixes everything participants must agree on before learning starts: the model
/// (spec and initial weights, by content hash; CIDs in the event), the metric, the committee and
/// its validation fragments, the acceptance policy, the flow and the aggregation rule.
///
/// Scores are fixed-point integers with 6 decimals (1.0 == 1_000_000). With the absolute
/// threshold mode (0) a score is the metric of the update on the validator's fragment; with the
/// relative mode (1) it is that metric minus the metric of the current global model (round
/// base, or the parents' merge in a dag task) on the same fragment; with the peer mode (2) it
/// is that metric minus the median metric of the round's valid updates on the same fragment
/// (with fewer than 3 valid updates: minus the global model's metric)
/// (robust to non-IID data, where a good local model can be worse than the global one on a
/// balanced fragment); a dag task has no rounds, and an update's peers are its parents: the
/// peer mode scores it as the relative mode does, against the parents' merge. In every mode a
/// score clears the policy when `score >= threshold`; |threshold| is at most MAX_ABS_THRESHOLD.
///
/// Committee decision: with n members of which at most f lie, the policy must satisfy
/// f < k <= n - f (k: quorum). An update is accepted as soon as a majority of the whole
/// committee has cleared the threshold (the committee median then clears it whatever the others
/// say), rejected as soon as that can no longer happen. At the scoring deadline a pending update
/// is accepted iff at least k scores arrived, their lower median clears the threshold and more
/// than f of them clear it (so at least one honest member approved), and its provider still holds
/// PROVIDER_ROLE (so on the early path too); otherwise rejected. The
/// early path is safe and live while honest members score (c < n/2 liars can neither accept a
/// bad update nor block a good one); the deadline path stays safe with members offline and
/// keeps rounds closing, at the price of liveness. An update that got fewer than k scores by
/// its deadline is not rejected: its scoring stays open up to scoreExtension more blocks while
/// it lacks a quorum, and it expires (no credit, no blame) if the quorum never comes.
/// A score equal to the invalid score (type(int64).min) never clears the threshold.
///
/// Vetting: on a ledger deployed with a vetting contract, a task names no committee: it names the
/// committee's size (`drawSize`), starts in stage Drawing, gets a committee drawn from the
/// validators' pool (`setCommittee`, by the vetting contract), then the publisher posts one
/// validation fragment per drawn member (`postFragments`); the task opens when the committee
/// approved it and the fragments are posted; it is rejected or expires otherwise
/// (`concludeVetting`). Nobody joins, submits or scores before it opens; a rejected or expired
/// task is closed and never opens. Without a vetting contract (a single-host laboratory), a task
/// names its committee and fragments and opens at publication.
interface ITaskRegistry is ILedgerAccess {
    /// @notice Where a task is in its life (closing is the separate `closed` flag).
    enum Stage {
        Open, // accepting providers (or closed after it was open)
        Drawing, // its committee is being drawn
        Vetting, // its committee reviews it; the publisher posts the fragments
        Rejected, // the committee rejected it: closed, never opened
        Expired // nobody decided in time (or no committee could be drawn): closed, never opened
    }

    /// @notice Everything a publisher declares about a task. Signed as EIP-712 `TaskParams`.
    struct TaskParams {
        bytes32 modelSpecHash; // sha256 of the canonical model spec JSON
        string modelSpecCid;
        bytes32 initialWeightsHash; // sha256 of the safetensors bytes
        string initialWeightsCid;
        uint8 flow; // 0 federation, 1 dag
        uint8 metric; // 0 accuracy, 1 macro-F1, 2 negative loss
        uint8 thresholdMode; // 0 absolute, 1 relative to the global model, 2 relative to peers
        int64 threshold; // fixed point, 6 decimals
        uint8 quorum; // k
        uint8 maxFaultyValidators; // f
        uint8 aggregationRule; // id in the ledgerlearn aggregation registry
        uint16 numByzantine; // parameter of the aggregation rule
        uint32 roundLength; // blocks a federation round accepts updates
        uint32 scoreWindow; // blocks the committee has to score after submissions close
        uint32 maxRounds; // federation rounds before the task completes (dag: unused, >= 1)
        uint8 maxParents; // dag: most parents an update may name (federation: unused)
        uint16 minUpdates; // federation: a round's submissions stay open until this many arrived (0: no wait)
        uint32 roundExtension; // federation: most blocks the submission window extends to reach minUpdates
        uint32 scoreExtension; // most blocks scoring stays open for an update with fewer than quorum scores
        uint32 attestWindow; // federation: blocks to attest after scoring closed; then closeRound falls back
        uint16 maxPending; // dag: most undecided updates one provider may have at once (federation: unused)
        uint8 drawSize; // committee drawn from the validators' pool, of this size (0: the committee below)
        uint32 commitWindow; // scores are committed for this many blocks, then revealed (0: sent in the clear)
        uint16 maxRejections; // a provider with this many rejected updates is excluded (0: never)
        address[] committee; // validators, at most 24 (empty when drawn)
        bytes32[] fragmentHashes; // sha256 of each member's encrypted validation fragment
        string[] fragmentCids;
    }

    /// @notice The stored state of a task.
    struct TaskInfo {
        address publisher;
        uint8 flow;
        uint8 metric;
        uint8 thresholdMode;
        uint8 quorum;
        uint8 maxFaultyValidators;
        uint8 committeeSize;
        uint8 aggregationRule;
        uint8 maxParents;
        uint16 numByzantine;
        bool closed;
        uint16 minUpdates;
        uint32 roundExtension;
        uint32 scoreExtension;
        uint32 attestWindow;
        uint16 maxPending;
        int64 threshold;
        uint32 roundLength;
        uint32 scoreWindow;
        uint32 maxRounds;
        uint32 currentRound;
        uint64 publishedBlock;
        bytes32 modelSpecHash;
        bytes32 initialWeightsHash;
        bytes32 globalModelHash;
        Stage stage;
        uint32 commitWindow;
        uint16 maxRejections;
        bool approved;
        bool fragmentsPosted;
    }

    /// @notice A task was published (by the publisher itself or relayed with its signature).
    event TaskPublished(uint256 indexed taskId, address indexed publisher, address relayer, TaskParams params);
    /// @notice A task stopped accepting updates (closed by its publisher, or its last round finalized).
    /// A closed task never changes state again.
    event TaskClosed(uint256 indexed taskId, address indexed by, bytes32 finalModelHash);
    /// @notice A drawn committee was seated on a task (stage Drawing -> Vetting).
    event CommitteeSeated(uint256 indexed taskId, address[] members);
    /// @notice The publisher posted the validation fragments of a drawn committee, in its order.
    event FragmentsPosted(uint256 indexed taskId, bytes32[] fragmentHashes, string[] fragmentCids);
    /// @notice A task moved to `stage` (opened, rejected or expired; or was approved while its
    /// fragments are missing: then `stage` stays Vetting).
    event TaskStageChanged(uint256 indexed taskId, Stage stage);
    /// @notice The publisher invalidated its relayed-publication nonce `nonce`: a signature over it
    /// can no longer be relayed.
    event PublishNonceCancelled(address indexed publisher, uint256 nonce);

    /// @notice No honest quorum can both decide safely and stay live: f < k <= n - f is violated,
    /// or k = 1 with more than two members (one member would decide alone).
    error TaskRegistryUnsafePolicy(uint256 committeeSize, uint256 quorum, uint256 maxFaultyValidators);
    /// @notice The committee is empty or larger than `max`.
    error TaskRegistryCommitteeSize(uint256 size, uint256 max);
    /// @notice A validator appears twice in the committee.
    error TaskRegistryDuplicateCommitteeMember(address validator);
    /// @notice One fragment hash and one fragment CID are needed per committee member.
    error TaskRegistryFragmentCount(uint256 committeeSize, uint256 hashes, uint256 cids);
    /// @notice A field of the task parameters is out of its range (`name` names the field).
    error TaskRegistryInvalidParameter(string name, int256 value);
    /// @notice The relayed publication's signature deadline has passed.
    error TaskRegistryExpiredSignature(uint256 deadline, uint256 timestamp);
    /// @notice The relayed publication was not signed by `publisher` (wrong chain, contract,
    /// nonce — e.g. a replay — or parameters).
    error TaskRegistryInvalidSigner(address signer, address publisher);
    /// @notice Only the task's publisher may do this (or, once the publisher lost its role, a
    /// member of the task's committee).
    error TaskRegistryNotPublisher(uint256 taskId, address account);
    /// @notice The task is closed: it no longer changes (no join, update, score, settlement,
    /// proposal or attestation).
    error TaskRegistryTaskClosed(uint256 taskId);

    /// @notice The task is not open: it is being drawn or vetted, or was rejected or expired.
    error TaskRegistryNotOpen(uint256 taskId, Stage stage);
    /// @notice The task is not in the stage this step needs.
    error TaskRegistryWrongStage(uint256 taskId, Stage stage, Stage expected);
    /// @notice Only the ledger's vetting contract may do this.
    error TaskRegistryNotVetting(address account);
    /// @notice This ledger draws committees (the task must give drawSize and no committee), or it
    /// has no vetting contract (the task must name its committee).
    error TaskRegistryCommitteeMode(bool drawn);
    /// @notice The fragments of a drawn committee were already posted.
    error TaskRegistryFragmentsPosted(uint256 taskId);

    /// @notice Publishes a task; the caller is its publisher and needs PUBLISHER_ROLE.
    function publishTask(TaskParams calldata params) external returns (uint256 taskId);

    /// @notice Publishes a task on behalf of `publisher`, who signed the EIP-712 message
    /// `PublishTask(address publisher,TaskParams params,uint256 nonce,uint256 deadline)` with its
    /// current nonce. Anyone may relay; the publisher needs PUBLISHER_ROLE.
    function publishTaskFor(
        TaskParams calldata params,
        address publisher,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 taskId);

    /// @notice Stops a task from accepting updates (or withdraws it while it is drawn or vetted).
    /// Its publisher, while it holds PUBLISHER_ROLE;
    /// once the publisher lost the role, any member of the task's committee (holding
    /// VALIDATOR_ROLE), so that no task stays open for want of a publisher.
    function closeTask(uint256 taskId) external;

    /// @notice Invalidates the caller's current relayed-publication nonce: a PublishTask signature
    /// over it (handed to a relayer and not yet relayed) can no longer be used. Returns the
    /// cancelled nonce.
    function cancelPublishNonce() external returns (uint256);

    /// @notice Seats the drawn committee of a task in stage Drawing (stage -> Vetting). Only the
    /// vetting contract; members hold VALIDATOR_ROLE, are distinct and are not the publisher.
    function setCommittee(uint256 taskId, address[] calldata members) external;

    /// @notice The publisher posts one validation fragment per drawn member (in the committee's
    /// order), once, in stage Vetting. A task already approved opens.
    function postFragments(uint256 taskId, bytes32[] calldata fragmentHashes, string[] calldata fragmentCids)
        external;

    /// @notice Ends vetting: `outcome` is Open (approved: the task opens once its fragments are
    /// posted), Rejected or Expired (the task is closed and never opens). Only the vetting contract.
    function concludeVetting(uint256 taskId, Stage outcome) external;

    /// @notice Highest aggregation rule id (ids run from 0).
    function MAX_AGGREGATION_RULE() external view returns (uint8);
    /// @notice Highest numByzantine a task may declare.
    function MAX_NUM_BYZANTINE() external view returns (uint16);
    /// @notice Largest |threshold| (fixed point, 6 decimals) a task may declare.
    function MAX_ABS_THRESHOLD() external view returns (int64);

    /// @notice Number of tasks published; ids run from 1 to taskCount().
    function taskCount() external view returns (uint256);
    /// @notice The stored state of a task.
    function getTask(uint256 taskId) external view returns (TaskInfo memory);
    /// @notice The committee of a task and the hash of each member's validation fragment.
    function getCommittee(uint256 taskId) external view returns (address[] memory members, bytes32[] memory fragmentHashes);
    /// @notice The next nonce `publisher` must sign for publishTaskFor.
    function publishNonce(address publisher) external view returns (uint256);
    /// @notice EIP-712 digest a publisher signs for publishTaskFor.
    function publishDigest(TaskParams calldata params, address publisher, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32);
}
