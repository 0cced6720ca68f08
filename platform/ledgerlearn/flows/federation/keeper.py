"""The federation keeper: settles, aggregates and proposes each round for one participant."""

from __future__ import annotations

import logging

from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.core.rules import Status
from ledgerlearn.flows.federation.rounds import aggregate_round, close_overdue_round
from ledgerlearn.flows.ports import Member

log = logging.getLogger(__name__)


class RoundKeeper:
    """Closes federation rounds for one participant: settles, aggregates, proposes.

    Any participant may run it (the publisher's agent does; the gateway will); several
    keepers at once cause no double effect: a second identical proposal is refused by the
    contract and ignored here.
    """

    def __init__(self, participant: Member, task_id: int) -> None:
        self.participant = participant
        self.task_id = task_id
        self._computed: dict[int, tuple[bytes, str]] = {}  # round -> our aggregate (hash, CID)

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
        if block < task.round_deadlines(number).submissions_close:
            return False
        quorum = task.params.quorum
        pending = [u for u in record.updates if task.updates[u].status is Status.PENDING]
        if pending:
            due = [
                u
                for u in pending
                if task.scoring_deadlines(u).settleable(
                    block + 1, len(task.updates[u].scores), quorum
                )
            ]
            if not due:
                return False
            with p.stopwatch.measure("chain"):
                client.settle_updates(self.task_id, due)
            log.info("task %d round %d: settled %d pending updates", self.task_id, number, len(due))
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
        if p.address in record.proposers:
            # proposed (or named a CID) this round: members attest; past the attestation
            # deadline without a quorum, the round is closed anyway
            return close_overdue_round(p, task, record)
        if number not in self._computed:
            with p.stopwatch.measure("aggregation"):
                data = self.compute(task, record)
            with p.stopwatch.measure("ipfs"):
                cid, digest = p.store.put(data)
            self._computed[number] = (digest, cid)
        digest, cid = self._computed[number]
        proposal = record.proposals.get(digest)
        if proposal is not None and cid in proposal.cids:
            # proposed by another participant with this very CID: nothing to add
            return close_overdue_round(p, task, record)
        with p.stopwatch.measure("chain"):
            client.propose_aggregate(self.task_id, number, record.accepted, digest, cid)
        log.info(
            "task %d round %d: %s aggregate of %d updates (%s)",
            self.task_id,
            number,
            "named another CID for the proposed" if proposal is not None else "proposed",
            len(record.accepted),
            cid,
        )
        return True

    def compute(self, task: TaskRecord, record: RoundRecord) -> bytes:
        """The aggregate to propose (safetensors bytes): the round's deterministic aggregate."""
        return aggregate_round(self.participant, task, record)
