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
        "uint16 maxPending,address[] committee,bytes32[] fragmentHashes,string[] fragmentCids)"
    );
    bytes32 private constant PUBLISH_TASK_TYPE = keccak256(
        "PublishTask(address publisher,TaskParams params,uint256 nonce,uint256 deadline)"
        "TaskParams(bytes32 modelSpecHash,string modelSpecCid,bytes32 initialWeightsHash,string initialWeightsCid,"
        "uint8 flow,uint8 metric,uint8 thresholdMode,int64 threshold,uint8 quorum,uint8 maxFaultyValidators,"
        "uint8 aggregationRule,uint16 numByzantine,uint32 roundLength,uint32 scoreWindow,uint32 maxRounds,"
        "uint8 maxParents,uint16 minUpdates,uint32 roundExtension,uint32 scoreExtension,uint32 attestWindow,"
        "uint16 maxPending,address[] committee,bytes32[] fragmentHashes,string[] fragmentCids)"
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
        Task storage t = _liveTask(taskId);
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
        _checkParams(p);
        taskId = ++_taskCount;
        Task storage t = _tasks[taskId];
        t.publisher = publisher;
        t.flow = p.flow;
        t.metric = p.metric;
        t.thresholdMode = p.thresholdMode;
        t.quorum = p.quorum;
        t.maxFaultyValidators = p.maxFaultyValidators;
        t.committeeSize = uint8(p.committee.length);
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
        t.modelSpecHash = p.modelSpecHash;
        t.initialWeightsHash = p.initialWeightsHash;
        _usedContent[p.initialWeightsHash] = true; // no update of any task may replay it
        _committees[taskId] = p.committee;
        _fragmentHashes[taskId] = p.fragmentHashes;
        mapping(address => uint256) storage slots = _committeeSlot[taskId];
        for (uint256 i = 0; i < p.committee.length; ++i) {
            address member = p.committee[i];
            if (slots[member] != 0) revert TaskRegistryDuplicateCommitteeMember(member);
            _requireRole(VALIDATOR_ROLE, member);
            slots[member] = i + 1;
        }
        if (p.flow == FLOW_FEDERATION) {
            t.currentRound = 1;
            Round storage first = _rounds[taskId][1];
            first.startBlock = uint40(block.number);
            first.baseModelHash = p.initialWeightsHash;
        }
        emit TaskPublished(taskId, publisher, msg.sender, p);
    }

    function _checkParams(TaskParams calldata p) private pure {
        uint256 n = p.committee.length;
        if (n == 0 || n > MAX_COMMITTEE) revert TaskRegistryCommitteeSize(n, MAX_COMMITTEE);
        if (p.fragmentHashes.length != n || p.fragmentCids.length != n) {
            revert TaskRegistryFragmentCount(n, p.fragmentHashes.length, p.fragmentCids.length);
        }
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
        for (uint256 i = 0; i < n; ++i) {
            if (p.fragmentHashes[i] == bytes32(0)) {
                revert TaskRegistryInvalidParameter("fragmentHashes", int256(i));
            }
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
            keccak256(abi.encodePacked(p.committee)),
            keccak256(abi.encodePacked(p.fragmentHashes)),
            keccak256(abi.encodePacked(cidHashes))
        );
        return keccak256(bytes.concat(head, middle, tail));
    }
}
