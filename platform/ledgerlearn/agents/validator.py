"""The validator: a committee member's agent, whatever the flow of its tasks.

It holds what every committee member does: its identity (its account and the encryption key
its validation fragments are encrypted to, registered on chain with :meth:`Validator.register`),
its fragment of each task it judges (fetched and decrypted once with ECIES; the fragment's
sha256 is on chain), fetching updates (concurrently under one deadline, each verified, one
update per CID and pass), its behaviour (what it reports given its true scores, whether it
attests), whether it runs the sanity checks, every score it sent and how many it computed and
did not send. It is the :class:`~ledgerlearn.flows.ports.CommitteeMember` the flows'
committee duties use.

What a task needs from it is its flow's: each step it hands every task it has indexed to the
flow's duty (:meth:`~ledgerlearn.flows.base.FlowStrategy.committee`, one per flow, made on
first use): :class:`~ledgerlearn.flows.federation.committee.RoundCommittee` scores rounds and
attests their aggregates, :class:`~ledgerlearn.flows.dag.committee.DagCommittee` scores dag
updates against their parents' merge. Once a task closes, its fragment and whatever its duty
kept for it are dropped.

Restart safety: what to do is derived from the chain (scores already on chain are not
redone), and sends go through the outbox (a send interrupted by a crash is completed with
the same signed transaction, never a second one).
"""

from __future__ import annotations

import logging
from collections import Counter

from eth_keys.datatypes import PrivateKey

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.pins import TaskPins
from ledgerlearn.agents.score_reveals import ScoreReveals
from ledgerlearn.agents.vetting_duty import VettingDuty
from ledgerlearn.behaviours.lying_validator import HonestValidator, ValidatorBehaviour
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.config import VettingPolicy
from ledgerlearn.core.rules import Flow
from ledgerlearn.data import Dataset
from ledgerlearn.data.fragments import decrypt_fragment
from ledgerlearn.data.inputs import range_report
from ledgerlearn.errors import ContentTooLargeError, ContentUnavailableError, LedgerlearnError
from ledgerlearn.flows.base import CommitteeDuty
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.flows.scoring import ScoreRecord
from ledgerlearn.model.weights import default_max_bytes

log = logging.getLogger(__name__)


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
        vetting: VettingPolicy | None = None,
        pool: bool = True,
    ) -> None:
        self.participant = participant
        if participant.pins is None:  # a member keeps what its tasks need (agents/pins.py)
            participant.pins = TaskPins(participant.store, participant.state_dir / "pins.json")
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
        self.public_key = b"\x04" + PrivateKey(encryption_key).public_key.to_bytes()
        """The uncompressed public key registered on chain (its address is derivable, so the
        contract checks the proof of possession)."""
        self._fragments: dict[int, Dataset] = {}
        self._forgotten: set[int] = set()  # closed tasks whose caches were dropped
        self.scored: list[ScoreRecord] = []
        """Every score it sent, in order."""
        self.dropped: Counter[str] = Counter()
        """Scores it computed and did not send, by reason
        (:data:`~ledgerlearn.flows.scoring.DROPPED`)."""
        self._duties: dict[Flow, CommitteeDuty] = {}  # made on first use, one per flow
        deployment = participant.client.deployment
        self.vetting: VettingDuty | None = (
            VettingDuty(participant, vetting or VettingPolicy(), pool=pool)
            if deployment.vetting is not None
            else None
        )
        """Its part in draws and vetting (a consortium deployment's validators)."""
        self.reveals: ScoreReveals | None = (
            ScoreReveals(participant) if deployment.score_commitments is not None else None
        )
        """Its commit-reveal scores (a deployment with score commitments)."""

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
        """Do what each indexed task needs from this member now (its flow's duty); True when
        a transaction was sent."""
        sent = self.vetting.join() if self.vetting is not None else False
        if self.participant.pins is not None:
            self.participant.pins.release(self.participant.index, self.participant.head)
        for task in list(self.participant.index.tasks.values()):
            duty = self.duty(task.flow)
            if task.closed:
                if task.task_id not in self._forgotten:
                    self._forget(task, duty)
                continue
            if not task.is_open:  # drawn or vetted: its draw, its vote, nothing to score yet
                if self.vetting is not None:
                    sent = self.vetting.step(task) or sent
                continue
            if self.reveals is not None and task.params.commit_window:
                sent = self.reveals.step(task) or sent
            sent = duty.step(task) or sent
        return sent

    def send_scores(self, task: TaskRecord, updates: list[bytes], scores: list[int]) -> None:
        """Send scores in the clear, or commit them on a commit-reveal task (revealed by
        :meth:`step` once the commit window closed)."""
        if not task.params.commit_window:
            self.participant.client.submit_scores(task.task_id, updates, scores)
            return
        if self.reveals is None:
            raise LedgerlearnError(
                f"task {task.task_id} commits its scores but this deployment names no score "
                "commitments contract"
            )
        kept = self.reveals.commit(task, updates, scores)
        self.dropped["late"] += len(updates) - len(kept)  # its commit window closed first

    def duty(self, flow: Flow) -> CommitteeDuty:
        """This member's duty in the tasks of ``flow`` (the flow's strategy makes it once)."""
        duty = self._duties.get(flow)
        if duty is None:
            duty = self._duties[flow] = FLOWS[flow].committee(self)
        return duty

    def _forget(self, task: TaskRecord, duty: CommitteeDuty) -> None:
        """Drop everything kept for a closed task (it never changes again), once."""
        self._forgotten.add(task.task_id)
        duty.forget(task)
        self._fragments.pop(task.task_id, None)

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
            here = {cid for cid in batch if p.store.has(cid)}
            with p.stopwatch.measure("ipfs"):
                fetched = p.store.get_many(
                    [(cid, u) for cid, u in batch.items()],
                    max_bytes=cap,
                    timeout_s=timeout_s,
                    pin=p.pins is not None,
                )
            if p.pins is not None:  # kept and served: its provider may go away
                for cid, got in fetched.items():
                    if isinstance(got, bytes):
                        p.pins.fetched(task.task_id, cid, cid in here)
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

    def fragment(self, task: TaskRecord) -> Dataset:
        """This member's validation fragment of ``task``, fetched and decrypted once; a
        fragment whose values do not fit the input range the spec declares is logged as a
        WARNING with the numbers (the publisher's data and its spec disagree: every score on
        it measures the model on inputs it was not made for)."""
        if task.task_id not in self._fragments:
            p = self.participant
            index = task.params.committee.index(p.address)
            spec = p.spec(task.task_id)
            ciphertext = p.fetch(
                task.task_id, task.params.fragment_cids[index], task.params.fragment_hashes[index]
            )
            self._fragments[task.task_id] = decrypt_fragment(
                ciphertext,
                self.encryption_key,
                input_shape=spec.input_shape,
                num_classes=spec.num_classes,
                name=f"task-{task.task_id}/fragment-{index}",
            )
            report = range_report(spec, self._fragments[task.task_id])
            if report is not None and not report.fits:
                log.warning(
                    "task %d: my validation fragment does not fit the model's input: %s",
                    task.task_id,
                    report.describe(f"fragment {index}"),
                )
        return self._fragments[task.task_id]
