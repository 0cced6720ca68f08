"""The validator: a committee member that scores updates and attests aggregates.

Driven by the chain's events. For each task whose committee it sits on it decrypts its
validation fragment once (ECIES with its own key; the fragment's sha256 is on chain). In a
federation round it fetches each update as soon as it is submitted (one short attempt, all
new updates concurrently), so that when the submission window closes the content is already
local; it then fetches whatever is still missing, concurrently under one deadline
(``fetch_timeout_s``; size cap and sha256 always), decodes every update against the task's
spec (safetensors only; wrong names, shapes, dtypes or non-finite values fail), runs the
sanity checks (free riders, near-duplicates, norm outliers), scores the rest on its fragment
and submits all its scores in one batch. Updates whose content is unavailable at the
deadline (withheld) or invalid get :data:`~ledgerlearn.chain.types.SCORE_INVALID`, so the
round closes without them.
When an aggregate is proposed it recomputes it from the accepted updates and attests when the
proposal matches.

Restart safety: what to do is derived from the chain (scores already on chain are not
redone), and sends go through the outbox (a send interrupted by a crash is completed with
the same signed transaction, never a second one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from eth_keys.datatypes import PrivateKey

from ledgerlearn.agents.dag_scoring import DagScorer
from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.sanity import check_round
from ledgerlearn.attacks.lying_validator import HonestValidator, ValidatorBehaviour
from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.chain.types import SCORE_INVALID, Flow, Status, ThresholdMode, to_fixed
from ledgerlearn.data import Dataset
from ledgerlearn.data.fragments import decrypt_fragment
from ledgerlearn.errors import ContentUnavailableError, LedgerlearnError
from ledgerlearn.faults import crash_point
from ledgerlearn.flows.federation import aggregate_round, matches
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten
from ledgerlearn.model.weights import decode, default_max_bytes
from ledgerlearn.training import METRICS_BY_ID, Metric, evaluate

log = logging.getLogger(__name__)

MIN_PEERS = 3
"""Peer mode compares with the median of at least this many valid updates; with fewer, the
score is taken relative to the global model."""


@dataclass(frozen=True)
class ScoreRecord:
    """A score this validator computed, with the reason when the update failed."""

    task_id: int
    update: bytes
    score: int
    reason: str


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
        self._prefetched: set[bytes] = set()
        self.public_key = PrivateKey(encryption_key).public_key.to_compressed_bytes()
        self._fragments: dict[int, Dataset] = {}
        self._base_metric: dict[tuple[int, int], float] = {}
        self._aggregates: dict[tuple[int, int], bytes] = {}
        self.scored: list[ScoreRecord] = []
        self._dag = DagScorer(self)  # dag tasks: agents/dag_scoring.py

    def register(self, peer_address: str) -> bool:
        """Register this member's IPFS address and encryption key on chain (once)."""
        client = self.participant.client
        member = client.member(client.address)
        if member.encryption_key == self.public_key and member.peer_address == peer_address:
            return False
        with self.participant.stopwatch.measure("chain"):
            client.register_member(peer_address, self.public_key)
        return True

    def step(self) -> bool:
        """Score what is due and attest what matches; True when a transaction was sent."""
        me = self.participant.address
        sent = False
        for task in list(self.participant.index.tasks.values()):
            if task.flow is Flow.DAG and not task.closed and me in task.params.committee:
                sent = self._dag.step(task) or sent
                continue
            if task.closed or me not in task.params.committee or not task.rounds:
                continue
            number = max(task.rounds)
            record = task.rounds[number]
            self._prefetch(task, record)
            sent = self._score_round(task, record) or sent
            sent = self._attest(task, record) or sent
        return sent

    # -- fetching ------------------------------------------------------------------------
    def _prefetch(self, task: TaskRecord, record: RoundRecord) -> None:
        """One short attempt at the round's new updates while submissions are open."""
        if self.participant.head >= record.start_block + task.params.round_length:
            return
        new = [u for u in record.updates if u not in self._prefetched]
        if not new:
            return
        self._prefetched.update(new)
        for u, outcome in self._fetch(task, new, self.prefetch_timeout_s).items():
            if isinstance(outcome, bytes):
                self._content[u] = outcome

    def _fetch(
        self, task: TaskRecord, updates: list[bytes], timeout_s: float
    ) -> dict[bytes, bytes | LedgerlearnError]:
        """Fetch updates concurrently under one deadline; each verified against its hash.

        Two updates may name the same CID (only one can match it): each pass fetches one
        update per CID, so a CID copied from another update fails only the copy.
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
            todo = [u for u in todo if u not in outcomes]
        return outcomes

    # -- scoring -------------------------------------------------------------------------
    def _score_round(self, task: TaskRecord, record: RoundRecord) -> bool:
        me = self.participant.address
        unscored = [u for u in record.updates if me not in task.updates[u].scores]
        if not unscored:
            return False
        client = self.participant.client
        closes = record.start_block + task.params.round_length
        block = self.participant.head
        if block < closes or block + 1 >= closes + task.params.score_window:
            return False  # wait for every update of the round; too late after the deadline
        # The events read so far make this member score the round (even when the others
        # decided every update first, which a slow member sees).
        crash_point("validator:after_events")
        due = [u for u in unscored if task.updates[u].status is Status.PENDING]
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
        fragment = self._fragment(task)
        metric = METRICS_BY_ID[int(task.params.metric)]
        base = p.fetch_weights(task.task_id, record.base_model_hash, record.base_model_cid)
        missing = [u for u in record.updates if u not in self._content]
        fetched = self._fetch(task, missing, self.fetch_timeout_s) if missing else {}
        with p.stopwatch.measure("validation"):
            return self._score(task, record, spec, fragment, metric, base, fetched)

    def _score(
        self,
        task: TaskRecord,
        record: RoundRecord,
        spec: ModelSpec,
        fragment: Dataset,
        metric: Metric,
        base: dict[str, npt.NDArray[np.float32]],
        fetched: dict[bytes, bytes | LedgerlearnError],
    ) -> dict[bytes, ScoreRecord]:
        key = (task.task_id, record.round)
        if key not in self._base_metric:
            self._base_metric[key] = evaluate(spec, base, fragment, metric)
        results: dict[bytes, ScoreRecord] = {}
        decoded: dict[bytes, dict[str, npt.NDArray[np.float32]]] = {}
        cap = default_max_bytes(spec)
        for u in record.updates:
            data = self._content[u] if u in self._content else fetched[u]
            if isinstance(data, ContentUnavailableError):
                results[u] = ScoreRecord(task.task_id, u, SCORE_INVALID, f"unavailable: {data}")
                continue
            try:
                if isinstance(data, LedgerlearnError):
                    raise data
                decoded[u] = dict(decode(data, spec, cap))
            except LedgerlearnError as exc:
                results[u] = ScoreRecord(task.task_id, u, SCORE_INVALID, f"invalid: {exc}")
        order = [u for u in record.updates if u in decoded]
        vectors = [flatten(decoded[u], spec) for u in order]
        verdicts = check_round(flatten(base, spec), vectors) if self.sanity else None
        values: dict[bytes, float] = {}
        for i, u in enumerate(order):
            if verdicts is not None and not verdicts[i].ok:
                results[u] = ScoreRecord(task.task_id, u, SCORE_INVALID, verdicts[i].reason)
                continue
            try:
                values[u] = evaluate(spec, decoded[u], fragment, metric)
            except LedgerlearnError as exc:
                results[u] = ScoreRecord(task.task_id, u, SCORE_INVALID, f"invalid: {exc}")
        mode = task.params.threshold_mode
        if mode is ThresholdMode.RELATIVE:
            reference = self._base_metric[key]
        elif mode is ThresholdMode.PEER and len(values) >= MIN_PEERS:
            reference = float(np.median(list(values.values())))
        elif mode is ThresholdMode.PEER:  # too few peers to compare with: the global model
            reference = self._base_metric[key]
        else:
            reference = 0.0
        for u, value in values.items():
            results[u] = ScoreRecord(task.task_id, u, to_fixed(value - reference), "")
        return results

    def _fragment(self, task: TaskRecord) -> Dataset:
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
        me = self.participant.address
        if record.result_hash is not None or not record.proposals or not record.accepted:
            return False
        if any(me in proposal.attesters for proposal in record.proposals.values()):
            return False  # one attestation per member and round
        p = self.participant
        spec = p.spec(task.task_id)
        key = (task.task_id, record.round)
        if key not in self._aggregates:
            with p.stopwatch.measure("aggregation"):
                self._aggregates[key] = aggregate_round(p, task, record)
        mine = self._aggregates[key]
        for proposal in record.proposals.values():
            if proposal.updates != record.accepted:
                continue
            if len(proposal.attesters) >= task.params.quorum:
                return False  # finalized by the others' attestations (our index lags a block)
            try:
                with p.stopwatch.measure("ipfs"):
                    proposed = p.store.get(
                        proposal.cid, proposal.result_hash, None, p.fetch_timeout_s
                    )
            except LedgerlearnError as exc:
                log.warning("proposal %s unavailable: %s", proposal.cid, exc)
                continue
            if matches(spec, proposed, mine):
                with p.stopwatch.measure("chain"):
                    p.client.attest_aggregate(task.task_id, record.round, proposal.result_hash)
                log.info("task %d round %d: attested %s", task.task_id, record.round, proposal.cid)
                return True
            log.warning(
                "task %d round %d: proposal %s does not match",
                task.task_id,
                record.round,
                proposal.cid,
            )
        return False
