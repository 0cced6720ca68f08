"""What the agent commands print while their agent runs: each event of the task once.

A watch is called after every sync of the agent with the chain (``on_sync``) and prints what
it sees for the first time: a round opening, an update decided, an aggregate attested.
Which watch a task gets follows its flow's capabilities: round by round for a flow in rounds
(:attr:`~ledgerlearn.flows.base.FlowStrategy.has_rounds`), update by update otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from rich.markup import escape

from ledgerlearn.cli.common import console, short

if TYPE_CHECKING:
    from rich.progress import TaskID

    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.chain.index import TaskRecord
    from ledgerlearn.flows.base import FlowStrategy
    from ledgerlearn.flows.scoring import ScoreRecord
    from ledgerlearn.training import TrainingProgress


def publisher_watch(
    strategy: FlowStrategy, participant: Participant, task_id: int
) -> Callable[[], None]:
    """What ``publish`` prints while it keeps a task: each round's opening, proposal and
    finalization, or each update's decision."""
    if strategy.has_rounds:
        return PublisherWatch(participant, task_id)
    return DagWatch(participant, task_id)


def provider_watch(
    strategy: FlowStrategy, participant: Participant, task_id: int
) -> Callable[[], None]:
    """What ``provider run`` prints about its own updates: round by round, or each update's
    submission and decision."""
    if strategy.has_rounds:
        return ProviderWatch(participant, task_id)
    return DagWatch(participant, task_id, only=participant.address)


def closed_line(participant: Participant, task_id: int) -> str:
    """The closed task's outcome, in its flow's words."""
    from ledgerlearn.flows.registry import FLOWS

    task = participant.task(task_id)
    return FLOWS[task.flow].closed_line(task)


# --- rounds -----------------------------------------------------------------------------------


class PublisherWatch:
    """Prints each round's opening, proposal and finalization once."""

    def __init__(self, participant: Participant, task_id: int) -> None:
        self.participant = participant
        self.task_id = task_id
        self.seen: set[tuple[int, str]] = set()

    def _once(self, number: int, what: str, line: str) -> None:
        if (number, what) not in self.seen:
            self.seen.add((number, what))
            console.print(line)

    def __call__(self) -> None:
        task = self.participant.task(self.task_id)
        for number, record in sorted(task.rounds.items()):
            self._once(number, "open", round_opening(task, number))
            for proposal in record.proposals.values():
                self._once(
                    number,
                    "proposed",
                    f"round {number}: aggregate of {len(proposal.updates)} accepted updates "
                    f"proposed ({proposal.cid})",
                )
            if record.result_hash is not None:
                accepted, submitted = len(record.accepted), len(record.updates)
                self._once(
                    number,
                    "final",
                    f"round {number}: finalized, {accepted} of {submitted} updates accepted; "
                    f"model {task.cid_of(record.result_hash)}",
                )


def round_opening(task: TaskRecord, number: int) -> str:
    """When a round's submissions and scores close, as the contract computes them: the window
    held open for ``min_updates``, the scoring extension of updates short of a quorum."""
    d = task.round_deadlines(number)
    p = task.params
    if d.waiting:
        line = (
            f"round {number}: open for updates until block {d.base_close}, up to block "
            f"{d.submissions_close} while fewer than {p.min_updates} arrived; scores until "
            f"{p.score_window} blocks after"
        )
    else:
        line = (
            f"round {number}: open for updates until block {d.submissions_close}, "
            f"scores until block {d.scoring_close}"
        )
    if p.score_extension:
        line += f" (+{p.score_extension} for updates short of a quorum)"
    return line


def submissions_closed(task: TaskRecord, number: int, head: int) -> bool:
    """Whether round ``number`` refuses a submission sent now (mined in the next block)."""
    return head + 1 >= task.round_deadlines(number).submissions_close


