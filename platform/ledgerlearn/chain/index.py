"""What the events say: a local index of tasks, updates, scores and rounds.

Storage on chain keeps hashes and counters; CIDs, parents, sample counts and score values are
in events. :class:`LedgerIndex` folds :class:`~ledgerlearn.chain.events.LedgerEvent` s (in
on-chain order) into typed records agents, reports and the gateway read: the CID of every
model, the updates of a round in submission and acceptance order, every score with its
validator, the proposals and the finalized results. Applying the same events gives the same
index in every process.

In a dag task the index is the DAG: every update names its parents (``UpdateSubmitted``), the
committee's decisions say which updates may be built on (``UpdateAccepted``), and
:meth:`TaskRecord.tips` derives the **tips** — the accepted updates no accepted update built
on yet; the task's initial model while nothing built on it — at the latest block or as of
any earlier one (an update counts from the block it was decided in, so the DAG as it stood
at block b is recomputable by anyone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.events import EventStream, LedgerEvent
from ledgerlearn.chain.roles import ROLES, role_id
from ledgerlearn.core.deadlines import (
    RoundDeadlines,
    ScoringDeadlines,
    dag_scoring_deadlines,
    round_deadlines,
    round_scoring_deadlines,
)
from ledgerlearn.core.rules import Flow, Stage, Status, lower_median
from ledgerlearn.core.task_params import TaskParams


@dataclass
class UpdateRecord:
    """An update as the events describe it."""

    task_id: int
    update: bytes
    provider: str
    round: int | None
    """Federation: the round it was submitted in; dag: None (the contract stores the
    submission block in the same field: :attr:`submitted_block`)."""
    num_samples: int
    cid: str
    parents: list[bytes]
    block_number: int
    status: Status = Status.PENDING
    scores: dict[str, int] = field(default_factory=dict)  # validator -> score, arrival order
    decided_block: int | None = None
    committed: dict[str, int] = field(default_factory=dict)  # validator -> block of its commitment
    score_blocks: dict[str, int] = field(default_factory=dict)  # validator -> block of its score
    revealed_late: dict[str, bool] = field(default_factory=dict)
    """Commit-reveal: members whose reveal came after the decision, in time -> whether it agreed
    with the decision (credited by the commitments contract, not a score of the ledger)."""

    def judged_by(self, member: str) -> bool:
        """Whether ``member`` scored this update, or committed to a score (commit-reveal)."""
        return member in self.scores or member in self.committed

    @property
    def unrevealed(self) -> list[str]:
        """Members that committed a score and never revealed it (commit-reveal tasks)."""
        return [v for v in self.committed if v not in self.scores and v not in self.revealed_late]

    @property
    def committee_score(self) -> int | None:
        """The lower median of the scores received (fixed point), None without scores.

        The contract settles a late update on the lower median of its scores, and an
        accepted update's lower median clears the task's threshold, so this is the
        committee's verdict as one number. No score arrives after the decision.
        """
        return lower_median(self.scores.values())

    @property
    def submitted_block(self) -> int:
        """The block the update was submitted in (a dag update's scoring window counts from
        it)."""
        return self.block_number

    def accepted_by(self, block: int | None) -> bool:
        """Whether the update was accepted by ``block`` (None: by now)."""
        return self.status is Status.ACCEPTED and (
            block is None or (self.decided_block is not None and self.decided_block <= block)
        )


@dataclass
class ProposalRecord:
    """An aggregate proposed for a round.

    The result is keyed by its content hash; ``cid`` is the first proposer's CID, which may
    point to nothing: ``cids`` lists every CID named for it (proposer, added by others,
    attesters' own), the attesters' first — members who recomputed it serve it.
    """

    result_hash: bytes
    cid: str
    proposer: str
    updates: list[bytes]
    aggregation_rule: int
    num_byzantine: int
    attesters: list[str] = field(default_factory=list)
    added_cids: list[tuple[str, str]] = field(default_factory=list)  # (account, cid)
    attester_cids: list[tuple[str, str]] = field(default_factory=list)  # (validator, cid)

    @property
    def cids(self) -> list[str]:
        """Every distinct CID named for this result: attesters' first, then added, then the
        first proposer's."""
        named = [c for _, c in self.attester_cids] + [c for _, c in self.added_cids] + [self.cid]
        return list(dict.fromkeys(c for c in named if c))

    @property
    def contributors(self) -> set[str]:
        """Accounts that proposed this result or added a CID to it."""
        return {self.proposer, *(a for a, _ in self.added_cids)}


@dataclass(frozen=True)
class VoteRecord:
    """A drawn member's vetting vote."""

    approve: bool
    reason: str
    block_number: int


@dataclass
class VettingRecord:
    """A task's committee draw and vetting, as the events describe them."""

    seeds_committed: list[str] = field(default_factory=list)  # pool members, commit order
    seeds_revealed: dict[str, bytes] = field(default_factory=dict)  # member -> its seed
    seed: bytes | None = None  # the draw's seed
    eligible: list[str] = field(default_factory=list)  # pool order, at the draw
    drawn_block: int | None = None
    votes: dict[str, VoteRecord] = field(default_factory=dict)  # member -> its vote, vote order
    outcome: Stage | None = None  # OPEN (approved), REJECTED or EXPIRED

    @property
    def withheld(self) -> list[str]:
        """Pool members that committed a seed and did not reveal it."""
        return [m for m in self.seeds_committed if m not in self.seeds_revealed]


@dataclass
class RewardRecord:
    """A task's escrowed reward and what was paid out of it."""

    token: str
    amount: int
    provider_share_bps: int
    max_disagreement_bps: int
    withdrawn: dict[str, int] = field(default_factory=dict)  # account -> amount
    refunded: int = 0


@dataclass
class RoundRecord:
    """A federation round: its base model, updates and proposals."""

    round: int
    base_model_hash: bytes
    base_model_cid: str
    start_block: int  # submissions close at start_block + round_length
    updates: list[bytes] = field(default_factory=list)  # submission order
    accepted: list[bytes] = field(default_factory=list)  # acceptance order (the on-chain digest)
    proposals: dict[bytes, ProposalRecord] = field(default_factory=dict)
    proposers: set[str] = field(default_factory=set)  # accounts that proposed or added a CID
    result_hash: bytes | None = None
    finalized_block: int | None = None
    closed_at_deadline: bool = False  # finalized by closeRound, without a quorum
    kept_base_model: bool = False  # ... and no proposal had more than f attestations

    @property
    def attesters(self) -> set[str]:
        """Members that attested any proposal of the round (each attests once)."""
        return {a for proposal in self.proposals.values() for a in proposal.attesters}


@dataclass
class TaskRecord:
    """A task as published, with what happened to it since."""

    task_id: int
    publisher: str
    params: TaskParams
    published_block: int
    providers: list[str] = field(default_factory=list)
    updates: dict[bytes, UpdateRecord] = field(default_factory=dict)  # submission order
    rounds: dict[int, RoundRecord] = field(default_factory=dict)
    accepted: list[bytes] = field(default_factory=list)  # acceptance order, every flow
    closed: bool = False
    closed_block: int | None = None
    final_model_hash: bytes | None = None
    stage: Stage = Stage.OPEN
    approved: bool = False  # its committee approved it (it opens once the fragments are posted)
    opened_block: int | None = None  # the block it opened in (publication, or after vetting)
    excluded: list[str] = field(default_factory=list)  # providers excluded at maxRejections
    vetting: VettingRecord = field(default_factory=VettingRecord)
    reward: RewardRecord | None = None

    @property
    def is_open(self) -> bool:
        """Whether providers may join and submit: past vetting and not closed."""
        return self.stage is Stage.OPEN and not self.closed

    @property
    def flow(self) -> Flow:
        """Federation or dag."""
        return self.params.flow

    def submitted_rounds(self, provider: str) -> set[int]:
        """Federation rounds in which ``provider`` submitted an update."""
        return {
            u.round for u in self.updates.values() if u.provider == provider and u.round is not None
        }

    def cid_of(self, content_hash: bytes) -> str | None:
        """A CID of any model of the task (initial weights, update or aggregate); for an
        aggregate, the first of :meth:`cids_of`."""
        cids = self.cids_of(content_hash)
        return cids[0] if cids else None

    def cids_of(self, content_hash: bytes) -> list[str]:
        """Every CID named for a model of the task, the most trustworthy first (for an
        aggregate: its attesters' own, then those added, then the first proposer's)."""
        if content_hash == self.params.initial_weights_hash:
            return [self.params.initial_weights_cid]
        if content_hash in self.updates:
            return [self.updates[content_hash].cid]
        for r in self.rounds.values():
            if content_hash in r.proposals:
                return r.proposals[content_hash].cids
        return []

    # -- deadlines -----------------------------------------------------------------------
    def round_deadlines(self, number: int) -> RoundDeadlines:
        """The deadlines of federation round ``number`` as the events stand now."""
        record = self.rounds[number]
        blocks = [self.updates[u].block_number for u in record.updates]
        return round_deadlines(self.params, record.start_block, blocks)

    def scoring_deadlines(self, update: bytes) -> ScoringDeadlines:
        """When ``update`` can no longer be scored (federation: its round's deadlines)."""
        record = self.updates[update]
        if record.round is None:
            return dag_scoring_deadlines(self.params, record.submitted_block)
        return round_scoring_deadlines(self.round_deadlines(record.round))

    def commit_deadline(self, update: bytes) -> int:
        """Commit-reveal tasks: the first block refusing score commitments for ``update``
        (reveals from there on)."""
        return self.scoring_deadlines(update).opened + self.params.commit_window

    def may_score(self, update: bytes, block: int) -> bool:
        """Whether a member's score of ``update`` mined in ``block`` still counts: on a
        commit-reveal task, its commitment before the commit deadline; otherwise the score
        itself within the scoring window (or its extension while short of a quorum)."""
        if self.params.commit_window:
            return block < self.commit_deadline(update)
        scores = len(self.updates[update].scores)
        return self.scoring_deadlines(update).scoring_open(block, scores, self.params.quorum)

    # -- the dag -------------------------------------------------------------------------
    @property
    def root(self) -> bytes:
        """The root of a dag task: its initial weights."""
        return self.params.initial_weights_hash

    def accepted_as_of(self, block: int | None = None) -> list[bytes]:
        """Accepted updates in acceptance order, as of ``block`` (None: now)."""
        return [u for u in self.accepted if self.updates[u].accepted_by(block)]

    def children(self, block: int | None = None) -> dict[bytes, list[bytes]]:
        """Each model (root included) -> the accepted updates built on it, in acceptance
        order, as of ``block``."""
        result: dict[bytes, list[bytes]] = {self.root: []}
        for u in self.accepted_as_of(block):
            result.setdefault(u, [])
            for parent in self.updates[u].parents:
                result.setdefault(parent, []).append(u)
        return result

    def tips(self, block: int | None = None) -> list[bytes]:
        """The tips as of ``block`` (None: now), in acceptance order: accepted updates no
        accepted update names as a parent; ``[root]`` while nothing was accepted.

        Only accepted updates count as building on a model: a rejected (or pending) update
        naming a tip does not take its place — otherwise any provider could bury good tips
        under bad updates.
        """
        return [model for model, kids in self.children(block).items() if not kids]


PARTICIPANT_ROLES = frozenset(role_id(r) for r in ROLES)


@dataclass
class SwarmKeyRecord:
    """The private swarm's key epochs (a consortium deployment's SwarmKeys contract)."""

    epoch: int = 0  # 0: the key the consortium was founded with
    key_hashes: dict[int, bytes] = field(default_factory=dict)  # epoch -> keccak of its key
    cut_off: set[str] = field(default_factory=set)  # removed members no share was given to
    shares: dict[tuple[int, str], list[bytes]] = field(default_factory=dict)
    """(epoch, member) -> the shares given to it, in order (it keeps the first that matches)."""
    sharers: dict[tuple[int, str], set[str]] = field(default_factory=dict)
    """(epoch, member) -> who gave it a share (the rotator included)."""
    requests: dict[tuple[int, str], int] = field(default_factory=dict)
    """(epoch, member) -> how many times it asked for another share (none of its shares
    matched the key hash)."""


class LedgerIndex:
    """Folds events into :class:`TaskRecord` s; feed it every event in on-chain order."""

    def __init__(self) -> None:
        self.tasks: dict[int, TaskRecord] = {}
        self.members: dict[str, tuple[str, bytes]] = {}  # account -> (peer address, key)
        self.pool: list[str] = []  # validators in the pool, pool order (a consortium deployment)
        self.council: list[str] = []  # member organisations (a consortium deployment)
        self.roles: dict[str, set[bytes]] = {}  # account -> its participant roles (Consortium)
        self.swarm = SwarmKeyRecord()
        self.last_block = -1
        self._handlers: dict[str, Callable[[LedgerEvent], None]] = {
            "MemberRegistered": self._member_registered,
            "TaskPublished": self._task_published,
            "TaskClosed": self._task_closed,
            "CommitteeSeated": self._committee_seated,
            "FragmentsPosted": self._fragments_posted,
            "TaskStageChanged": self._task_stage_changed,
            "ProviderExcluded": self._provider_excluded,
            "PoolJoined": self._pool_joined,
            "PoolLeft": self._pool_left,
            "SeedCommitted": self._seed_committed,
            "SeedRevealed": self._seed_revealed,
            "CommitteeDrawn": self._committee_drawn,
            "VettingVoted": self._vetting_voted,
            "VettingConcluded": self._vetting_concluded,
            "ScoreCommitted": self._score_committed,
            "ScoreRevealedAfterDecision": self._score_revealed_late,
            "RewardFunded": self._reward_funded,
            "RewardWithdrawn": self._reward_withdrawn,
            "RewardRefunded": self._reward_refunded,
            "MemberAdmitted": self._member_admitted,
            "MemberRemoved": self._member_removed,
            "ProviderJoined": self._provider_joined,
            "UpdateSubmitted": self._update_submitted,
            "ScoreSubmitted": self._score_submitted,
            "UpdateAccepted": self._update_accepted,
            "UpdateRejected": self._update_rejected,
            "UpdateExpired": self._update_expired,
            "AggregateProposed": self._aggregate_proposed,
            "AggregateCidAdded": self._aggregate_cid_added,
            "AggregateAttested": self._aggregate_attested,
            "RoundClosedAtDeadline": self._round_closed_at_deadline,
            "RoundFinalized": self._round_finalized,
            "RoleGranted": self._role_granted,
            "RoleRevoked": self._role_revoked,
            "SwarmKeyRotated": self._swarm_key_rotated,
            "SwarmKeyShared": self._swarm_key_shared,
            "SwarmKeyShareRequested": self._swarm_key_share_requested,
        }

    def apply_all(self, events: Iterable[LedgerEvent]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    def apply(self, event: LedgerEvent) -> None:
        """Apply one event."""
        self.last_block = max(self.last_block, event.block_number)
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event)

    # -- consortium ----------------------------------------------------------------------
    def _member_registered(self, e: LedgerEvent) -> None:
        self.members[e.args["account"]] = (e.args["peer_address"], e.args["encryption_key"])

    def is_participant(self, account: str) -> bool:
        """Whether ``account`` holds a participant role (publisher, provider, validator)."""
        return bool(self.roles.get(account))

    def lost_roles(self, account: str) -> bool:
        """Whether ``account`` held a participant role and holds none now (removed)."""
        return account in self.roles and not self.roles[account]

    def _role_granted(self, e: LedgerEvent) -> None:
        if e.contract == "Consortium" and bytes(e.args["role"]) in PARTICIPANT_ROLES:
            self.roles.setdefault(e.args["account"], set()).add(bytes(e.args["role"]))

    def _role_revoked(self, e: LedgerEvent) -> None:
        if e.contract == "Consortium":
            self.roles.get(e.args["account"], set()).discard(bytes(e.args["role"]))

    def _swarm_key_rotated(self, e: LedgerEvent) -> None:
        self.swarm.epoch = e.args["epoch"]
        self.swarm.key_hashes[e.args["epoch"]] = bytes(e.args["key_hash"])
        self.swarm.cut_off.update(e.args["removed"])

    def _swarm_key_shared(self, e: LedgerEvent) -> None:
        key = (e.args["epoch"], e.args["member"])
        self.swarm.shares.setdefault(key, []).append(bytes(e.args["share"]))
        self.swarm.sharers.setdefault(key, set()).add(e.args["from"])

    def _swarm_key_share_requested(self, e: LedgerEvent) -> None:
        key = (e.args["epoch"], e.args["member"])
        self.swarm.requests[key] = self.swarm.requests.get(key, 0) + 1

    # -- tasks ---------------------------------------------------------------------------
    def _task_published(self, e: LedgerEvent) -> None:
        params = TaskParams.from_event(e.args["params"])
        task = TaskRecord(e.args["task_id"], e.args["publisher"], params, e.block_number)
        self.tasks[task.task_id] = task
        if params.draw_size > 0:  # its committee is drawn, then it is vetted
            task.stage = Stage.DRAWING
        else:
            self._opened(task, e.block_number)

    def _opened(self, task: TaskRecord, block: int) -> None:
        """As the contract: round 1 starts when the task opens."""
        task.stage = Stage.OPEN
        task.opened_block = block
        if task.flow.has_rounds:
            params = task.params
            task.rounds[1] = RoundRecord(
                1, params.initial_weights_hash, params.initial_weights_cid, block
            )

    def _committee_seated(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        task.params = replace(task.params, committee=tuple(e.args["members"]))
        task.stage = Stage.VETTING

    def _fragments_posted(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        task.params = replace(
            task.params,
            fragment_hashes=tuple(e.args["fragment_hashes"]),
            fragment_cids=tuple(e.args["fragment_cids"]),
        )

    def _task_stage_changed(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        stage = Stage(e.args["stage"])
        if stage is Stage.OPEN:
            task.approved = True
            self._opened(task, e.block_number)
        elif stage is Stage.VETTING:  # approved before its fragments were posted
            task.approved = True
        else:  # rejected or expired: closed, never opened
            task.stage = stage
            task.closed = True
            task.closed_block = e.block_number

    def _provider_excluded(self, e: LedgerEvent) -> None:
        self.tasks[e.args["task_id"]].excluded.append(e.args["provider"])

    # -- the pool, the draw and vetting (a consortium deployment) ------------------------
    def _pool_joined(self, e: LedgerEvent) -> None:
        self.pool.append(e.args["validator"])

    def _pool_left(self, e: LedgerEvent) -> None:
        # as the contract: the last member moves to the gap
        gone = self.pool.index(e.args["validator"])
        last = self.pool.pop()
        if gone < len(self.pool):
            self.pool[gone] = last

    def _seed_committed(self, e: LedgerEvent) -> None:
        self.tasks[e.args["task_id"]].vetting.seeds_committed.append(e.args["member"])

    def _seed_revealed(self, e: LedgerEvent) -> None:
        self.tasks[e.args["task_id"]].vetting.seeds_revealed[e.args["member"]] = e.args["seed"]

    def _committee_drawn(self, e: LedgerEvent) -> None:
        vetting = self.tasks[e.args["task_id"]].vetting
        vetting.seed = e.args["seed"]
        vetting.eligible = list(e.args["eligible"])
        vetting.drawn_block = e.block_number

    def _vetting_voted(self, e: LedgerEvent) -> None:
        vote = VoteRecord(e.args["approve"], e.args["reason"], e.block_number)
        self.tasks[e.args["task_id"]].vetting.votes[e.args["member"]] = vote

    def _vetting_concluded(self, e: LedgerEvent) -> None:
        self.tasks[e.args["task_id"]].vetting.outcome = Stage(e.args["outcome"])

    def _score_committed(self, e: LedgerEvent) -> None:
        update = self.tasks[e.args["task_id"]].updates[e.args["update"]]
        update.committed[e.args["validator"]] = e.block_number

    def _score_revealed_late(self, e: LedgerEvent) -> None:
        update = self.tasks[e.args["task_id"]].updates[e.args["update"]]
        update.revealed_late[e.args["validator"]] = bool(e.args["agreed"])

    # -- rewards and the council ---------------------------------------------------------
    def _reward_funded(self, e: LedgerEvent) -> None:
        self.tasks[e.args["task_id"]].reward = RewardRecord(
            e.args["token"],
            e.args["amount"],
            e.args["provider_share_bps"],
            e.args["max_disagreement_bps"],
        )

    def _reward_withdrawn(self, e: LedgerEvent) -> None:
        reward = self.tasks[e.args["task_id"]].reward
        if reward is not None:
            reward.withdrawn[e.args["account"]] = e.args["amount"]

    def _reward_refunded(self, e: LedgerEvent) -> None:
        reward = self.tasks[e.args["task_id"]].reward
        if reward is not None:
            reward.refunded += e.args["amount"]

    def _member_admitted(self, e: LedgerEvent) -> None:
        self.council.append(e.args["organisation"])

    def _member_removed(self, e: LedgerEvent) -> None:
        gone = self.council.index(e.args["organisation"])
        last = self.council.pop()
        if gone < len(self.council):
            self.council[gone] = last

    def _task_closed(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        task.closed = True
        task.closed_block = e.block_number
        task.final_model_hash = e.args["final_model_hash"]

    # -- updates -------------------------------------------------------------------------
    def _provider_joined(self, e: LedgerEvent) -> None:
        self.tasks[e.args["task_id"]].providers.append(e.args["provider"])

    def _update_submitted(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        in_rounds = task.flow.has_rounds
        record = UpdateRecord(
            task_id=task.task_id,
            update=e.args["update"],
            provider=e.args["provider"],
            round=e.args["round"] if in_rounds else None,  # else: the submission block
            num_samples=e.args["num_samples"],
            cid=e.args["cid"],
            parents=list(e.args["parents"]),
            block_number=e.block_number,
        )
        task.updates[record.update] = record
        if record.round is not None:
            task.rounds[record.round].updates.append(record.update)

    def _score_submitted(self, e: LedgerEvent) -> None:
        update = self.tasks[e.args["task_id"]].updates[e.args["update"]]
        update.scores[e.args["validator"]] = e.args["score"]
        update.score_blocks[e.args["validator"]] = e.block_number

    def _decided(self, e: LedgerEvent, status: Status) -> None:
        task = self.tasks[e.args["task_id"]]
        update = task.updates[e.args["update"]]
        update.status = status
        update.decided_block = e.block_number
        if status is Status.ACCEPTED:
            task.accepted.append(update.update)
            if update.round is not None:
                task.rounds[update.round].accepted.append(update.update)

    def _update_accepted(self, e: LedgerEvent) -> None:
        self._decided(e, Status.ACCEPTED)

    def _update_rejected(self, e: LedgerEvent) -> None:
        self._decided(e, Status.REJECTED)

    def _update_expired(self, e: LedgerEvent) -> None:
        self._decided(e, Status.EXPIRED)

    # -- rounds --------------------------------------------------------------------------
    def _aggregate_proposed(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        record = task.rounds[e.args["round"]]
        record.proposers.add(e.args["proposer"])
        record.proposals[e.args["result_hash"]] = ProposalRecord(
            result_hash=e.args["result_hash"],
            cid=e.args["cid"],
            proposer=e.args["proposer"],
            updates=list(e.args["updates"]),
            aggregation_rule=e.args["aggregation_rule"],
            num_byzantine=e.args["num_byzantine"],
        )

    def _aggregate_cid_added(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        record = task.rounds[e.args["round"]]
        record.proposers.add(e.args["account"])
        record.proposals[e.args["result_hash"]].added_cids.append(
            (e.args["account"], e.args["cid"])
        )

    def _aggregate_attested(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        proposal = task.rounds[e.args["round"]].proposals[e.args["result_hash"]]
        proposal.attesters.append(e.args["validator"])
        if e.args["cid"]:
            proposal.attester_cids.append((e.args["validator"], e.args["cid"]))

    def _round_closed_at_deadline(self, e: LedgerEvent) -> None:
        record = self.tasks[e.args["task_id"]].rounds[e.args["round"]]
        record.closed_at_deadline = True
        record.kept_base_model = bool(e.args["kept_base_model"])

    def _round_finalized(self, e: LedgerEvent) -> None:
        task = self.tasks[e.args["task_id"]]
        number = e.args["round"]
        result = e.args["result_hash"]
        current = task.rounds[number]
        current.result_hash = result
        current.finalized_block = e.block_number
        cid = current.base_model_cid if result == current.base_model_hash else task.cid_of(result)
        if number < task.params.max_rounds:
            task.rounds[number + 1] = RoundRecord(number + 1, result, cid or "", e.block_number)


def read_index(client: LedgerClient) -> LedgerIndex:
    """Every event of the deployment up to the chain's head, folded into an index.

    For one-off readers (reports, ``ledgerlearn dag consensus``); agents keep theirs up to
    date with their own checkpointed stream.
    """
    index = LedgerIndex()
    stream = EventStream(client)
    while True:
        batch = stream.poll()
        index.apply_all(batch.events)
        stream.commit(batch)
        if batch.to_block >= client.block_number():
            return index
