"""The committee's duty in the dag flow: how a member scores the updates of a dag task.

No rounds: each update has its own scoring deadline (its submission block plus the task's
score window). Each step the member takes the pending updates it has not scored yet, tries
once to fetch the new ones (short deadline, concurrently), and scores what it holds, the
earliest deadlines first and at most :data:`MAX_BATCH` per step (scoring a CNN on a large
fragment takes seconds: a long batch would see deadlines pass while it is computed). An update
whose content is still missing when half of its window has passed gets one last fetch under
the member's full deadline and is then scored unavailable, so a withheld update is decided in
time. Scores are kept until sent; before sending, the batch drops the updates whose deadline
passed meanwhile (one of them would revert the whole batch; the keeper settles them).

Scoring an update goes through the committee's one pipeline
(:func:`~ledgerlearn.flows.scoring.score_updates`): decode it against the task's spec
(safetensors only, names, shapes, finiteness), fetch its parents (accepted updates or the
initial weights, verified), merge them with the task's rule exactly as a provider does
without dampening (:func:`~ledgerlearn.flows.dag.updates.merge_models`), run the dag sanity checks
(:func:`~ledgerlearn.core.sanity.check_changes`) and evaluate on the member's fragment.
The score is the metric (absolute mode) or the metric minus the merge's metric on the same
fragment (relative and peer modes: in a dag task an update's peers are its parents, see
``ITaskRegistry``). All the step's scores go out in one transaction; a lying member's
behaviour decides what it reports, as in a federation round.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Sequence

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord, UpdateRecord
from ledgerlearn.core.rules import SCORE_INVALID, Status
from ledgerlearn.core.sanity import SanityVerdict, check_changes
from ledgerlearn.core.types import Vector, Weights
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.flows.dag.updates import HISTORY, merge_models, parents_reference
from ledgerlearn.flows.ports import CommitteeMember
from ledgerlearn.flows.scoring import ScoreRecord, dropped_reason, score_updates
from ledgerlearn.model.flatten import flatten
from ledgerlearn.training import METRICS_BY_ID, evaluate

log = logging.getLogger(__name__)

CACHE = 64
"""Parent models and merges kept decoded (parents are shared by many updates)."""
MAX_BATCH = 8
"""Most updates scored in one step (earliest deadlines first)."""
MAX_FETCHES = 16
"""Most new updates tried, and most late updates fetched under the full deadline, per step
(a provider flooding the task cannot make one step fetch without bound)."""
SEND_MARGIN = 2
"""Blocks a score must have before its update's deadline when the batch is sent (the
transaction is estimated, signed and mined a block or two later)."""


class DagCommittee:
    """A committee member's duty in dag tasks (the dag flow's
    :class:`~ledgerlearn.flows.base.CommitteeDuty`): one per member, for all its dag tasks."""

    def __init__(self, member: CommitteeMember) -> None:
        self.member = member
        self._content: dict[bytes, bytes | LedgerlearnError] = {}
        self._tried: set[bytes] = set()
        self._sent: set[bytes] = set()
        self._models: OrderedDict[bytes, Weights] = OrderedDict()
        self._merges: OrderedDict[tuple[bytes, ...], tuple[Weights, float]] = OrderedDict()
        self._sanity: dict[int, deque[Vector]] = {}  # task -> the sanity checks' context
        self._scores: dict[bytes, ScoreRecord] = {}  # computed, not sent yet

    def forget(self, task: TaskRecord) -> None:
        """Drop what was kept for ``task`` (closed: it never changes again)."""
        self.member.dropped["closed"] += sum(h in task.updates for h in self._scores)
        for cache in (self._content, self._scores):
            for h in [h for h in cache if h in task.updates]:
                del cache[h]
        self._tried.difference_update(task.updates)
        self._sent.difference_update(task.updates)
        self._sanity.pop(task.task_id, None)

    def step(self, task: TaskRecord) -> bool:
        """Score the task's updates that are due; True when scores were sent."""
        v = self.member
        p = v.participant
        me = p.address
        if me not in task.params.committee:
            return False
        next_block = p.head + 1
        due = [
            u
            for u in task.updates.values()
            if u.status is Status.PENDING
            and not u.judged_by(me)
            and u.update not in self._sent
            and task.may_score(u.update, next_block)
        ]
        due_set = {u.update for u in due}
        pending = {u.update for u in task.updates.values() if u.status is Status.PENDING}
        for h in [h for h in self._scores if h in task.updates and h not in due_set]:
            self.member.dropped[dropped_reason(task.updates[h].status)] += 1  # computed, unsent
        for cache in (self._content, self._scores):  # decided or past their deadline
            for h in [h for h in cache if h in task.updates and h not in due_set]:
                del cache[h]
        for marks in (self._tried, self._sent):  # only pending updates need remembering
            marks.intersection_update(pending | (marks - set(task.updates)))
        if not due:
            return False
        new = [u.update for u in due if u.update not in self._tried][:MAX_FETCHES]
        if new:
            self._tried.update(new)
            for h, outcome in v.fetch_updates(task, new, v.prefetch_timeout_s).items():
                if isinstance(outcome, bytes):
                    self._content[h] = outcome
        late = [
            u.update
            for u in due
            if u.update not in self._content
            and p.head >= task.scoring_deadlines(u.update).half_window
        ][:MAX_FETCHES]
        if late:
            self._content.update(v.fetch_updates(task, late, v.fetch_timeout_s))
        ready = [u for u in due if u.update in self._content or u.update in self._scores]
        ready.sort(key=lambda u: task.scoring_deadlines(u.update).close)  # earliest first
        ready = ready[:MAX_BATCH]
        if not ready:
            return False
        todo = [u for u in ready if u.update not in self._scores]
        if todo:
            self._scores.update(self.score(task, todo))
        block = p.client.block_number()  # scoring took time: drop what can no longer count
        ready = [u for u in ready if task.may_score(u.update, block + SEND_MARGIN)]
        if not ready:
            return False
        scores = {u.update: self._scores[u.update] for u in ready}
        reported = v.behaviour.report(
            {u.update: scores[u.update].score for u in ready},
            {u.update: u.provider for u in ready},
        )
        hashes = [u.update for u in ready]
        with p.stopwatch.measure("chain"):
            v.send_scores(task, hashes, [reported[h] for h in hashes])
        self._sent.update(hashes)
        v.scored.extend(scores[h] for h in hashes)
        for h in hashes:
            self._content.pop(h, None)
            self._scores.pop(h, None)
        log.info(
            "task %d: scored %d dag updates (%d invalid)",
            task.task_id,
            len(hashes),
            sum(scores[h].score == SCORE_INVALID for h in hashes),
        )
        return True

    def score(self, task: TaskRecord, updates: list[UpdateRecord]) -> dict[bytes, ScoreRecord]:
        """Scores of ``updates`` (their content fetched, or given up) on this member's
        fragment, each against the merge of its parents."""
        v = self.member
        p = v.participant
        spec = p.spec(task.task_id)
        fragment = v.fragment(task)
        metric = METRICS_BY_ID[int(task.params.metric)]
        records = {u.update: u for u in updates}
        contents = {u.update: self._content[u.update] for u in updates}

        def check(order: Sequence[bytes], vectors: Sequence[Vector]) -> list[SanityVerdict]:
            merges = [flatten(self._merge(task, records[u])[0], spec) for u in order]
            context = self._sanity.setdefault(task.task_id, deque(maxlen=HISTORY))
            verdicts, changes = check_changes(merges, vectors, context)
            context.extend(changes)
            return verdicts

        reference = parents_reference(
            task.params.threshold_mode, lambda u: self._merge(task, records[u])[1]
        )
        with p.stopwatch.measure("validation"):
            scoring = score_updates(
                spec, fragment, metric, reference, contents, check if v.sanity else None
            )
        return {
            u: ScoreRecord(task.task_id, u, s.score, s.reason, s.failure)
            for u, s in scoring.scores.items()
        }

    def _merge(self, task: TaskRecord, update: UpdateRecord) -> tuple[Weights, float]:
        """The merge of the update's parents and its metric on this member's fragment."""
        key = tuple(update.parents)
        if key in self._merges:
            self._merges.move_to_end(key)
            return self._merges[key]
        v = self.member
        p = v.participant
        spec = p.spec(task.task_id)
        models = [self._model(task, h) for h in update.parents]
        with p.stopwatch.measure("aggregation"):
            merge = merge_models(
                spec, models, RULE_NAMES[task.params.aggregation_rule], task.params.num_byzantine
            )
        with p.stopwatch.measure("validation"):
            metric = METRICS_BY_ID[int(task.params.metric)]
            value = evaluate(spec, merge, v.fragment(task), metric)
        self._merges[key] = (merge, value)
        if len(self._merges) > CACHE:
            self._merges.popitem(last=False)
        return merge, value

    def _model(self, task: TaskRecord, content_hash: bytes) -> Weights:
        if content_hash in self._models:
            self._models.move_to_end(content_hash)
            return self._models[content_hash]
        weights = self.member.participant.fetch_weights(task.task_id, content_hash)
        self._models[content_hash] = weights
        if len(self._models) > CACHE:
            self._models.popitem(last=False)
        return weights
