// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "../../../contracts/interfaces/IConsortium.sol";
import {ILedgerAccess} from "../../../contracts/interfaces/ILedgerAccess.sol";
import {IRoundLedger} from "../../../contracts/interfaces/IRoundLedger.sol";
import {ITaskRegistry} from "../../../contracts/interfaces/ITaskRegistry.sol";
import {IUpdateLedger} from "../../../contracts/interfaces/IUpdateLedger.sol";
import {CheatCodes, Vm} from "../base/Vm.sol";

/// @title LedgerGhost — the fixture of the invariant suite: actors, deployment, task parameters,
/// update contents, and the ghost state (everything the handler knows or predicts, kept apart
/// from the chain so the two can be compared)
/// @dev Porting to a new ledger API touches `_taskParams` (the one params builder), the ghost
/// structs below, and the predicates in LedgerModel; the actions in LedgerActions call one
/// primitive per ledger function.
abstract contract LedgerGhost is CheatCodes {
    // ---- bounds of the model (keep loops and runs small) ----
    uint256 internal constant MAX_TASKS = 8; // published in a sequence
    uint256 internal constant MAX_OPEN_TASKS = 3; // publish waits while this many are open
    uint256 internal constant MAX_UPDATES = 24; // per task
    uint256 internal constant MAX_COMMITS = 48; // open commitments remembered for later reveals
    uint256 internal constant MAX_ROLL = 24; // blocks one roll action moves (usually 1..3)
    uint256 internal constant MAX_OFFLINE = 24; // blocks an honest member's host stays down
    uint256 internal constant MAX_RECOMPUTE = 6; // blocks an honest member may take to recompute an aggregate
    /// @dev The honest keeper acts at least every KEEPER_PERIOD blocks: whenever time passes
    /// (`_advance`), it is woken at the block its period ends if it idled that long.
    uint256 internal constant KEEPER_PERIOD = 16;
    int64 internal constant MARGIN = 12_345; // honest scores: threshold +/- MARGIN
    uint32 internal constant SAMPLES = 100;
    int64 internal constant SCORE_INVALID = type(int64).min;
    int64 internal constant MAX_ABS_THRESHOLD = 1_000 * 1_000_000;

    // ---- the invariants, one bit each (LedgerChecks checks them; actions note what they see) ----
    uint256 internal constant NO_BAD_UPDATE_ACCEPTED = 1 << 0;
    uint256 internal constant HONEST_MAJORITY_DECIDES = 1 << 1;
    uint256 internal constant UPDATES_DECIDED_IN_TIME = 1 << 2;
    uint256 internal constant ROUNDS_FINALIZE_IN_TIME = 1 << 3;
    uint256 internal constant CLOSED_TASKS_FROZEN = 1 << 4;
    uint256 internal constant FIRST_COMMITTER_KEEPS_CREDIT = 1 << 5;
    uint256 internal constant CREDIT_GOES_TO_AUTHOR = 1 << 6;
    uint256 internal constant NO_REPLAYED_MODEL = 1 << 7;
    uint256 internal constant FINALIZED_ROUNDS_RIGHT = 1 << 8;
    uint256 internal constant LEDGER_ACCOUNTING = 1 << 9;
    uint256 internal constant CALLS_MATCH_RULES = 1 << 10;
    uint256 internal constant HONEST_ACTIONS_SUCCEED = 1 << 11;
    uint256 internal constant INVARIANT_COUNT = 12;

    bytes32 internal constant PUBLISHER = keccak256("PUBLISHER_ROLE");
    bytes32 internal constant PROVIDER = keccak256("PROVIDER_ROLE");
    bytes32 internal constant VALIDATOR = keccak256("VALIDATOR_ROLE");

    uint8 internal constant FEDERATION = 0;
    uint8 internal constant DAG = 1;
    uint8 internal constant NONE = 0;
    uint8 internal constant PENDING = 1;
    uint8 internal constant ACCEPTED = 2;
    uint8 internal constant REJECTED = 3;
    uint8 internal constant EXPIRED = 4;

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

    /// @dev What an update's bytes are: a good model, a poisoned one, a replay of the base model,
    /// or a replay of a model used elsewhere in the ledger (another task's initial weights, update
    /// or result).
    enum Content {
        Good,
        Poisoned,
        BaseReplay,
        ForeignReplay
    }

    /// @dev The fields of a task's policy the model needs (immutable once published).
    struct Policy {
        uint8 flow;
        uint8 quorum;
        uint8 f;
        uint8 maxParents;
        uint16 minUpdates;
        uint16 maxPending;
        int64 threshold;
        uint32 roundLength;
        uint32 scoreWindow;
        uint32 maxRounds;
        uint32 roundExtension;
        uint32 scoreExtension;
        uint32 attestWindow;
    }

    struct GhostUpdate {
        bool made; // the content exists off chain (it may not be revealed yet)
        address author; // who trained it (zero for a replay: nobody's work)
        Content content;
        bool submitted; // revealed on chain in this task
        address provider; // whose reveal landed
        uint64 round; // federation: round; dag: block of the reveal
        uint8 status; // as the rules predict it (the chain's is compared in the checks)
        uint8 scoreCount;
        uint8 passCount; // scores that cleared the threshold (never the invalid score)
        uint32 scoredMask;
        uint8 honestScores; // scores from honest committee members
        uint8 honestPasses; // ... of which cleared the threshold
        uint8 liarPasses; // scores from lying members that cleared the threshold
        bool providerLostRole; // decided while its provider lacked PROVIDER_ROLE
        uint256 lastScoreSeq; // g.seq of its last score (the keeper must act after it)
    }

    struct GhostRound {
        uint256 start;
        bytes32 base;
        uint32 submitted; // reveals in the round, every status
        uint256 fullBlock; // block of the minUpdates-th reveal (0 until then)
        uint32 pending;
        bytes32[] accepted; // acceptance order
        bytes32[] proposed; // distinct results, first-proposed order
        uint32 attestedMask;
        uint8 leading;
        bool finalized;
        bytes32 result;
        bool closedAtDeadline; // finalized by closeRound
        bool keptBase; // ... keeping its base model although updates were accepted
        mapping(bytes32 result => bool) isProposed;
        mapping(bytes32 result => address) proposer;
        mapping(bytes32 result => uint8) attestations;
        mapping(bytes32 result => bool) liveCid; // someone named a CID its bytes can be fetched from
        mapping(bytes32 result => uint256) proposedAt; // block of its first proposal
        mapping(address account => bool) proposedBy;
    }

    struct GhostTask {
        uint256 id;
        address publisher;
        Policy p;
        bytes32 initialWeights;
        address[] committee;
        bool closed; // as the rules predict it
        uint32 currentRound;
        bytes32[] submitted; // every revealed update, in reveal order
        bytes32[] dagAccepted; // dag: accepted updates, in acceptance order
        Commit[] commits; // commitments made on the task (the first MAX_COMMITS)
        uint256 contentNonce;
        bool frozen; // seen closed: its fingerprint may never change again
        bytes32 frozenFingerprint;
        uint256 frozenAtBlock;
        mapping(address provider => bool) joined;
        mapping(address provider => uint32) lastRound; // federation: last round it revealed in
        mapping(address provider => uint32) dagPending; // dag: its undecided updates
        mapping(address provider => Commit) daemonCommit; // an honest provider's client: committed, not yet revealed
        mapping(uint32 round => GhostRound) rounds;
        mapping(bytes32 update => GhostUpdate) updates;
    }

    /// @dev A commitment the handler made, kept for a later reveal.
    struct Commit {
        uint256 taskId;
        address provider;
        bytes32 update;
        bytes32 salt;
    }

    /// @dev What a sequence reached (the sanity walks require each to be non-zero).
    struct Stats {
        uint256 accepted;
        uint256 rejected;
        uint256 expired;
        uint256 finalized;
        uint256 aggregated; // finalized with the aggregate of accepted updates
        uint256 closedAtDeadline;
        uint256 keptBase; // closed at the deadline keeping the base model although updates were accepted
        uint256 closedWithLeading; // closed at the deadline with a proposal more than f members attested
        uint256 cidAdded;
        uint256 lateScores; // scores after the deadline, in the extension
        uint256 revokedProviderRejected; // would be accepted, provider lost its role
        uint256 frontRuns; // copier attempts on a reveal
        uint256 replaysRefused; // reveals of used content refused
        uint256 tooManyPending; // dag reveals refused by maxPending
        uint256 closedByMember; // tasks closed by a committee member after the publisher lost its role
        uint256 closedTaskCalls; // writes attempted on closed tasks
        uint256 registered;
    }

    struct Ghost {
        uint256 blockNumber; // forge may reset block.number between calls: every action rolls to this
        uint256 seq; // counts ledger writes and keeper runs (orders them within a block)
        uint256 lastKeeperBlock;
        uint256 lastKeeperSeq;
        uint256 keeperRuns;
        bool inKeeper;
        uint256[] taskIds;
        mapping(uint256 taskId => GhostTask) tasks;
        mapping(bytes32 content => bool) used; // contentUsed as the rules predict it
        mapping(bytes32 content => address) firstCommitter; // first account that committed to it (any task)
        mapping(address provider => mapping(bytes32 commitment => uint256)) commitBlock;
        mapping(address member => uint256) offlineUntil; // an honest member's host is down until this block
        Commit[] commits; // ring of the last MAX_COMMITS commitments
        uint256 commitCount;
        uint256 saltNonce;
        uint256 ledgerCalls;
        uint256 ledgerSuccesses;
        uint256 mismatches; // a call succeeded where the rules say revert, or the reverse
        string firstMismatch;
        uint256 honestFailures; // an honest participant's call reverted
        string firstHonestFailure;
        mapping(uint256 bit => uint256) violations; // observed at call time, per invariant bit
        mapping(uint256 bit => string) firstViolation;
        string[] callNames; // per ledger function: calls and successes
        mapping(bytes32 name => uint256) callIndex; // index + 1 in callNames
        mapping(bytes32 name => uint256[2]) callCounts;
        uint256[] touched; // tasks the current action made ledger calls on
        mapping(uint256 taskId => bool) isTouched;
        uint256 staleTask; // a settle batch the keeper prepared earlier (known-holes mode)
        bytes32[] staleBatch;
        Stats stats;
    }

    Ghost internal g;

    IConsortium public immutable consortium;
    address public immutable ledger;
    ITaskRegistry internal immutable registry;
    IUpdateLedger internal immutable updateLedger;
    IRoundLedger internal immutable roundLedger;
    /// @notice Whether the actions steer into the attacks the old contracts fell to (front-running
    /// copiers, dead CIDs, honest members revoked mid-round, stale settle batches).
    bool public immutable knownHoles;

    // ---- actors ----
    address[] internal actors; // the pool random actions draw from
    address[] internal honestValidators;
    address[] internal liars;
    address[] internal honestProviders;
    address[] internal publishers;
    address[] internal providerPool; // every account that starts with PROVIDER_ROLE
    address internal byzantine;
    address internal copier;
    address internal keeperAccount;
    mapping(address account => Kind) internal kindOf;
    mapping(address account => string) internal nameOf;
    /// @dev Encryption keys for registerMember (secp256k1, uncompressed), one per private key.
    uint256[] internal keyPrivate;
    bytes[] internal keyPublic;

    constructor(bool knownHoles_) {
        knownHoles = knownHoles_;
        consortium = IConsortium(vm.deployCode(
                "Consortium.sol:Consortium", abi.encode(uint48(2 days), address(this), new IConsortium.RoleGrant[](0))
            ));
        ledger = vm.deployCode(
            "LearningLedger.sol:LearningLedger", abi.encode(address(consortium), address(0), address(0))
        );
        registry = ITaskRegistry(ledger);
        updateLedger = IUpdateLedger(ledger);
        roundLedger = IRoundLedger(ledger);
        vm.label(address(consortium), "Consortium");
        vm.label(ledger, "LearningLedger");

        publishers.push(_actor("publisher0", Kind.Publisher, PUBLISHER));
        publishers.push(_actor("publisher1", Kind.Publisher, PUBLISHER));
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

        for (uint256 i = 0; i < 4; ++i) {
            uint256 pk = uint256(keccak256(abi.encode("ledgerlearn-fuzz-key", i))) % (2 ** 255);
            Vm.Wallet memory w = vm.createWallet(pk);
            keyPrivate.push(pk);
            keyPublic.push(abi.encodePacked(bytes1(0x04), w.publicKeyX, w.publicKeyY));
        }

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
    /// (max(f + 1, 2) <= k <= n - f, so at most f liars ever sit on a committee), small random
    /// windows, round waits (minUpdates, roundExtension), scoring extensions, attestation windows
    /// and dag maxPending; about one in 8 breaks one rule (policy, a window, a range), so refusals
    /// are exercised too. One task in four starts from a model the ledger already used.
    function _taskParams(uint8 flow, uint256 seed) internal view returns (ITaskRegistry.TaskParams memory p) {
        uint256 n = 3 + seed % 3;
        uint256 f = (seed >> 8) % ((n - 1) / 2 + 1);
        uint256 kMin = f + 1 < 2 ? 2 : f + 1;
        uint256 k = kMin + (seed >> 16) % (n - f - kMin + 1);
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
        p.initialWeightsHash = keccak256(abi.encode("initial weights", g.taskIds.length, seed));
        if ((seed >> 24) % 4 == 0 && g.taskIds.length > 0) {
            // continue from a model of an earlier task (its initial weights or its latest result)
            GhostTask storage prior = g.tasks[g.taskIds[(seed >> 28) % g.taskIds.length]];
            p.initialWeightsHash = prior.p.flow == FEDERATION ? prior.rounds[prior.currentRound].base : prior.initialWeights;
            if (prior.p.flow == FEDERATION && prior.rounds[prior.currentRound].finalized) {
                p.initialWeightsHash = prior.rounds[prior.currentRound].result;
            }
        }
        p.initialWeightsCid = "bafkreiinitial";
        p.flow = flow;
        p.metric = uint8((seed >> 48) % 3);
        p.thresholdMode = uint8((seed >> 56) % 3);
        p.threshold = int64(int256((seed >> 64) % 2_000_001)) - 1_000_000;
        p.quorum = uint8(k);
        p.maxFaultyValidators = uint8(f);
        p.aggregationRule = uint8((seed >> 96) % 8);
        p.numByzantine = uint16((seed >> 104) % 3);
        p.roundLength = uint32(3 + (seed >> 112) % 12);
        p.scoreWindow = uint32(1 + (seed >> 120) % 8);
        p.maxRounds = flow == FEDERATION ? uint32(2 + (seed >> 128) % 3) : 1;
        p.maxParents = flow == DAG ? uint8(1 + (seed >> 136) % 3) : 0;
        // the liveness fields: half the rounds wait for updates; small extensions and windows
        p.minUpdates = (seed >> 144) % 2 == 0 ? 0 : uint16(1 + (seed >> 146) % 3);
        p.roundExtension = uint32((seed >> 150) % 9);
        p.scoreExtension = uint32((seed >> 156) % 7);
        p.attestWindow = flow == FEDERATION ? uint32(1 + (seed >> 162) % 6) : uint32((seed >> 162) % 2);
        p.maxPending = flow == DAG ? uint16(1 + (seed >> 168) % 3) : uint16((seed >> 168) % 2);
        _breakOneRule(p, seed >> 176);
    }

    /// @dev About one in 8: one field out of its range (the publication must be refused).
    function _breakOneRule(ITaskRegistry.TaskParams memory p, uint256 seed) internal pure {
        if (seed % 8 != 0) return;
        uint256 which = (seed >> 3) % 10;
        uint256 n = p.committee.length;
        if (which == 0) p.quorum = uint8(n - p.maxFaultyValidators + 1); // no honest quorum
        else if (which == 1) p.quorum = 1; // one member would decide alone (n >= 3)
        else if (which == 2) p.scoreWindow = 0;
        else if (which == 3) p.threshold = (seed >> 8) % 2 == 0 ? type(int64).min : MAX_ABS_THRESHOLD + 1;
        else if (which == 4) p.aggregationRule = 11;
        else if (which == 5) p.numByzantine = 1001;
        else if (which == 6 && p.flow == FEDERATION) p.attestWindow = 0;
        else if (which == 6) p.maxPending = 0;
        else if (which == 7) p.roundLength = 0;
        else if (which == 8) p.maxFaultyValidators = p.quorum; // f >= k
        else p.threshold = -MAX_ABS_THRESHOLD; // the edge: still valid
    }

    // ---- contents ----

    /// @dev New bytes authored by `author` (or a replayed model), noted in the ghost.
    function _makeContent(GhostTask storage t, address author, Content content, uint256 seed)
        internal
        returns (bytes32 h)
    {
        if (content == Content.BaseReplay) {
            h = _baseModel(t);
            author = address(0);
        } else if (content == Content.ForeignReplay) {
            h = _foreignModel(t, seed);
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
        if (t.p.flow == DAG) return t.initialWeights;
        return t.rounds[t.currentRound].base;
    }

    /// @dev A model the ledger already knows from another task: its initial weights, one of its
    /// updates, or its base model (the last result).
    function _foreignModel(GhostTask storage t, uint256 seed) internal view returns (bytes32) {
        uint256 count = g.taskIds.length;
        GhostTask storage other = g.tasks[g.taskIds[seed % count]];
        if (other.id == t.id && count > 1) other = g.tasks[g.taskIds[(seed % count + 1) % count]];
        uint256 which = (seed >> 8) % 3;
        if (which == 0 && other.submitted.length > 0) return other.submitted[(seed >> 16) % other.submitted.length];
        if (which == 1 && other.p.flow == FEDERATION) return other.rounds[other.currentRound].base;
        return other.initialWeights;
    }

    /// @dev The aggregate an honest participant computes from a round's accepted updates.
    function _rightResult(GhostTask storage t, uint32 round) internal view returns (bytes32) {
        return keccak256(abi.encode("ledgerlearn-fuzz-aggregate", t.id, round, _digest(t.rounds[round].accepted)));
    }

    function _digest(bytes32[] memory list) internal pure returns (bytes32 d) {
        for (uint256 i = 0; i < list.length; ++i) {
            d = keccak256(abi.encode(d, list[i]));
        }
    }

    function _commitment(uint256 taskId, address provider, bytes32 update, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, provider, update, salt));
    }

    function _newSalt(address provider, bytes32 update) internal returns (bytes32) {
        return keccak256(abi.encode("ledgerlearn-fuzz-salt", provider, update, ++g.saltNonce));
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
                if (!g.tasks[id].closed) return (g.tasks[id], true);
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
            if (g.tasks[id].p.flow == flow && (anyClosed || !g.tasks[id].closed)) return (g.tasks[id], true);
        }
        return (g.tasks[0], false);
    }

    function _openTasks() internal view returns (uint256 open) {
        for (uint256 i = 0; i < g.taskIds.length; ++i) {
            if (!g.tasks[g.taskIds[i]].closed) ++open;
        }
    }

    function _memberIndex(GhostTask storage t, address account) internal view returns (bool, uint256) {
        for (uint256 i = 0; i < t.committee.length; ++i) {
            if (t.committee[i] == account) return (true, i);
        }
        return (false, 0);
    }

    function _has(bytes32 role, address account) internal view returns (bool) {
        return consortium.hasRole(role, account);
    }

    /// @dev The score `member` gives: the truth from an honest member, a lie (sometimes an extreme
    /// value or the invalid score) from a liar, anything from anyone else.
    function _scoreOf(GhostTask storage t, address member, bytes32 update, uint256 seed) internal view returns (int64) {
        bool good = t.updates[update].content == Content.Good;
        int64 threshold = t.p.threshold;
        Kind kind = kindOf[member];
        if (kind == Kind.HonestValidator) return good ? threshold + MARGIN : threshold - MARGIN;
        if (kind == Kind.LyingValidator) {
            if (seed % 4 == 0) return good ? SCORE_INVALID : type(int64).max;
            return good ? threshold - MARGIN : threshold + MARGIN;
        }
        if (seed % 8 == 0) return SCORE_INVALID;
        return int64(int256(seed % 4_000_001)) - 2_000_000;
    }

    /// @dev Notes a property broken at call time (checked with invariant `bit`).
    function _violate(uint256 bit, string memory what) internal {
        if (g.violations[bit]++ == 0) {
            g.firstViolation[bit] = string.concat(what, " (block ", _str(g.blockNumber), ")");
        }
    }

    /// @dev Everything observable about a task, hashed: getTask, committee, every round (with
    /// its deadlines, from which every update's deadline follows) and proposal, the round after
    /// the current one, every update, every actor's participation, the commitments the handler
    /// made on it.
    function _fingerprint(GhostTask storage t) internal view returns (bytes32 h) {
        uint256 id = t.id;
        ITaskRegistry.TaskInfo memory info = registry.getTask(id);
        (address[] memory members, bytes32[] memory fragments) = registry.getCommittee(id);
        h = keccak256(abi.encode(info, members, fragments));
        if (info.flow == FEDERATION) {
            for (uint32 r = 1; r <= info.currentRound + 1; ++r) {
                h = keccak256(abi.encode(h, roundLedger.getRound(id, r)));
                if (r <= info.currentRound) {
                    (uint256 a, uint256 b, uint256 c, uint256 d) = roundLedger.roundDeadlines(id, r);
                    h = keccak256(abi.encode(h, a, b, c, d));
                }
                bytes32[] storage results = t.rounds[r].proposed;
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
        for (uint256 i = 0; i < t.commits.length; ++i) {
            Commit storage c = t.commits[i];
            bytes32 commitment = _commitment(id, c.provider, c.update, c.salt);
            h = keccak256(abi.encode(h, updateLedger.commitmentBlock(c.provider, commitment)));
        }
    }

    function _updateName(GhostTask storage t, bytes32 update) internal view returns (string memory) {
        Content c = t.updates[update].content;
        string memory content = c == Content.Good ? "good" : c == Content.Poisoned ? "poisoned"
            : c == Content.BaseReplay ? "base-replay" : "foreign-replay";
        return string.concat(content, " update ", _hex(update, 4), " of task ", _str(t.id));
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
        ++g.seq;
        if (ok) ++g.ledgerSuccesses;
        bytes32 key = keccak256(bytes(action));
        if (g.callIndex[key] == 0) {
            g.callNames.push(action);
            g.callIndex[key] = g.callNames.length;
        }
        ++g.callCounts[key][0];
        if (ok) ++g.callCounts[key][1];
        if (taskId != 0 && g.tasks[taskId].closed) ++g.stats.closedTaskCalls;
        if (taskId != 0 && !g.isTouched[taskId]) {
            g.isTouched[taskId] = true;
            g.touched.push(taskId);
        }
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
        bytes4[37] memory selectors = [
            ILedgerAccess.LedgerUnauthorizedAccount.selector,
            ILedgerAccess.LedgerUnknownTask.selector,
            ILedgerAccess.LedgerNotCommitteeMember.selector,
            ITaskRegistry.TaskRegistryTaskClosed.selector,
            ITaskRegistry.TaskRegistryNotPublisher.selector,
            ITaskRegistry.TaskRegistryUnsafePolicy.selector,
            ITaskRegistry.TaskRegistryInvalidParameter.selector,
            IUpdateLedger.UpdateLedgerWrongFlow.selector,
            IUpdateLedger.UpdateLedgerAlreadyJoined.selector,
            IUpdateLedger.UpdateLedgerCommitteeMember.selector,
            IUpdateLedger.UpdateLedgerNotJoined.selector,
            IUpdateLedger.UpdateLedgerWrongRound.selector,
            IUpdateLedger.UpdateLedgerSubmissionClosed.selector,
            IUpdateLedger.UpdateLedgerAlreadySubmitted.selector,
            IUpdateLedger.UpdateLedgerDuplicateContent.selector,
            IUpdateLedger.UpdateLedgerReplayedModel.selector,
            IUpdateLedger.UpdateLedgerInvalidUpdate.selector,
            IUpdateLedger.UpdateLedgerInvalidCommitment.selector,
            IUpdateLedger.UpdateLedgerNotCommitted.selector,
            IUpdateLedger.UpdateLedgerCommitTooRecent.selector,
            IUpdateLedger.UpdateLedgerTooManyPending.selector,
            IUpdateLedger.UpdateLedgerParentCount.selector,
            IUpdateLedger.UpdateLedgerInvalidParent.selector,
            IUpdateLedger.UpdateLedgerUnknownUpdate.selector,
            IUpdateLedger.UpdateLedgerAlreadyScored.selector,
            IUpdateLedger.UpdateLedgerScoringClosed.selector,
            IUpdateLedger.UpdateLedgerScoringOpen.selector,
            IUpdateLedger.UpdateLedgerAlreadyDecided.selector,
            IRoundLedger.RoundLedgerNotCurrentRound.selector,
            IRoundLedger.RoundLedgerRoundOpen.selector,
            IRoundLedger.RoundLedgerPendingUpdates.selector,
            IRoundLedger.RoundLedgerIncludedMismatch.selector,
            IRoundLedger.RoundLedgerAlreadyProposed.selector,
            IRoundLedger.RoundLedgerUnknownProposal.selector,
            IRoundLedger.RoundLedgerAlreadyAttested.selector,
            IRoundLedger.RoundLedgerAttestationOpen.selector,
            IRoundLedger.RoundLedgerNotLeading.selector
        ];
        string[37] memory names = [
            "LedgerUnauthorizedAccount",
            "LedgerUnknownTask",
            "LedgerNotCommitteeMember",
            "TaskRegistryTaskClosed",
            "TaskRegistryNotPublisher",
            "TaskRegistryUnsafePolicy",
            "TaskRegistryInvalidParameter",
            "UpdateLedgerWrongFlow",
            "UpdateLedgerAlreadyJoined",
            "UpdateLedgerCommitteeMember",
            "UpdateLedgerNotJoined",
            "UpdateLedgerWrongRound",
            "UpdateLedgerSubmissionClosed",
            "UpdateLedgerAlreadySubmitted",
            "UpdateLedgerDuplicateContent",
            "UpdateLedgerReplayedModel",
            "UpdateLedgerInvalidUpdate",
            "UpdateLedgerInvalidCommitment",
            "UpdateLedgerNotCommitted",
            "UpdateLedgerCommitTooRecent",
            "UpdateLedgerTooManyPending",
            "UpdateLedgerParentCount",
            "UpdateLedgerInvalidParent",
            "UpdateLedgerUnknownUpdate",
            "UpdateLedgerAlreadyScored",
            "UpdateLedgerScoringClosed",
            "UpdateLedgerScoringOpen",
            "UpdateLedgerAlreadyDecided",
            "RoundLedgerNotCurrentRound",
            "RoundLedgerRoundOpen",
            "RoundLedgerPendingUpdates",
            "RoundLedgerIncludedMismatch",
            "RoundLedgerAlreadyProposed",
            "RoundLedgerUnknownProposal",
            "RoundLedgerAlreadyAttested",
            "RoundLedgerAttestationOpen",
            "RoundLedgerNotLeading"
        ];
        for (uint256 i = 0; i < selectors.length; ++i) {
            if (s == selectors[i]) return names[i];
        }
        if (s == IConsortium.ConsortiumInvalidKeyProof.selector) return "ConsortiumInvalidKeyProof";
        if (s == IConsortium.ConsortiumInvalidEncryptionKey.selector) return "ConsortiumInvalidEncryptionKey";
        if (s == IConsortium.ConsortiumInvalidPeerAddress.selector) return "ConsortiumInvalidPeerAddress";
        if (s == IConsortium.ConsortiumNotAParticipant.selector) return "ConsortiumNotAParticipant";
        return string.concat("error ", _hex(bytes32(s), 4));
    }
}
