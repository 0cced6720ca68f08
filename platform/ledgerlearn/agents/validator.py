"""The validator: a committee member that scores updates and attests aggregates.

Driven by the chain's events. For each task whose committee it sits on it decrypts its
validation fragment once (ECIES with its own key; the fragment's sha256 is on chain). In a
federation round it fetches each update as soon as it is submitted (one short attempt, all
new updates concurrently), so that when the submission window closes the content is already
local; it then fetches whatever is still missing, concurrently under one deadline
(``fetch_timeout_s``; size cap and sha256 always) and scores the round through the
committee's one pipeline (:func:`~ledgerlearn.flows.scoring.score_updates`): decodes every
update against the task's spec (safetensors only; wrong names, shapes, dtypes or non-finite
values fail), runs the sanity checks (free riders, near-duplicates, norm outliers), scores
the rest on its fragment and submits all its scores in one batch. Updates whose content is
unavailable at the deadline (withheld) or invalid get
:data:`~ledgerlearn.chain.types.SCORE_INVALID`, so the round closes without them.
An update still short of a quorum when scoring closes can be scored during the task's
scoring extension (a member that was slow, or restarted, still judges it).

When the round's proposals open it recomputes the aggregate from the accepted updates. A
proposal whose content hash equals its own recomputation is attested at once, without a fetch;
another is fetched from any of the CIDs named for it (the attesters' first: a proposer may name
a CID that points to nothing) and attested when it matches within the tolerance. When no
proposal matches, the member proposes its own recomputation, so rounds close without any
keeper. Every attestation names the CID this member serves the result from. After the
attestation deadline it closes the round
(:func:`~ledgerlearn.flows.federation.rounds.close_overdue_round`).

Before any update arrives it prepares each task it judges: fetches and decrypts its fragment
and evaluates the round's base model, so the first round's scores are not late.

Restart safety: what to do is derived from the chain (scores already on chain are not
redone), and sends go through the outbox (a send interrupted by a crash is completed with
the same signed transaction, never a second one).
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt
from eth_keys.datatypes import PrivateKey

from ledgerlearn.agents.dag_scoring import DagScorer
from ledgerlearn.agents.participant import Participant
from ledgerlearn.behaviours.lying_validator import HonestValidator, ValidatorBehaviour
from ledgerlearn.chain.index import ProposalRecord, RoundRecord, TaskRecord
from ledgerlearn.core.rules import SCORE_INVALID, Flow, Status
from ledgerlearn.data import Dataset
from ledgerlearn.data.fragments import decrypt_fragment
from ledgerlearn.errors import ContentTooLargeError, ContentUnavailableError, LedgerlearnError
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
from ledgerlearn.flows.scoring import ScoreRecord, score_updates
from ledgerlearn.model.flatten import flatten
from ledgerlearn.model.weights import default_max_bytes
from ledgerlearn.training import METRICS_BY_ID, evaluate

log = logging.getLogger(__name__)

MAX_PROPOSAL_FETCHES = 2
"""Proposals whose content this member fetches in one step (a flood of proposals costs each
member a bounded amount of work per step; the unavailable ones are not tried again)."""


class Validator:
    """A committee member's agent.

    Parameters
    ----------
    participant
        This validator's identity, chain client and IPFS node.
    encryption_key
        Its 32-byte secp256k1 private key for the validation fragments; the matching public
        key is registered on chain.
    fetch_timeout_s
        Deadline for the updates still missing when the submission window closes (default:
        the participant's); must leave time to score and send within the score window.
    prefetch_timeout_s
        Deadline of the single early attempt to fetch updates as they are submitted.
    behaviour
        What it reports given its true scores (honest unless a lying behaviour is given).
    sanity
        Run the sanity checks (free riders, near-duplicates, norm outliers); off only to
        measure robust aggregation without the committee's filtering.
    """

    def __init__(
        self,
        participant: Participant,
        encryption_key: bytes,
        *,
        fetch_timeout_s: float | None = None,
        prefetch_timeout_s: float = 2.0,
        behaviour: ValidatorBehaviour | None = None,
        sanity: bool = True,
    ) -> None:
        self.participant = participant
        self.behaviour = behaviour or HonestValidator()
        self.sanity = sanity
        self.encryption_key = encryption_key
        self.fetch_timeout_s = (
            participant.fetch_timeout_s if fetch_timeout_s is None else fetch_timeout_s
        )
        """Deadline for the updates still missing when the submission window closes; keep
        it well under the score window's duration."""
        self.prefetch_timeout_s = prefetch_timeout_s
        """Deadline of the one early attempt to fetch each update as it is submitted."""
        self._content: dict[bytes, bytes] = {}  # update hash -> verified content, until scored
        self._content_task: dict[bytes, int] = {}  # update hash -> its task (for releasing)
        self._prefetched: set[bytes] = set()
        self.public_key = b"\x04" + PrivateKey(encryption_key).public_key.to_bytes()
        """The uncompressed public key registered on chain (its address is derivable, so the
        contract checks the proof of possession)."""
        self._fragments: dict[int, Dataset] = {}
        self._base_metric: dict[tuple[int, int], float] = {}
        self._aggregates: dict[tuple[int, int], tuple[bytes, str, bytes]] = {}  # data, CID, hash
        self._bad_proposals: dict[tuple[int, int], set[bytes]] = {}  # unavailable or no match
        # task -> (round, its decodable updates' changes): context for a round with few updates
        self._history: dict[int, tuple[int, list[npt.NDArray[np.float32]]]] = {}
        self._forgotten: set[int] = set()  # closed tasks whose caches were dropped
        self.scored: list[ScoreRecord] = []
        self._dag = DagScorer(self)  # dag tasks: agents/dag_scoring.py

    def register(self, peer_address: str) -> bool:
        """Register this member's IPFS address and encryption key on chain (once), with the
        proof that it holds the key."""
        client = self.participant.client
        member = client.member(client.address)
        if member.encryption_key == self.public_key and member.peer_address == peer_address:
            return False
        with self.participant.stopwatch.measure("chain"):
            client.register_member(peer_address, self.encryption_key)
        return True

    def step(self) -> bool:
        """Score what is due and attest what matches; True when a transaction was sent."""
        me = self.participant.address
        sent = False
        for task in list(self.participant.index.tasks.values()):
            if task.flow is Flow.DAG and not task.closed and me in task.params.committee:
                sent = self._dag.step(task) or sent
                continue
            if task.closed:
                if task.task_id not in self._forgotten:
                    self._forget(task)
                continue
            if me not in task.params.committee or not task.rounds:
                continue
            number = max(task.rounds)
            record = task.rounds[number]
            self._release(task, record)
            self._prepare(task, record)
            self._prefetch(task, record)
            sent = self._score_round(task, record) or sent
            sent = self._attest(task, record) or sent
            sent = self._close_overdue(task, record) or sent
        return sent

    def _forget(self, task: TaskRecord) -> None:
        """Drop everything kept for a closed task (it never changes again), once."""
        task_id = task.task_id
        self._forgotten.add(task_id)
        self._dag.forget(task)
        for u in [u for u, t in self._content_task.items() if t == task_id]:
            self._content.pop(u, None)
            del self._content_task[u]
        for cache in (self._base_metric, self._aggregates, self._bad_proposals):
            for key in [k for k in cache if k[0] == task_id]:
                del cache[key]
        self._fragments.pop(task_id, None)
        self._history.pop(task_id, None)

    def _release(self, task: TaskRecord, record: RoundRecord) -> None:
        """Forget what no longer helps: content and prefetch marks of updates this member
        will not score (decided, scored, or of an earlier round), per-round caches of earlier
        rounds of the task."""
        me = self.participant.address
        keep = {
            u
            for u in record.updates
            if task.updates[u].status is Status.PENDING and me not in task.updates[u].scores
        }
        for u in [u for u in self._content if task.task_id == self._content_task.get(u)]:
            if u not in keep:
                del self._content[u]
                self._content_task.pop(u, None)
        current = set(record.updates)
        self._prefetched = {u for u in self._prefetched if u in current or u not in task.updates}
        for cache in (self._base_metric, self._aggregates, self._bad_proposals):
            for key in [k for k in cache if k[0] == task.task_id and k[1] < record.round]:
                del cache[key]

    def _prepare(self, task: TaskRecord, record: RoundRecord) -> None:
        """Be ready before the round's updates are due: the fragment decrypted, the base
        model evaluated (the first round's start-up once made every score late)."""
        key = (task.task_id, record.round)
        if key in self._base_metric:
            return
        p = self.participant
        try:
            spec = p.spec(task.task_id)
            fragment = self.fragment(task)
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

    # -- fetching ------------------------------------------------------------------------
    def _prefetch(self, task: TaskRecord, record: RoundRecord) -> None:
        """One short attempt at the round's new updates while submissions are open."""
        if self.participant.head >= task.round_deadlines(record.round).submissions_close:
            return
        new = [u for u in record.updates if u not in self._prefetched]
        if not new:
            return
        self._prefetched.update(new)
        for u, outcome in self.fetch_updates(task, new, self.prefetch_timeout_s).items():
            if isinstance(outcome, bytes):
                self._content[u] = outcome
                self._content_task[u] = task.task_id

    def fetch_updates(
        self, task: TaskRecord, updates: list[bytes], timeout_s: float
    ) -> dict[bytes, bytes | LedgerlearnError]:
        """Fetch updates concurrently under one deadline; each verified against its hash.

        Two updates may name the same CID (only one can match it): each pass fetches one
        update per CID, so a CID copied from another update fails only the copy. A CID that
        is unavailable or too large fails every update naming it at once: m updates naming a
        withheld CID cost one deadline, not m.
        """
        p = self.participant
        cap = default_max_bytes(p.spec(task.task_id))
        outcomes: dict[bytes, bytes | LedgerlearnError] = {}
        todo = list(updates)
        while todo:
            batch: dict[str, bytes] = {}
            for u in todo:
                batch.setdefault(task.updates[u].cid, u)
            with p.stopwatch.measure("ipfs"):
                fetched = p.store.get_many(
                    [(cid, u) for cid, u in batch.items()], max_bytes=cap, timeout_s=timeout_s
                )
            for cid, u in batch.items():
                outcomes[u] = fetched[cid]
            for u in todo:
                outcome = fetched.get(task.updates[u].cid)
                if u not in outcomes and isinstance(
                    outcome, ContentUnavailableError | ContentTooLargeError
                ):
                    outcomes[u] = outcome
            todo = [u for u in todo if u not in outcomes]
        return outcomes

    # -- scoring -------------------------------------------------------------------------
    def _score_round(self, task: TaskRecord, record: RoundRecord) -> bool:
        me = self.participant.address
        unscored = [u for u in record.updates if me not in task.updates[u].scores]
        if not unscored:
            return False
        client = self.participant.client
        block = self.participant.head
        if block < task.round_deadlines(record.round).submissions_close:
            return False  # wait for every update of the round
        # The events read so far make this member score the round (even when the others
        # decided every update first, which a slow member sees).
        crash_point("validator:after_events")
        quorum = task.params.quorum
        due = [
            u
            for u in unscored
            if task.updates[u].status is Status.PENDING
            # the batch lands in block + 1 at the earliest; late scores only for updates
            # still short of a quorum, within the scoring extension
            and task.scoring_deadlines(u).scoring_open(
                block + 1, len(task.updates[u].scores), quorum
            )
        ]
        if not due:
            return False
        scores = self.score_updates(task, record)
        reported = self.behaviour.report(
            {u: scores[u].score for u in due}, {u: task.updates[u].provider for u in due}
        )
        todo = [(u, scores[u]) for u in due]
        with self.participant.stopwatch.measure("chain"):
            client.submit_scores(task.task_id, due, [reported[u] for u in due])
        crash_point("validator:after_mined")
        self.scored.extend(scores[u] for u, _ in todo)
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

    def score_updates(self, task: TaskRecord, record: RoundRecord) -> dict[bytes, ScoreRecord]:
        """Scores of every update of the round on this member's fragment (no transaction)."""
        p = self.participant
        spec = p.spec(task.task_id)
        fragment = self.fragment(task)
        metric = METRICS_BY_ID[int(task.params.metric)]
        base = p.fetch_weights(task.task_id, record.base_model_hash, record.base_model_cid)
        missing = [u for u in record.updates if u not in self._content]
        fetched = self.fetch_updates(task, missing, self.fetch_timeout_s) if missing else {}
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
            sanity = round_sanity(flat_base, context) if self.sanity else None
            params = task.params
            reference = round_reference(
                params.threshold_mode, self._base_metric[key], params.threshold
            )
            scoring = score_updates(spec, fragment, metric, reference, contents, sanity)
        if self.sanity and scoring.vectors and (earlier is None or earlier[0] <= record.round):
            changes = [v - flat_base for v in scoring.vectors.values()]
            self._history[task.task_id] = (record.round, changes[-HISTORY:])
        return {
            u: ScoreRecord(task.task_id, u, s.score, s.reason) for u, s in scoring.scores.items()
        }

    def fragment(self, task: TaskRecord) -> Dataset:
        """This member's validation fragment of ``task``, fetched and decrypted once."""
        if task.task_id not in self._fragments:
            p = self.participant
            index = task.params.committee.index(p.address)
            spec = p.spec(task.task_id)
            with p.stopwatch.measure("ipfs"):
                ciphertext = p.store.get(
                    task.params.fragment_cids[index],
                    task.params.fragment_hashes[index],
                    None,
                    p.fetch_timeout_s,
                )
            self._fragments[task.task_id] = decrypt_fragment(
                ciphertext,
                self.encryption_key,
                input_shape=spec.input_shape,
                num_classes=spec.num_classes,
                name=f"task-{task.task_id}/fragment-{index}",
            )
        return self._fragments[task.task_id]

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
        me = self.participant.address
        if record.result_hash is not None or not record.accepted or not self.behaviour.attests:
            return False
        if me in record.attesters:
            return False  # one attestation per member and round
        since = proposals_open_since(task, record)
        if since is None:
            return False  # updates still pending: the accepted set is not final
        p = self.participant
        key = (task.task_id, record.round)
        if key not in self._aggregates:
            with p.stopwatch.measure("aggregation"):
                data = aggregate_round(p, task, record)
            with p.stopwatch.measure("ipfs"):
                cid, digest = p.store.put(data)  # served from here, whatever was proposed
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
            proposed, served = self._fetch_proposal(candidate)
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

    def _fetch_proposal(self, proposal: ProposalRecord) -> tuple[bytes | None, str]:
        """The proposal's content from the first of its CIDs that serves it (verified), kept
        on this node so this member serves it too; (None, "") when none does."""
        p = self.participant
        for cid in proposal.cids:
            try:
                with p.stopwatch.measure("ipfs"):
                    data = p.store.get(
                        cid, proposal.result_hash, None, self.prefetch_timeout_s, pin=True
                    )
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
        p = self.participant
        with p.stopwatch.measure("chain"):
            p.client.attest_aggregate(task.task_id, record.round, result_hash, cid)
        log.info("task %d round %d: attested %s", task.task_id, record.round, cid)
        return True

    def _close_overdue(self, task: TaskRecord, record: RoundRecord) -> bool:
        """Close the round once its attestation deadline passed without a quorum."""
        p = self.participant
        with p.stopwatch.measure("chain"):
            return close_overdue_round(p, task, record)
