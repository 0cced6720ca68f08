// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ITaskRegistry} from "../interfaces/ITaskRegistry.sol";
import {LedgerState} from "./LedgerState.sol";

/// @title TaskRegistry — publication of learning tasks, directly or relayed (EIP-712)
abstract contract TaskRegistry is LedgerState, EIP712, Nonces, ITaskRegistry {
    uint8 private constant MAX_PARENTS = 8;
    /// @inheritdoc ITaskRegistry
    uint8 public constant MAX_AGGREGATION_RULE = 10;
    /// @inheritdoc ITaskRegistry
    uint16 public constant MAX_NUM_BYZANTINE = 1000;
    /// @inheritdoc ITaskRegistry
    int64 public constant MAX_ABS_THRESHOLD = 1_000 * 1_000_000;

    bytes32 private constant TASK_PARAMS_TYPE = keccak256(
        "TaskParams(bytes32 modelSpecHash,string modelSpecCid,bytes32 initialWeightsHash,string initialWeightsCid,"
        "uint8 flow,uint8 metric,uint8 thresholdMode,int64 threshold,uint8 quorum,uint8 maxFaultyValidators,"
        "uint8 aggregationRule,uint16 numByzantine,uint32 roundLength,uint32 scoreWindow,uint32 maxRounds,"
        "uint8 maxParents,uint16 minUpdates,uint32 roundExtension,uint32 scoreExtension,uint32 attestWindow,"
        "uint16 maxPending,uint8 drawSize,uint32 commitWindow,uint16 maxRejections,address[] committee,"
        "bytes32[] fragmentHashes,string[] fragmentCids)"
    );
    bytes32 private constant PUBLISH_TASK_TYPE = keccak256(
        "PublishTask(address publisher,TaskParams params,uint256 nonce,uint256 deadline)"
        "TaskParams(bytes32 modelSpecHash,string modelSpecCid,bytes32 initialWeightsHash,string initialWeightsCid,"
        "uint8 flow,uint8 metric,uint8 thresholdMode,int64 threshold,uint8 quorum,uint8 maxFaultyValidators,"
        "uint8 aggregationRule,uint16 numByzantine,uint32 roundLength,uint32 scoreWindow,uint32 maxRounds,"
        "uint8 maxParents,uint16 minUpdates,uint32 roundExtension,uint32 scoreExtension,uint32 attestWindow,"
        "uint16 maxPending,uint8 drawSize,uint32 commitWindow,uint16 maxRejections,address[] committee,"
        "bytes32[] fragmentHashes,string[] fragmentCids)"
    );

    /// @inheritdoc ITaskRegistry
    function publishTask(TaskParams calldata params) external returns (uint256) {
        return _publish(params, msg.sender);
    }

    /// @inheritdoc ITaskRegistry
    function publishTaskFor(TaskParams calldata params, address publisher, uint256 deadline, bytes calldata signature)
        external
        returns (uint256)
    {
        if (block.timestamp > deadline) revert TaskRegistryExpiredSignature(deadline, block.timestamp);
        bytes32 digest = _publishDigest(params, publisher, _useNonce(publisher), deadline);
        // The error argument (signature length or s value) adds nothing: any failure is reported
        // as an invalid signer.
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError failure,) = ECDSA.tryRecover(digest, signature);
        if (failure != ECDSA.RecoverError.NoError || signer == address(0) || signer != publisher) {
            revert TaskRegistryInvalidSigner(signer, publisher);
        }
        return _publish(params, publisher);
    }

    /// @inheritdoc ITaskRegistry
    function closeTask(uint256 taskId) external {
        Task storage t = _task(taskId); // in any stage: a publisher may withdraw a task under vetting
        if (t.closed) revert TaskRegistryTaskClosed(taskId);
        address publisher = t.publisher;
        if (msg.sender == publisher) {
            _requireRole(PUBLISHER_ROLE, msg.sender);
        } else if (_consortium.hasRole(PUBLISHER_ROLE, publisher) || _committeeSlot[taskId][msg.sender] == 0) {
            revert TaskRegistryNotPublisher(taskId, msg.sender);
        } else {
            _requireRole(VALIDATOR_ROLE, msg.sender); // a committee member, once the publisher lost its role
        }
        t.closed = true;
        emit TaskClosed(taskId, msg.sender, _globalModel(taskId, t));
    }

    /// @inheritdoc ITaskRegistry
    function setCommittee(uint256 taskId, address[] calldata members) external {
        Task storage t = _vettedTask(taskId, STAGE_DRAWING);
        if (members.length != t.committeeSize) revert TaskRegistryCommitteeSize(members.length, t.committeeSize);
        address publisher = t.publisher;
        for (uint256 i = 0; i < members.length; ++i) {
            if (members[i] == publisher) revert TaskRegistryDuplicateCommitteeMember(publisher);
        }
        _seat(taskId, members);
        t.stage = STAGE_VETTING;
        emit CommitteeSeated(taskId, members);
    }

    /// @inheritdoc ITaskRegistry
    function postFragments(uint256 taskId, bytes32[] calldata fragmentHashes, string[] calldata fragmentCids)
        external
    {
        Task storage t = _task(taskId);
        if (msg.sender != t.publisher) revert TaskRegistryNotPublisher(taskId, msg.sender);
        _requireRole(PUBLISHER_ROLE, msg.sender);
        if (t.closed) revert TaskRegistryTaskClosed(taskId);
        if (t.stage != STAGE_VETTING) revert TaskRegistryWrongStage(taskId, Stage(t.stage), Stage.Vetting);
        if (t.fragmentsPosted) revert TaskRegistryFragmentsPosted(taskId);
        _checkFragments(t.committeeSize, fragmentHashes, fragmentCids);
        _fragmentHashes[taskId] = fragmentHashes;
        t.fragmentsPosted = true;
        emit FragmentsPosted(taskId, fragmentHashes, fragmentCids);
        if (t.approved) _open(taskId, t);
    }

    /// @inheritdoc ITaskRegistry
    function concludeVetting(uint256 taskId, Stage outcome) external {
        if (msg.sender != _vetting || _vetting == address(0)) revert TaskRegistryNotVetting(msg.sender);
        Task storage t = _task(taskId);
        if (t.closed) revert TaskRegistryTaskClosed(taskId);
        uint8 stage = t.stage;
        if (stage != STAGE_DRAWING && stage != STAGE_VETTING) {
            revert TaskRegistryWrongStage(taskId, Stage(stage), Stage.Vetting);
        }
        if (outcome == Stage.Open) {
            // Approval needs a committee that approved: only from stage Vetting.
            if (stage != STAGE_VETTING) revert TaskRegistryWrongStage(taskId, Stage(stage), Stage.Vetting);
            t.approved = true;
            if (t.fragmentsPosted) _open(taskId, t);
            else emit TaskStageChanged(taskId, Stage.Vetting);
            return;
        }
        if (outcome != Stage.Rejected && outcome != Stage.Expired) {
            revert TaskRegistryWrongStage(taskId, outcome, Stage.Rejected);
        }
        t.stage = uint8(outcome);
        t.closed = true;
        emit TaskStageChanged(taskId, outcome);
    }

    /// @inheritdoc ITaskRegistry
    function cancelPublishNonce() external returns (uint256 cancelled) {
        cancelled = _useNonce(msg.sender);
        emit PublishNonceCancelled(msg.sender, cancelled);
    }

    /// @inheritdoc ITaskRegistry
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @inheritdoc ITaskRegistry
    function getTask(uint256 taskId) external view returns (TaskInfo memory info) {
        Task storage t = _task(taskId);
        info.publisher = t.publisher;
        info.flow = t.flow;
        info.metric = t.metric;
        info.thresholdMode = t.thresholdMode;
        info.quorum = t.quorum;
        info.maxFaultyValidators = t.maxFaultyValidators;
        info.committeeSize = t.committeeSize;
        info.aggregationRule = t.aggregationRule;
        info.maxParents = t.maxParents;
        info.numByzantine = t.numByzantine;
        info.closed = t.closed;
        info.minUpdates = t.minUpdates;
        info.roundExtension = t.roundExtension;
        info.scoreExtension = t.scoreExtension;
        info.attestWindow = t.attestWindow;
        info.maxPending = t.maxPending;
        info.threshold = t.threshold;
        info.roundLength = t.roundLength;
        info.scoreWindow = t.scoreWindow;
        info.maxRounds = t.maxRounds;
        info.currentRound = t.currentRound;
        info.publishedBlock = t.publishedBlock;
        info.modelSpecHash = t.modelSpecHash;
        info.initialWeightsHash = t.initialWeightsHash;
        info.globalModelHash = _globalModel(taskId, t);
        info.stage = Stage(t.stage);
        info.commitWindow = t.commitWindow;
        info.maxRejections = t.maxRejections;
        info.approved = t.approved;
        info.fragmentsPosted = t.fragmentsPosted;
    }

    /// @inheritdoc ITaskRegistry
    function getCommittee(uint256 taskId) external view returns (address[] memory, bytes32[] memory) {
        _task(taskId);
        return (_committees[taskId], _fragmentHashes[taskId]);
    }

    /// @inheritdoc ITaskRegistry
    function publishNonce(address publisher) external view returns (uint256) {
        return nonces(publisher);
    }

    /// @inheritdoc ITaskRegistry
    function publishDigest(TaskParams calldata params, address publisher, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _publishDigest(params, publisher, nonce, deadline);
    }

    /// @dev Federation: the base model of the current round, or the last result once finalized.
    /// Dag: the initial weights (the consensus model is computed off chain from the tips).
    function _globalModel(uint256 taskId, Task storage t) internal view returns (bytes32) {
        if (t.flow == FLOW_DAG) return t.initialWeightsHash;
        Round storage r = _rounds[taskId][t.currentRound];
        return r.finalized ? r.resultHash : r.baseModelHash;
    }

    function _publish(TaskParams calldata p, address publisher) private returns (uint256 taskId) {
        _requireRole(PUBLISHER_ROLE, publisher);
        bool drawn = _vetting != address(0);
        if (drawn != (p.committee.length == 0) || drawn != (p.drawSize > 0)) revert TaskRegistryCommitteeMode(drawn);
        if (p.commitWindow > 0 && _scoreCommitments == address(0)) {
            revert TaskRegistryInvalidParameter("commitWindow", int256(uint256(p.commitWindow)));
        }
        _checkParams(p, drawn ? p.drawSize : p.committee.length);
        taskId = ++_taskCount;
        Task storage t = _tasks[taskId];
        t.publisher = publisher;
        t.flow = p.flow;
        t.metric = p.metric;
        t.thresholdMode = p.thresholdMode;
        t.quorum = p.quorum;
        t.maxFaultyValidators = p.maxFaultyValidators;
        t.committeeSize = drawn ? p.drawSize : uint8(p.committee.length);
        t.aggregationRule = p.aggregationRule;
        t.maxParents = p.maxParents;
        t.numByzantine = p.numByzantine;
        t.threshold = p.threshold;
        t.roundLength = p.roundLength;
        t.scoreWindow = p.scoreWindow;
        t.maxRounds = p.maxRounds;
        t.publishedBlock = uint40(block.number);
        t.minUpdates = p.minUpdates;
        t.roundExtension = p.roundExtension;
        t.scoreExtension = p.scoreExtension;
        t.attestWindow = p.attestWindow;
        t.maxPending = p.maxPending;
        t.commitWindow = p.commitWindow;
        t.scoresCommitted = p.commitWindow > 0;
        t.maxRejections = p.maxRejections;
        t.modelSpecHash = p.modelSpecHash;
        t.initialWeightsHash = p.initialWeightsHash;
        _usedContent[p.initialWeightsHash] = true; // no update of any task may replay it
        if (p.flow == FLOW_FEDERATION) {
            t.currentRound = 1;
            _rounds[taskId][1].baseModelHash = p.initialWeightsHash;
        }
        if (drawn) {
            t.stage = STAGE_DRAWING;
            emit TaskPublished(taskId, publisher, msg.sender, p);
            return taskId;
        }
        _seat(taskId, p.committee);
        _fragmentHashes[taskId] = p.fragmentHashes;
        if (p.flow == FLOW_FEDERATION) _rounds[taskId][1].startBlock = uint40(block.number);
        emit TaskPublished(taskId, publisher, msg.sender, p);
    }

    /// @dev A task of this ledger's vetting in `stage`; the caller is the vetting contract.
    function _vettedTask(uint256 taskId, uint8 stage) private view returns (Task storage t) {
        if (msg.sender != _vetting || _vetting == address(0)) revert TaskRegistryNotVetting(msg.sender);
        t = _task(taskId);
        if (t.closed) revert TaskRegistryTaskClosed(taskId);
        if (t.stage != stage) revert TaskRegistryWrongStage(taskId, Stage(t.stage), Stage(stage));
    }

    function _seat(uint256 taskId, address[] calldata members) private {
        _committees[taskId] = members;
        mapping(address => uint256) storage slots = _committeeSlot[taskId];
        for (uint256 i = 0; i < members.length; ++i) {
            address member = members[i];
            if (slots[member] != 0) revert TaskRegistryDuplicateCommitteeMember(member);
            _requireRole(VALIDATOR_ROLE, member);
            slots[member] = i + 1;
        }
    }

    /// @dev Vetting approved and the fragments are posted: the task opens; round 1 starts now.
    function _open(uint256 taskId, Task storage t) private {
        t.stage = STAGE_OPEN;
        if (t.flow == FLOW_FEDERATION) _rounds[taskId][1].startBlock = uint40(block.number);
        emit TaskStageChanged(taskId, Stage.Open);
    }

    function _checkFragments(uint256 n, bytes32[] calldata hashes, string[] calldata cids) private pure {
        if (hashes.length != n || cids.length != n) revert TaskRegistryFragmentCount(n, hashes.length, cids.length);
        for (uint256 i = 0; i < n; ++i) {
            if (hashes[i] == bytes32(0)) revert TaskRegistryInvalidParameter("fragmentHashes", int256(i));
        }
    }

    /// @dev `n`: the committee's size (named, or to be drawn).
    function _checkParams(TaskParams calldata p, uint256 n) private pure {
        if (n == 0 || n > MAX_COMMITTEE) revert TaskRegistryCommitteeSize(n, MAX_COMMITTEE);
        _checkFragments(p.committee.length, p.fragmentHashes, p.fragmentCids);
        uint256 k = p.quorum;
        uint256 f = p.maxFaultyValidators;
        // k = 1 with three or more members: one member would decide alone at the deadline.
        if (f >= k || k + f > n || (k == 1 && n > 2)) revert TaskRegistryUnsafePolicy(n, k, f);
        if (p.threshold > MAX_ABS_THRESHOLD || p.threshold < -MAX_ABS_THRESHOLD) {
            revert TaskRegistryInvalidParameter("threshold", p.threshold);
        }
        if (p.aggregationRule > MAX_AGGREGATION_RULE) {
            revert TaskRegistryInvalidParameter("aggregationRule", int256(uint256(p.aggregationRule)));
        }
        if (p.numByzantine > MAX_NUM_BYZANTINE) {
            revert TaskRegistryInvalidParameter("numByzantine", int256(uint256(p.numByzantine)));
        }
        if (p.modelSpecHash == bytes32(0)) revert TaskRegistryInvalidParameter("modelSpecHash", 0);
        if (p.initialWeightsHash == bytes32(0)) revert TaskRegistryInvalidParameter("initialWeightsHash", 0);
        if (p.flow > FLOW_DAG) revert TaskRegistryInvalidParameter("flow", int256(uint256(p.flow)));
        if (p.metric > 2) revert TaskRegistryInvalidParameter("metric", int256(uint256(p.metric)));
        if (p.thresholdMode > 2) {
            revert TaskRegistryInvalidParameter("thresholdMode", int256(uint256(p.thresholdMode)));
        }
        if (p.roundLength == 0) revert TaskRegistryInvalidParameter("roundLength", 0);
        if (p.scoreWindow == 0) revert TaskRegistryInvalidParameter("scoreWindow", 0);
        if (p.maxRounds == 0) revert TaskRegistryInvalidParameter("maxRounds", 0);
        if (p.flow == FLOW_DAG && (p.maxParents == 0 || p.maxParents > MAX_PARENTS)) {
            revert TaskRegistryInvalidParameter("maxParents", int256(uint256(p.maxParents)));
        }
        if (p.flow == FLOW_DAG && p.maxPending == 0) revert TaskRegistryInvalidParameter("maxPending", 0);
        if (p.flow == FLOW_FEDERATION && p.attestWindow == 0) revert TaskRegistryInvalidParameter("attestWindow", 0);
        // Reveals need blocks after the commit window, before scoring closes.
        if (p.commitWindow >= p.scoreWindow && p.commitWindow > 0) {
            revert TaskRegistryInvalidParameter("commitWindow", int256(uint256(p.commitWindow)));
        }
    }

    function _publishDigest(TaskParams calldata p, address publisher, uint256 nonce, uint256 deadline)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(PUBLISH_TASK_TYPE, publisher, _hashParams(p), nonce, deadline)));
    }

    function _hashParams(TaskParams calldata p) private pure returns (bytes32) {
        bytes32[] memory cidHashes = new bytes32[](p.fragmentCids.length);
        for (uint256 i = 0; i < cidHashes.length; ++i) {
            cidHashes[i] = keccak256(bytes(p.fragmentCids[i]));
        }
        bytes memory head = abi.encode(
            TASK_PARAMS_TYPE,
            p.modelSpecHash,
            keccak256(bytes(p.modelSpecCid)),
            p.initialWeightsHash,
            keccak256(bytes(p.initialWeightsCid)),
            p.flow,
            p.metric,
            p.thresholdMode,
            p.threshold,
            p.quorum
        );
        bytes memory middle = abi.encode(
            p.maxFaultyValidators,
            p.aggregationRule,
            p.numByzantine,
            p.roundLength,
            p.scoreWindow,
            p.maxRounds,
            p.maxParents,
            p.minUpdates,
            p.roundExtension,
            p.scoreExtension
        );
        bytes memory tail = abi.encode(
            p.attestWindow,
            p.maxPending,
            p.drawSize,
            p.commitWindow,
            p.maxRejections,
            keccak256(abi.encodePacked(p.committee)),
            keccak256(abi.encodePacked(p.fragmentHashes)),
            keccak256(abi.encodePacked(cidHashes))
        );
        return keccak256(bytes.concat(head, middle, tail));
    }
}
