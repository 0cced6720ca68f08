"""The committee's duty in the federation flow: score a round's updates, attest its aggregate.

For each task whose committee it sits on, in the task's latest round, a member first gets
ready: it fetches and decrypts its fragment and evaluates the round's base model before any
update arrives, so the first round's scores are not late. It fetches each update as soon as
it is submitted (one short attempt, all new updates concurrently), so that when the
submission window closes the content is already local; it then fetches whatever is still
missing, concurrently under one deadline (``fetch_timeout_s``; size cap and sha256 always)
and scores the round through the committee's one pipeline
(:func:`~ledgerlearn.flows.scoring.score_updates`): decodes every update against the task's
spec (safetensors only; wrong names, shapes, dtypes or non-finite values fail), runs the
sanity checks (free riders, near-duplicates, norm outliers), scores the rest on its fragment
and submits all its scores in one batch. Updates whose content is unavailable at the deadline
(withheld) or invalid get :data:`~ledgerlearn.core.rules.SCORE_INVALID`, so the round closes
without them. An update still short of a quorum when scoring closes can be scored during the
task's scoring extension (a member that was slow, or restarted, still judges it).

When the round's proposals open it recomputes the aggregate from the accepted updates. A
proposal whose content hash equals its own recomputation is attested at once, without a fetch;
another is fetched from any of the CIDs named for it (the attesters' first: a proposer may name
a CID that points to nothing) and attested when it matches within the tolerance. When no
proposal matches, the member proposes its own recomputation, so rounds close without any
keeper. Every attestation names the CID this member serves the result from. After the
attestation deadline it closes the round
(:func:`~ledgerlearn.flows.federation.rounds.close_overdue_round`).

Restart safety: what to do is derived from the chain (scores already on chain are not
redone), and sends go through the member's outbox (a send interrupted by a crash is completed
with the same signed transaction, never a second one).
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from ledgerlearn.chain.index import ProposalRecord, RoundRecord, TaskRecord
from ledgerlearn.core.rules import SCORE_INVALID, Status
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.faults import crash_point
from ledgerlearn.flows.federation.rounds import (
    HISTORY,
    aggregate_round,
    close_overdue_round,
    matches,
    proposals_open_since,
    round_reference,
    round_sanity,
    self_propose_after,
)
from ledgerlearn.flows.ports import CommitteeMember
from ledgerlearn.flows.scoring import ScoreRecord, dropped_reason, score_updates
from ledgerlearn.model.flatten import flatten
from ledgerlearn.training import METRICS_BY_ID, evaluate

log = logging.getLogger(__name__)

MAX_PROPOSAL_FETCHES = 2
"""Proposals whose content this member fetches in one step (a flood of proposals costs each
member a bounded amount of work per step; the unavailable ones are not tried again)."""


class RoundCommittee:
    """A committee member's duty in federation tasks (the federation flow's
    :class:`~ledgerlearn.flows.base.CommitteeDuty`): one per member, for all its federation
    tasks, with what it keeps per round."""

    def __init__(self, member: CommitteeMember) -> None:
        self.member = member
        self._content: dict[bytes, bytes] = {}  # update hash -> verified content, until scored
        self._content_task: dict[bytes, int] = {}  # update hash -> its task (for releasing)
        self._prefetched: set[bytes] = set()
        self._base_metric: dict[tuple[int, int], float] = {}
        self._aggregates: dict[tuple[int, int], tuple[bytes, str, bytes]] = {}  # data, CID, hash
        self._bad_proposals: dict[tuple[int, int], set[bytes]] = {}  # unavailable or no match
        self._unsent: set[bytes] = set()  # updates scored and counted as dropped (once each)
        # task -> (round, its decodable updates' changes): context for a round with few updates
        self._history: dict[int, tuple[int, list[npt.NDArray[np.float32]]]] = {}

    def step(self, task: TaskRecord) -> bool:
        """In the task's latest round: get ready, fetch, score what is due, attest or propose
        the aggregate, close an overdue round; True when a transaction was sent."""
        if self.member.participant.address not in task.params.committee or not task.rounds:
            return False
        record = task.rounds[max(task.rounds)]
        self._release(task, record)
        self._prepare(task, record)
        self._prefetch(task, record)
        sent = self._score_round(task, record)
        sent = self._attest(task, record) or sent
        return self._close_overdue(task, record) or sent

    def forget(self, task: TaskRecord) -> None:
        """Drop what was kept for ``task`` (closed: it never changes again)."""
        task_id = task.task_id
        for u in [u for u, t in self._content_task.items() if t == task_id]:
            self._content.pop(u, None)
            del self._content_task[u]
        for cache in (self._base_metric, self._aggregates, self._bad_proposals):
            for key in [k for k in cache if k[0] == task_id]:
                del cache[key]
        self._history.pop(task_id, None)
        self._unsent.difference_update(task.updates)

    def _release(self, task: TaskRecord, record: RoundRecord) -> None:
        """Forget what no longer helps: content and prefetch marks of updates this member
        will not score (decided, scored, or of an earlier round), per-round caches of earlier
        rounds of the task."""
        me = self.member.participant.address
        keep = {
            u
            for u in record.updates
            if task.updates[u].status is Status.PENDING and not task.updates[u].judged_by(me)
        }
        for u in [u for u in self._content if task.task_id == self._content_task.get(u)]:
            if u not in keep:
                del self._content[u]
                self._content_task.pop(u, None)
        current = set(record.updates)
        self._prefetched = {u for u in self._prefetched if u in current or u not in task.updates}
        self._unsent = {u for u in self._unsent if u in current or u not in task.updates}
        for cache in (self._base_metric, self._aggregates, self._bad_proposals):
            for key in [k for k in cache if k[0] == task.task_id and k[1] < record.round]:
                del cache[key]

    def _prepare(self, task: TaskRecord, record: RoundRecord) -> None:
        """Be ready before the round's updates are due: the fragment decrypted, the base
        model evaluated (the first round's start-up once made every score late)."""
        key = (task.task_id, record.round)
        if key in self._base_metric:
            return
        p = self.member.participant
        try:
            spec = p.spec(task.task_id)
            fragment = self.member.fragment(task)
            base = p.fetch_weights(task.task_id, record.base_model_hash, record.base_model_cid)
        except LedgerlearnError as exc:
            log.info(
                "task %d round %d: not ready to score yet (%s); trying again",
                task.task_id,
                record.round,
                exc,
            )
            return
        metric = METRICS_BY_ID[int(task.params.metric)]
        with p.stopwatch.measure("validation"):
            self._base_metric[key] = evaluate(spec, base, fragment, metric)

    def _prefetch(self, task: TaskRecord, record: RoundRecord) -> None:
        """One short attempt at the round's new updates while submissions are open."""
        if self.member.participant.head >= task.round_deadlines(record.round).submissions_close:
            return
        new = [u for u in record.updates if u not in self._prefetched]
        if not new:
            return
        self._prefetched.update(new)
        member = self.member
        for u, outcome in member.fetch_updates(task, new, member.prefetch_timeout_s).items():
            if isinstance(outcome, bytes):
                self._content[u] = outcome
                self._content_task[u] = task.task_id

    # -- scoring -------------------------------------------------------------------------
    def _score_round(self, task: TaskRecord, record: RoundRecord) -> bool:
        p = self.member.participant
        me = p.address
        unscored = [u for u in record.updates if not task.updates[u].judged_by(me)]
        if not unscored:
            return False
        block = p.head
        if block < task.round_deadlines(record.round).submissions_close:
            return False  # wait for every update of the round
        # The events read so far make this member score the round (even when the others
        # decided every update first, which a slow member sees).
        crash_point("validator:after_events")
        due = [
            u
            for u in unscored
            if task.updates[u].status is Status.PENDING
            # the batch lands in block + 1 at the earliest; late scores only for updates
            # still short of a quorum, within the scoring extension
            and task.may_score(u, block + 1)
        ]
        if not due:
            return False
        scores = self.score(task, record)
        reported = self.member.behaviour.report(
            {u: scores[u].score for u in due}, {u: task.updates[u].provider for u in due}
        )
        todo = [(u, scores[u]) for u in due]
        with p.stopwatch.measure("chain"):
            self.member.send_scores(task, due, [reported[u] for u in due])
        crash_point("validator:after_mined")
        self.member.scored.extend(scores[u] for u, _ in todo)
        # the round's other updates this member has not scored were scored with them (the
        # checks compare every update of the round) and are not sent: count each once
        for u in unscored:
            if u not in due and u not in self._unsent:
                self._unsent.add(u)
                self.member.dropped[dropped_reason(task.updates[u].status)] += 1
        for u in record.updates:  # fetched again (locally) by the attestation if accepted
            self._content.pop(u, None)
            self._content_task.pop(u, None)
        log.info(
            "task %d round %d: scored %d updates (%d invalid)",
            task.task_id,
            record.round,
            len(todo),
            sum(s.score == SCORE_INVALID for _, s in todo),
        )
        return True

    def score(self, task: TaskRecord, record: RoundRecord) -> dict[bytes, ScoreRecord]:
        """Scores of every update of the round on this member's fragment (no transaction)."""
        member = self.member
        p = member.participant
        spec = p.spec(task.task_id)
        fragment = member.fragment(task)
        metric = METRICS_BY_ID[int(task.params.metric)]
        base = p.fetch_weights(task.task_id, record.base_model_hash, record.base_model_cid)
        missing = [u for u in record.updates if u not in self._content]
        fetched = member.fetch_updates(task, missing, member.fetch_timeout_s) if missing else {}
        contents = {
            u: self._content[u] if u in self._content else fetched[u] for u in record.updates
        }
        earlier = self._history.get(task.task_id)
        with p.stopwatch.measure("validation"):
            key = (task.task_id, record.round)
            if key not in self._base_metric:
                self._base_metric[key] = evaluate(spec, base, fragment, metric)
            flat_base = flatten(base, spec)
            # Too few updates to tell what a typical change is: the previous round's changes
            # are the context (a lone free rider is then tiny next to them).
            context = earlier[1] if earlier is not None and earlier[0] < record.round else []
            sanity = round_sanity(flat_base, context) if member.sanity else None
            params = task.params
            reference = round_reference(
                params.threshold_mode, self._base_metric[key], params.threshold
            )
            scoring = score_updates(spec, fragment, metric, reference, contents, sanity)
        if member.sanity and scoring.vectors and (earlier is None or earlier[0] <= record.round):
            changes = [v - flat_base for v in scoring.vectors.values()]
            self._history[task.task_id] = (record.round, changes[-HISTORY:])
        return {
            u: ScoreRecord(task.task_id, u, s.score, s.reason, s.failure)
            for u, s in scoring.scores.items()
        }

    # -- attestation ---------------------------------------------------------------------
    def _attest(self, task: TaskRecord, record: RoundRecord) -> bool:
        """Attest the proposal matching this member's recomputation, or propose it.

        A proposal with the same content hash as the recomputation is attested without a
        fetch. Others are fetched (at most :data:`MAX_PROPOSAL_FETCHES` per step, from any of
        their CIDs, the attesters' first) and compared within the tolerance; an unavailable or
        different one is not tried again. When nothing matches, this member proposes its own
        recomputation (once per round) after
        :func:`~ledgerlearn.flows.federation.rounds.self_propose_after` blocks.
        """
        p = self.member.participant
        me = p.address
        if (
            record.result_hash is not None
            or not record.accepted
            or not self.member.behaviour.attests
        ):
            return False
        if me in record.attesters:
            return False  # one attestation per member and round
        since = proposals_open_since(task, record)
        if since is None:
            return False  # updates still pending: the accepted set is not final
        key = (task.task_id, record.round)
        if key not in self._aggregates:
            with p.stopwatch.measure("aggregation"):
                data = aggregate_round(p, task, record)
            with p.stopwatch.measure("ipfs"):
                cid, digest = p.store.put(data)  # served from here, whatever was proposed
            p.keep(task.task_id, cid)
            self._aggregates[key] = (data, cid, digest)
        mine, cid, digest = self._aggregates[key]
        proposal = record.proposals.get(digest)
        if proposal is not None:
            return self._send_attestation(task, record, digest, cid)
        bad = self._bad_proposals.setdefault(key, set())
        spec = p.spec(task.task_id)
        candidates = sorted(
            (q for q in record.proposals.values() if q.result_hash not in bad),
            key=lambda q: -len(q.attesters),
        )
        for candidate in candidates[:MAX_PROPOSAL_FETCHES]:
            if candidate.updates != record.accepted:
                bad.add(candidate.result_hash)
                continue
            proposed, served = self._fetch_proposal(task.task_id, candidate)
            if proposed is None:
                bad.add(candidate.result_hash)
                log.info(
                    "task %d round %d: proposal 0x%s is unavailable from its %d CIDs",
                    task.task_id,
                    record.round,
                    candidate.result_hash.hex()[:12],
                    len(candidate.cids),
                )
                continue
            if matches(spec, proposed, mine):
                return self._send_attestation(task, record, candidate.result_hash, served)
            bad.add(candidate.result_hash)
            log.warning(
                "task %d round %d: proposal 0x%s by %s does not match this member's recomputation",
                task.task_id,
                record.round,
                candidate.result_hash.hex()[:12],
                candidate.proposer,
            )
        if me in record.proposers:
            return False
        member = task.params.committee.index(me)
        if p.head < since + self_propose_after(task.params.attest_window, member):
            return False  # give the keeper (then the members before this one) their chance
        if len(candidates) > MAX_PROPOSAL_FETCHES:
            return False  # more proposals to look at next step
        with p.stopwatch.measure("chain"):
            p.client.propose_aggregate(task.task_id, record.round, record.accepted, digest, cid)
        log.info(
            "task %d round %d: no proposal matched; proposed this member's aggregate %s",
            task.task_id,
            record.round,
            cid,
        )
        return True

    def _fetch_proposal(self, task_id: int, proposal: ProposalRecord) -> tuple[bytes | None, str]:
        """The proposal's content from the first of its CIDs that serves it (verified), kept
        on this node so this member serves it too; (None, "") when none does."""
        p = self.member.participant
        for cid in proposal.cids:
            try:
                timeout = self.member.prefetch_timeout_s
                data = p.fetch(task_id, cid, proposal.result_hash, None, timeout)
            except LedgerlearnError:
                continue
            return data, cid
        return None, ""

    def _send_attestation(
        self, task: TaskRecord, record: RoundRecord, result_hash: bytes, cid: str
    ) -> bool:
        proposal = record.proposals[result_hash]
        if len(proposal.attesters) >= task.params.quorum:
            return False  # finalized by the others' attestations (our index lags a block)
        p = self.member.participant
        with p.stopwatch.measure("chain"):
            p.client.attest_aggregate(task.task_id, record.round, result_hash, cid)
        log.info("task %d round %d: attested %s", task.task_id, record.round, cid)
        return True

    def _close_overdue(self, task: TaskRecord, record: RoundRecord) -> bool:
        """Close the round once its attestation deadline passed without a quorum."""
        p = self.member.participant
        with p.stopwatch.measure("chain"):
            return close_overdue_round(p, task, record)