class ProviderWatch:
    """Prints what happens to this provider's updates and the task's rounds, once each."""

    def __init__(self, participant: Participant, task_id: int) -> None:
        self.participant = participant
        self.task_id = task_id
        self.seen: set[tuple[object, ...]] = set()

    def _once(self, key: tuple[object, ...], line: str) -> None:
        if key not in self.seen:
            self.seen.add(key)
            console.print(line)

    def __call__(self) -> None:
        from ledgerlearn.core.rules import Status

        p = self.participant
        task = p.task(self.task_id)
        me = p.address
        if me in task.providers:
            self._once(("joined",), f"task {self.task_id}: joined")
        mine = {u.round: u for u in task.updates.values() if u.provider == me}
        for number, record in sorted(task.rounds.items()):
            update = mine.get(number)
            if update is not None:
                self._once(
                    (number, "submitted"),
                    f"round {number}: submitted {update.cid} ({update.num_samples} samples)",
                )
                if update.status in (Status.ACCEPTED, Status.REJECTED):
                    self._once(
                        (number, "decided"),
                        f"round {number}: update {update.status.name.lower()} "
                        f"({len(update.scores)} scores)",
                    )
            elif record.result_hash is None and submissions_closed(task, number, p.head):
                more = "; waiting for the next round" if number < task.params.max_rounds else ""
                self._once(
                    (number, "missed"),
                    f"round {number}: submissions closed before an update was ready{more}",
                )
            if record.result_hash is not None:
                self._once(
                    (number, "final"),
                    f"round {number}: finalized ({len(record.accepted)} of "
                    f"{len(record.updates)} updates accepted)",
                )


# --- update by update -------------------------------------------------------------------------


class DagWatch:
    """Prints each decision of a dag task once, with the committee's score and the tips;
    ``only``: a provider's own updates, with their submissions."""

    def __init__(self, participant: Participant, task_id: int, only: str | None = None) -> None:
        self.participant = participant
        self.task_id = task_id
        self.only = only
        self.seen: set[tuple[bytes, str]] = set()

    def __call__(self) -> None:
        from ledgerlearn.core.rules import SCORE_INVALID, Status, from_fixed

        task = self.participant.task(self.task_id)
        for update in task.updates.values():
            if self.only is not None and update.provider != self.only:
                continue
            who = "" if self.only is not None else f" from {update.provider}"
            if (update.update, "submitted") not in self.seen:
                self.seen.add((update.update, "submitted"))
                if self.only is not None:
                    console.print(
                        f"submitted {short(update.update)} on {len(update.parents)} parent(s) "
                        f"({update.cid})"
                    )
            if update.status not in (Status.ACCEPTED, Status.REJECTED):
                continue
            if (update.update, "decided") in self.seen:
                continue
            self.seen.add((update.update, "decided"))
            score = update.committee_score
            shown = (
                "invalid"
                if score is None or score == SCORE_INVALID
                else f"{from_fixed(score):+.4f}"
            )
            console.print(
                f"update {short(update.update)}{who} {update.status.name.lower()} "
                f"(committee score {shown}); {len(task.tips())} tip(s)"
            )


# --- local training ---------------------------------------------------------------------------


class TrainingDisplay:
    """A progress bar of local training on a terminal; a line per epoch otherwise.

    ``unit``: what the provider trains for, in its flow's words
    (:attr:`~ledgerlearn.flows.base.FlowStrategy.work_unit`), numbered while the task has
    rounds."""

    def __init__(self, participant: Participant, task_id: int, unit: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.participant = participant
        self.task_id = task_id
        self.unit = unit
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            console=console,
            transient=True,
        )
        self.bar: TaskID | None = None

    def __enter__(self) -> TrainingDisplay:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.progress.stop()

    def __call__(self, p: TrainingProgress) -> None:
        rounds = self.participant.task(self.task_id).rounds
        what = f"{self.unit} {max(rounds)}" if rounds else self.unit
        if not self.live:
            if p.end_of_epoch:
                console.print(f"{what}: epoch {p.epoch}/{p.epochs}, loss {p.epoch_loss:.4f}")
            return
        total = p.epochs * p.batches
        done = (p.epoch - 1) * p.batches + p.batch
        if p.epoch == 1 and p.batch == 1:
            if self.bar is not None:
                self.progress.remove_task(self.bar)
            self.bar = self.progress.add_task(what, total=total, loss=0.0)
        assert self.bar is not None
        self.progress.update(
            self.bar,
            completed=done,
            loss=p.epoch_loss,
            description=f"{what} epoch {p.epoch}/{p.epochs}",
        )
        if done == total:
            self.progress.remove_task(self.bar)
            self.bar = None


