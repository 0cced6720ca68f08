"""Federation flow: synchronous rounds, aggregated deterministically and verified by the committee.

Round r starts from the global model of the task. Providers submit updates until the
submission window closes; the committee scores them; then any participant (the
:class:`RoundKeeper`) settles updates still pending at the scoring deadline, computes the
aggregate of the accepted updates *in on-chain acceptance order* with the task's rule, puts
it on IPFS and proposes it. Committee members recompute the same aggregate from the same
inputs (:func:`aggregate_round`) and attest when their result matches within
:data:`ATTEST_TOLERANCE`; k attestations finalize the round.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ledgerlearn.agents.participant import Participant
from ledgerlearn.aggregation import RULE_NAMES, Aggregator, BreakdownPointError, get
from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.chain.types import Status
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten, unflatten
from ledgerlearn.model.weights import decode, encode

log = logging.getLogger(__name__)

ATTEST_TOLERANCE = 1e-6
"""Largest difference (relative to the largest magnitude) between a proposed aggregate and a
member's recomputation that the member still attests."""

Float32Array = npt.NDArray[np.float32]


def aggregate_models(
    spec: ModelSpec,
    models: Sequence[Mapping[str, Float32Array]],
    rule: str,
    num_byzantine: int,
) -> dict[str, Float32Array]:
    """The aggregate of full models (not deltas) with a robust rule; deterministic.

    Parameters
    ----------
    spec
        The task's model spec (fixes the flattening order).
    models
        The accepted models, in on-chain acceptance order.
    rule, num_byzantine
        The task's aggregation rule and its parameter.
    """
    vectors = np.stack([flatten(m, spec) for m in models]).astype(np.float32, copy=False)
    aggregator = round_aggregator(rule, num_byzantine, len(models))
    return unflatten(np.asarray(aggregator(vectors), dtype=np.float32), spec)


def round_aggregator(rule: str, num_byzantine: int, accepted: int) -> Aggregator:
    """The task's rule for a round that accepted ``accepted`` updates.

    The task declares ``num_byzantine`` for all its providers; the committee has already
    rejected some updates, and fewer accepted updates than the rule needs at that count must
    not stall the round. The rule then tolerates the largest count ``f' <= num_byzantine``
    its breakdown point allows for ``accepted`` updates; if even ``f' = 0`` is refused (e.g.
    Krum with fewer than 3 updates), the coordinate-wise median is used. Deterministic, so
    every member recomputes the same aggregate.
    """
    for f in range(num_byzantine, -1, -1):
        aggregator = get(rule, num_byzantine=f)
        try:
            aggregator.check_num_updates(accepted)
        except BreakdownPointError:
            continue
        if f < num_byzantine:
            log.info("%s: %d accepted updates allow num_byzantine=%d", rule, accepted, f)
        return aggregator
    log.info("%s: %d accepted updates are too few; coordinate-wise median", rule, accepted)
    return get("median")


def aggregate_round(participant: Participant, task: TaskRecord, record: RoundRecord) -> bytes:
    """Recompute a round's aggregate from its accepted updates; returns safetensors bytes."""
    spec = participant.spec(task.task_id)
    if not record.accepted:
        raise ValueError(f"round {record.round} of task {task.task_id} accepted no update")
    models = [participant.fetch_weights(task.task_id, u) for u in record.accepted]
    rule = RULE_NAMES[task.params.aggregation_rule]
    result = aggregate_models(spec, models, rule, task.params.num_byzantine)
    return encode(result, spec=spec)


def matches(spec: ModelSpec, proposed: bytes, recomputed: bytes) -> bool:
    """Whether a proposed aggregate equals a recomputation within :data:`ATTEST_TOLERANCE`."""
    if proposed == recomputed:
        return True
    a = flatten(decode(proposed, spec), spec).astype(np.float64)
    b = flatten(decode(recomputed, spec), spec).astype(np.float64)
    scale = max(float(np.abs(b).max()), 1e-12)
    return bool(np.abs(a - b).max() <= ATTEST_TOLERANCE * scale)


class RoundKeeper:
    """Closes federation rounds for one participant: settles, aggregates, proposes.

    Any participant may run it (the publisher's agent does; the gateway will); several
    keepers at once cause no double effect: a second identical proposal is refused by the
    contract and ignored here.
    """

    def __init__(self, participant: Participant, task_id: int) -> None:
        self.participant = participant
        self.task_id = task_id
        self._computed: dict[int, bytes] = {}  # round -> our aggregate's content hash

    def step(self) -> bool:
        """Do what the current round needs now; True when something was sent."""
        p = self.participant
        task = p.task(self.task_id)
        if task.closed or not task.rounds:
            return False
        number = max(task.rounds)
        record = task.rounds[number]
        if record.result_hash is not None:
            return False
        client = p.client
        block = p.head
        closes = record.start_block + task.params.round_length
        scoring_closes = closes + task.params.score_window
        if block < closes:
            return False
        pending = [u for u in record.updates if task.updates[u].status is Status.PENDING]
        if pending:
            if block < scoring_closes:
                return False
            with p.stopwatch.measure("chain"):
                client.settle_updates(self.task_id, pending)
            log.info(
                "task %d round %d: settled %d pending updates", self.task_id, number, len(pending)
            )
            return True
        if not record.accepted:
            if record.base_model_hash in record.proposals:
                return False  # another keeper proposed keeping the base model
            with p.stopwatch.measure("chain"):
                client.propose_aggregate(
                    self.task_id, number, [], record.base_model_hash, record.base_model_cid
                )
            log.info("task %d round %d: no accepted update, base model kept", self.task_id, number)
            return True
        if self._computed.get(number) in record.proposals:
            return False  # our aggregate is proposed (by us or another keeper): members attest
        with p.stopwatch.measure("aggregation"):
            data = self.compute(task, record)
        with p.stopwatch.measure("ipfs"):
            cid, digest = p.store.put(data)
        self._computed[number] = digest
        if digest in record.proposals:
            return False
        with p.stopwatch.measure("chain"):
            client.propose_aggregate(self.task_id, number, record.accepted, digest, cid)
        log.info(
            "task %d round %d: proposed aggregate of %d updates (%s)",
            self.task_id,
            number,
            len(record.accepted),
            cid,
        )
        return True

    def compute(self, task: TaskRecord, record: RoundRecord) -> bytes:
        """The aggregate to propose (safetensors bytes): the round's deterministic aggregate."""
        return aggregate_round(self.participant, task, record)
