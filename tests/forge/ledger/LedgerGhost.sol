// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "../../../contracts/interfaces/IConsortium.sol";
import {ILedgerAccess} from "../../../contracts/interfaces/ILedgerAccess.sol";
import {IRoundLedger} from "../../../contracts/interfaces/IRoundLedger.sol";
import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {CheatCodes} from "../base/Vm.sol";

/// @title LedgerGhost — the fixture of the invariant suite: actors, deployment, task parameters,
/// update contents, and the ghost state (everything the handler knows that the chain does not)
/// @dev Porting to a new ledger API touches `_taskParams` (the one params builder), the ghost
/// structs below, and the predicates in LedgerModel; the actions in LedgerActions call one
/// primitive per ledger function.
abstract contract LedgerGhost is CheatCodes {
    // ---- bounds of the model (keep loops and runs small) ----
    uint256 internal constant MAX_TASKS = 8; // published in a sequence
    uint256 internal constant MAX_OPEN_TASKS = 3; // publish waits while this many are open
    uint256 internal constant MAX_UPDATES = 24; // per task
    uint256 internal constant MAX_ROLL = 24; // blocks one roll action moves (usually 1..3)
    uint256 internal constant KEEPER_PERIOD = 16; // roll runs the keeper when it idled this long
    int64 internal constant MARGIN = 12_345; // honest scores: threshold +/- MARGIN
    uint32 internal constant SAMPLES = 100;

    bytes32 internal constant PUBLISHER = keccak256("PUBLISHER_ROLE");
    bytes32 internal constant PROVIDER = keccak256("PROVIDER_ROLE");
    bytes32 internal constant VALIDATOR = keccak256("VALIDATOR_ROLE");

    uint8 internal constant FEDERATION = 0;
    uint8 internal constant DAG = 1;
    uint8 internal constant NONE = 0;
    uint8 internal constant PENDING = 1;
    uint8 internal constant ACCEPTED = 2;
    uint8 internal constant REJECTED = 3;

    enum Kind {
        Publisher,
        HonestProvider,
        ByzantineProvider,
        Copier,
        HonestValidator,
        LyingValidator,
        Outsider,
        Keeper
    }

    /// @dev What an update's bytes are: a good model, a poisoned one, or a replay of the base model.
    enum Content {
        Good,
        Poisoned,
        BaseReplay
    }

    struct GhostUpdate {
        bool made; // the content exists off chain (it may not be submitted yet)
        address author; // who trained it (zero for a replay of the base model: nobody's work)
        address firstSubmitter; // who submitted it first, zero until then
        Content content;
        uint32 round; // federation round it was submitted in
        uint8 status; // last status the handler observed
        uint8 honestScores; // scores from honest committee members
        uint8 honestPasses; // ... of which cleared the threshold
        uint8 liarPasses; // scores from lying members that cleared the threshold
    }

    struct GhostTask {
        uint256 id;
        uint8 flow;
        address publisher;
        int64 threshold;
        bytes32 initialWeights;
        address[] committee;
        bytes32[] submitted; // every submitted update, in submission order
        bytes32[] dagAccepted; // dag: accepted updates, in acceptance order
        uint256 contentNonce;
        bool frozen; // seen closed: its fingerprint may never change again
        bytes32 frozenFingerprint;
        uint256 frozenAtBlock;
        mapping(uint32 round => bytes32[]) accepted; // federation: acceptance order per round
        mapping(uint32 round => bytes32[]) proposed; // results proposed per round
        mapping(uint32 round => mapping(bytes32 result => bool)) liveCid; // a fetchable CID was given
        mapping(bytes32 update => GhostUpdate) updates;
    }

    struct Ghost {
        uint256 blockNumber; // forge may reset block.number between calls: every action rolls to this
        uint256 lastKeeperBlock;
        uint256 keeperRuns;
        uint256[] taskIds;
        mapping(uint256 taskId => GhostTask) tasks;
        uint256 ledgerCalls;
        uint256 ledgerSuccesses;
        uint256 mismatches; // a call succeeded where the rules say revert, or the reverse
        string firstMismatch;
        uint256 honestFailures; // an honest participant's call reverted
        string firstHonestFailure;
        string[] callNames; // per ledger function: calls and successes
        mapping(bytes32 name => uint256) callIndex; // index + 1 in callNames
        mapping(bytes32 name => uint256[2]) callCounts;
        uint256 staleTask; // a settle batch the keeper prepared earlier (known-holes mode)
        bytes32[] staleBatch;
    }

    Ghost internal g;

    IConsortium public immutable consortium;
    address public immutable ledger;
    ITaskRegistry internal immutable registry;
    IUpdateLedger internal immutable updateLedger;
    IRoundLedger internal immutable roundLedger;
    /// @notice Whether the actions may walk into the holes the next contract version closes.
    bool public immutable knownHoles;

    // ---- actors ----
    address[] internal actors; // the pool random actions draw from
    address[] internal honestValidators;
    address[] internal liars;
    address[] internal honestProviders;
    address[] internal providerPool; // every account that starts with PROVIDER_ROLE
    address internal byzantine;
    address internal copier;
    address internal keeperAccount;
    mapping(address account => Kind) internal kindOf;
    mapping(address account => string) internal nameOf;

    constructor(bool knownHoles_) {
        knownHoles = knownHoles_;
        consortium = IConsortium(vm.deployCode("Consortium.sol:Consortium", abi.encode(uint48(2 days), address(this))));
        ledger = vm.deployCode("LearningLedger.sol:LearningLedger", abi.encode(address(consortium)));
        registry = ITaskRegistry(ledger);
        updateLedger = IUpdateLedger(ledger);
        roundLedger = IRoundLedger(ledger);
        vm.label(address(consortium), "Consortium");
        vm.label(ledger, "LearningLedger");

        _actor("publisher0", Kind.Publisher, PUBLISHER);
        _actor("publisher1", Kind.Publisher, PUBLISHER);
        for (uint256 i = 0; i < 3; ++i) {
            honestProviders.push(_actor(string.concat("provider", _str(i)), Kind.HonestProvider, PROVIDER));
        }
        byzantine = _actor("byzantine", Kind.ByzantineProvider, PROVIDER);
        copier = _actor("copier", Kind.Copier, PROVIDER);
        providerPool = honestProviders;
        providerPool.push(byzantine);
        providerPool.push(copier);
        for (uint256 i = 0; i < 5; ++i) {
            honestValidators.push(_actor(string.concat("honest", _str(i)), Kind.HonestValidator, VALIDATOR));
        }
        consortium.grantRole(PROVIDER, honestValidators[4]); // a validator that also provides
        providerPool.push(honestValidators[4]);
        for (uint256 i = 0; i < 2; ++i) {
            liars.push(_actor(string.concat("liar", _str(i)), Kind.LyingValidator, VALIDATOR));
        }
        _actor("outsider0", Kind.Outsider, bytes32(0));
        _actor("outsider1", Kind.Outsider, bytes32(0));
        // The keeper is any honest participant; it is not in the random pool and keeps its role.
        keeperAccount = _account("keeper");
        kindOf[keeperAccount] = Kind.Keeper;
        nameOf[keeperAccount] = "keeper";
        consortium.grantRole(PUBLISHER, keeperAccount);

        g.blockNumber = block.number;
        g.lastKeeperBlock = block.number;
    }

    function _account(string memory name) internal returns (address a) {
        a = address(uint160(uint256(keccak256(abi.encode("ledgerlearn-fuzz-actor", name)))));
        vm.label(a, name);
    }

    function _actor(string memory name, Kind kind, bytes32 role) internal returns (address a) {
        a = _account(name);
        actors.push(a);
        kindOf[a] = kind;
        nameOf[a] = name;
        if (role != bytes32(0)) consortium.grantRole(role, a);
    }

    // ---- the one task-parameters builder ----

    /// @dev Valid parameters most of the time: n in 3..5 committee members of which exactly f lie
    /// (f < k <= n - f, so at most f liars ever sit on a committee), random windows and threshold;
    /// one in 16 breaks the policy and one in 32 a window, so refusals are exercised too.
    function _taskParams(uint8 flow, uint256 seed) internal view returns (ITaskRegistry.TaskParams memory p) {
        uint256 n = 3 + seed % 3;
        uint256 f = (seed >> 8) % ((n - 1) / 2 + 1);
        uint256 k = f + 1 + (seed >> 16) % (n - 2 * f);
        if ((seed >> 24) % 16 == 0) k = n - f + 1; // unsafe: no honest quorum
        p.committee = new address[](n);
        uint256 offset = (seed >> 32) % honestValidators.length;
        uint256 rotate = (seed >> 40) % n;
        for (uint256 i = 0; i < n; ++i) {
            address member = i < f ? liars[i] : honestValidators[(offset + i - f) % honestValidators.length];
            p.committee[(i + rotate) % n] = member;
        }
        p.fragmentHashes = new bytes32[](n);
        p.fragmentCids = new string[](n);
        for (uint256 i = 0; i < n; ++i) {
            p.fragmentHashes[i] = keccak256(abi.encode("fragment", i));
            p.fragmentCids[i] = string.concat("bafkreifragment", _str(i));
        }
        p.modelSpecHash = keccak256("model spec");
        p.modelSpecCid = "bafkreispec";
        p.initialWeightsHash = keccak256(abi.encode("initial weights", g.taskIds.length));
        p.initialWeightsCid = "bafkreiinitial";
        p.flow = flow;
        p.metric = uint8((seed >> 48) % 3);
        p.thresholdMode = uint8((seed >> 56) % 3);
        p.threshold = int64(int256((seed >> 64) % 2_000_001)) - 1_000_000;
        p.quorum = uint8(k);
        p.maxFaultyValidators = uint8(f);
        p.aggregationRule = uint8((seed >> 96) % 8);
        p.numByzantine = uint16((seed >> 104) % 3);
        p.roundLength = uint32(2 + (seed >> 112) % 9);
        p.scoreWindow = uint32(1 + (seed >> 120) % 8);
        p.maxRounds = flow == FEDERATION ? uint32(1 + (seed >> 128) % 4) : 1;
        p.maxParents = flow == DAG ? uint8(1 + (seed >> 136) % 3) : 0;
        if ((seed >> 144) % 32 == 0) p.scoreWindow = 0; // refused
    }

    // ---- contents ----

    /// @dev New bytes authored by `author` (or the round's base model replayed), noted in the ghost.
    function _makeContent(GhostTask storage t, address author, Content content) internal returns (bytes32 h) {
        if (content == Content.BaseReplay) {
            h = _baseModel(t);
            author = address(0);
        } else {
            h = keccak256(abi.encode("ledgerlearn-fuzz-update", t.id, author, ++t.contentNonce, content));
        }
        GhostUpdate storage u = t.updates[h];
        if (!u.made) {
            u.made = true;
            u.author = author;
            u.content = content;
        }
    }

    /// @dev Federation: the current round's base model; dag: the initial weights (the root).
    function _baseModel(GhostTask storage t) internal view returns (bytes32) {
        if (t.flow == DAG) return t.initialWeights;
        return roundLedger.getRound(t.id, registry.getTask(t.id).currentRound).baseModelHash;
    }

    /// @dev The aggregate an honest participant computes from a round's accepted updates.
    function _rightResult(GhostTask storage t, uint32 round) internal view returns (bytes32) {
        return keccak256(abi.encode("ledgerlearn-fuzz-aggregate", t.id, round, _digest(t.accepted[round])));
    }

    function _digest(bytes32[] memory list) internal pure returns (bytes32 d) {
        for (uint256 i = 0; i < list.length; ++i) {
            d = keccak256(abi.encode(d, list[i]));
        }
    }

    // ---- small helpers ----

    function _pick(address[] storage pool, uint256 seed) internal view returns (address) {
        return pool[seed % pool.length];
    }

    /// @dev From `pool` three times out of four, from all actors otherwise.
    function _mostly(address[] storage pool, uint256 seed) internal view returns (address) {
        return seed % 4 != 0 ? pool[(seed >> 2) % pool.length] : actors[(seed >> 2) % actors.length];
    }

    /// @dev A published task (its ghost), or none when nothing is published yet: an open one
    /// seven times out of eight when there is one, any otherwise.
    function _ghostTask(uint256 seed) internal view returns (GhostTask storage t, bool found) {
        uint256 count = g.taskIds.length;
        if (count == 0) return (g.tasks[0], false);
        found = true;
        uint256 start = (seed >> 3) % count;
        if (seed % 8 != 0) {
            for (uint256 i = 0; i < count; ++i) {
                uint256 id = g.taskIds[(start + i) % count];
                if (!g.tasks[id].frozen) return (g.tasks[id], true);
            }
        }
        t = g.tasks[g.taskIds[start]];
    }

    /// @dev Like _ghostTask, among the tasks of one flow.
    function _ghostTaskOf(uint8 flow, uint256 seed) internal view returns (GhostTask storage t, bool found) {
        uint256 count = g.taskIds.length;
        uint256 start = count == 0 ? 0 : (seed >> 3) % count;
        bool anyClosed = seed % 8 == 0;
        for (uint256 i = 0; i < count; ++i) {
            uint256 id = g.taskIds[(start + i) % count];
            if (g.tasks[id].flow == flow && (anyClosed || !g.tasks[id].frozen)) return (g.tasks[id], true);
        }
        return (g.tasks[0], false);
    }

    function _openTasks() internal view returns (uint256 open) {
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            if (!g.tasks[g.taskIds[i]].frozen) ++open;
        }
    }

    function _memberIndex(GhostTask storage t, address account) internal view returns (bool, uint256) {
        for (uint256 i = 0; i < t.committee.length; ++i) {
            if (t.committee[i] == account) return (true, i);
        }
        return (false, 0);
    }

    function _isClosed(uint256 taskId) internal view returns (bool) {
        return registry.getTask(taskId).closed;
    }

    /// @dev The score `member` gives: the truth from an honest member, a lie (sometimes an extreme
    /// value) from a liar, anything from anyone else.
    function _scoreOf(GhostTask storage t, address member, bytes32 update, uint256 seed) internal view returns (int64) {
        bool good = t.updates[update].content == Content.Good;
        Kind kind = kindOf[member];
        if (kind == Kind.HonestValidator) return good ? t.threshold + MARGIN : t.threshold - MARGIN;
        if (kind == Kind.LyingValidator) {
            if (seed % 4 == 0) return good ? type(int64).min : type(int64).max;
            return good ? t.threshold - MARGIN : t.threshold + MARGIN;
        }
        return int64(int256(seed % 4_000_001)) - 2_000_000;
    }

    /// @dev Everything observable about a task, hashed: getTask, committee, every round and
    /// proposal, every update, every actor's participation.
    function _fingerprint(GhostTask storage t) internal view returns (bytes32 h) {
        uint256 id = t.id;
        ITaskRegistry.TaskInfo memory info = registry.getTask(id);
        (address[] memory members, bytes32[] memory fragments) = registry.getCommittee(id);
        h = keccak256(abi.encode(info, members, fragments));
        if (info.flow == FEDERATION) {
            for (uint32 r = 1; r <= info.currentRound + 1; ++r) {
                h = keccak256(abi.encode(h, roundLedger.getRound(id, r)));
                bytes32[] storage results = t.proposed[r];
                for (uint256 i = 0; i < results.length; ++i) {
                    (address proposer, uint8 attestations) = roundLedger.getProposal(id, r, results[i]);
                    h = keccak256(abi.encode(h, results[i], proposer, attestations));
                }
            }
        }
        for (uint256 i = 0; i < t.submitted.length; ++i) {
            h = keccak256(abi.encode(h, updateLedger.getUpdate(id, t.submitted[i])));
        }
        for (uint256 i = 0; i < actors.length; ++i) {
            (bool joined, uint32 lastRound) = updateLedger.participation(id, actors[i]);
            h = keccak256(abi.encode(h, joined, lastRound));
        }
    }

    /// @dev Called after every ledger call: a task seen closed for the first time is frozen.
    function _freeze(uint256 taskId) internal {
        GhostTask storage t = g.tasks[taskId];
        if (t.id == 0 || t.frozen || !_isClosed(taskId)) return;
        t.frozen = true;
        t.frozenFingerprint = _fingerprint(t);
        t.frozenAtBlock = block.number;
    }

    // ---- reporting ----

    /// @dev Notes the outcome of a ledger call: a mismatch with the rules (LedgerModel), and an
    /// honest participant's failed call.
    function _record(
        string memory action,
        address actor,
        uint256 taskId,
        bool expected,
        bool ok,
        bytes memory reason,
        bool honest
    ) internal {
        ++g.ledgerCalls;
        if (ok) ++g.ledgerSuccesses;
        bytes32 key = keccak256(bytes(action));
        if (g.callIndex[key] == 0) {
            g.callNames.push(action);
            g.callIndex[key] = g.callNames.length;
        }
        ++g.callCounts[key][0];
        if (ok) ++g.callCounts[key][1];
        if (expected != ok) {
            if (g.mismatches++ == 0) {
                g.firstMismatch = string.concat(
                    action,
                    " by ",
                    nameOf[actor],
                    " on task ",
                    _str(taskId),
                    " at block ",
                    _str(block.number),
                    ok ? " succeeded where the rules say it reverts" : " reverted where the rules say it succeeds: ",
                    ok ? "" : _errorName(reason)
                );
            }
        }
        if (honest && !ok) {
            if (g.honestFailures++ == 0) {
                g.firstHonestFailure = string.concat(
                    action, " by honest ", nameOf[actor], " on task ", _str(taskId), " at block ",
                    _str(block.number), " reverted: ", _errorName(reason)
                );
            }
        }
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        while (v != 0) {
            b = abi.encodePacked(bytes1(uint8(48 + v % 10)), b);
            v /= 10;
        }
        return string(b);
    }

    function _hex(bytes32 v, uint256 bytesCount) internal pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory out = new bytes(2 + 2 * bytesCount);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i = 0; i < bytesCount; ++i) {
            out[2 + 2 * i] = digits[uint8(v[i]) >> 4];
            out[3 + 2 * i] = digits[uint8(v[i]) & 15];
        }
        return string(out);
    }

    /// @dev The custom error a revert carried, by name where it is one of the ledger's.
    function _errorName(bytes memory reason) internal pure returns (string memory) {
        if (reason.length < 4) return "(no data)";
        bytes4 s = bytes4(reason);
        if (s == ILedgerAccess.LedgerUnauthorizedAccount.selector) return "LedgerUnauthorizedAccount";
        if (s == ILedgerAccess.LedgerUnknownTask.selector) return "LedgerUnknownTask";
        if (s == ILedgerAccess.LedgerNotCommitteeMember.selector) return "LedgerNotCommitteeMember";
        if (s == ITaskRegistry.TaskRegistryTaskClosed.selector) return "TaskRegistryTaskClosed";
        if (s == ITaskRegistry.TaskRegistryNotPublisher.selector) return "TaskRegistryNotPublisher";
        if (s == ITaskRegistry.TaskRegistryUnsafePolicy.selector) return "TaskRegistryUnsafePolicy";
        if (s == ITaskRegistry.TaskRegistryInvalidParameter.selector) return "TaskRegistryInvalidParameter";
        if (s == IUpdateLedger.UpdateLedgerDuplicateContent.selector) return "UpdateLedgerDuplicateContent";
        if (s == IUpdateLedger.UpdateLedgerAlreadyDecided.selector) return "UpdateLedgerAlreadyDecided";
        if (s == IUpdateLedger.UpdateLedgerScoringClosed.selector) return "UpdateLedgerScoringClosed";
        if (s == IUpdateLedger.UpdateLedgerScoringOpen.selector) return "UpdateLedgerScoringOpen";
        if (s == IUpdateLedger.UpdateLedgerAlreadyScored.selector) return "UpdateLedgerAlreadyScored";
        if (s == IUpdateLedger.UpdateLedgerSubmissionClosed.selector) return "UpdateLedgerSubmissionClosed";
        if (s == IUpdateLedger.UpdateLedgerAlreadySubmitted.selector) return "UpdateLedgerAlreadySubmitted";
        if (s == IUpdateLedger.UpdateLedgerNotJoined.selector) return "UpdateLedgerNotJoined";
        if (s == IUpdateLedger.UpdateLedgerWrongRound.selector) return "UpdateLedgerWrongRound";
        if (s == IUpdateLedger.UpdateLedgerInvalidParent.selector) return "UpdateLedgerInvalidParent";
        if (s == IUpdateLedger.UpdateLedgerUnknownUpdate.selector) return "UpdateLedgerUnknownUpdate";
        if (s == IRoundLedger.RoundLedgerRoundOpen.selector) return "RoundLedgerRoundOpen";
        if (s == IRoundLedger.RoundLedgerPendingUpdates.selector) return "RoundLedgerPendingUpdates";
        if (s == IRoundLedger.RoundLedgerIncludedMismatch.selector) return "RoundLedgerIncludedMismatch";
        if (s == IRoundLedger.RoundLedgerDuplicateProposal.selector) return "RoundLedgerDuplicateProposal";
        if (s == IRoundLedger.RoundLedgerUnknownProposal.selector) return "RoundLedgerUnknownProposal";
        if (s == IRoundLedger.RoundLedgerAlreadyAttested.selector) return "RoundLedgerAlreadyAttested";
        if (s == IRoundLedger.RoundLedgerNotCurrentRound.selector) return "RoundLedgerNotCurrentRound";
        return string.concat("error ", _hex(bytes32(s), 4));
    }
}