# --- the committee ----------------------------------------------------------------------------


class ValidatorWatch:
    """Prints each score this validator computed, each update the other members decided
    before its score, each attestation it sent and each of its tasks closing, once. What the
    chain already showed when the watch began (a restart: the committee's history) is not news
    and is not printed."""

    def __init__(self, participant: Participant, scored: list[ScoreRecord]) -> None:
        self.participant = participant
        self.scored = scored
        self.printed = len(scored)
        self.passed: set[bytes] = set()
        self.attested: set[tuple[int, int]] = set()
        self.closed: set[int] = set()
        for _ in self._news():  # the history as the synced index holds it: seen
            pass

    def open_tasks(self) -> int:
        """How many open tasks have this validator on their committee."""
        me = self.participant.address
        return sum(
            1
            for task in self.participant.index.tasks.values()
            if me in task.params.committee and not task.closed
        )

    def _where(self, task_id: int, update: bytes) -> tuple[str, str]:
        """(the task and the update's round if it has one, who submitted it)."""
        task = self.participant.index.tasks.get(task_id)
        record = task.updates.get(update) if task is not None else None
        if record is None:
            return f"task {task_id}", ""
        where = (
            f"task {task_id}" if record.round is None else f"task {task_id} round {record.round}"
        )
        return where, f" from {record.provider}"

    def scores(self) -> None:
        """One line per new :class:`~ledgerlearn.flows.scoring.ScoreRecord`."""
        from ledgerlearn.core.rules import SCORE_INVALID, from_fixed

        for record in self.scored[self.printed :]:
            where, origin = self._where(record.task_id, record.update)
            value = (
                f"invalid ({record.reason})"
                if record.score == SCORE_INVALID
                else f"{from_fixed(record.score):+.4f}"
                + (f" ({record.reason})" if record.reason else "")
            )
            console.print(f"{where}: scored {short(record.update)}{origin}: {escape(value)}")
        self.printed = len(self.scored)

    def _news(self) -> Iterator[str]:
        """A line for each decision made without this member's score, each attestation of its
        own and each of its tasks closed, not seen yet (each marked seen as it is yielded)."""
        from ledgerlearn.core.rules import Status

        me = self.participant.address
        mine = {record.update for record in self.scored}
        for task in self.participant.index.tasks.values():
            if me not in task.params.committee:
                continue
            for update in task.updates.values():
                decided = update.status in (Status.ACCEPTED, Status.REJECTED)
                if not decided or me in update.scores or update.update in mine | self.passed:
                    continue
                self.passed.add(update.update)
                where, origin = self._where(task.task_id, update.update)
                yield (
                    f"{where}: {short(update.update)}{origin} was "
                    f"{update.status.name.lower()} by the other members before my score"
                )
            for number, record in task.rounds.items():
                for proposal in record.proposals.values():
                    if me in proposal.attesters and (task.task_id, number) not in self.attested:
                        self.attested.add((task.task_id, number))
                        where = f"task {task.task_id} round {number}"
                        yield f"{where}: attested aggregate {proposal.cid}"
            if task.closed and task.task_id not in self.closed:
                self.closed.add(task.task_id)
                yield f"task {task.task_id} closed"

    def __call__(self) -> None:
        self.scores()
        for line in self._news():
            console.print(line)
