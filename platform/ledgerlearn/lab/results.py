"""What a run produced, read back from the chain's events and IPFS — the same for a
simulation in one process and for the multi-process demo.

A :class:`RunResult` holds what every flow has (the updates with the committee's decisions,
where the time went) and the flow's own :class:`History`: a federation task's rounds
(:class:`RoundsHistory`, read by :func:`collect`) or a dag task's DAG
(:class:`~ledgerlearn.lab.dag_results.DagHistory`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ledgerlearn.agents.participant import Participant
from ledgerlearn.behaviours.backdoor import Backdoor, backdoor_accuracy
from ledgerlearn.chain.index import UpdateRecord
from ledgerlearn.core.rules import SCORE_INVALID, Flow, Status, from_fixed
from ledgerlearn.data import Dataset
from ledgerlearn.lab.consortium_results import ConsortiumRecord
from ledgerlearn.lab.round_timing import RoundTiming
from ledgerlearn.stopwatch import CATEGORIES, Stopwatch
from ledgerlearn.training import METRICS_BY_ID, evaluate

__all__ = [
    "History",
    "RoundRow",
    "RoundsHistory",
    "RunResult",
    "UpdateRow",
    "agent_seconds",
    "collect",
    "rounds_of",
    "update_row",
]


class History(Protocol):
    """A flow's own record of a finished task, next to the updates every flow has."""

    @property
    def flow(self) -> Flow:
        """The flow the task followed."""
        ...

    @property
    def final_metric(self) -> float | None:
        """Test metric of the flow's final model (None: no model beyond the initial one)."""
        ...

    def json_fields(self) -> dict[str, Any]:
        """The history's entries in ``result.json``, under the key the flow's reports have
        always used."""
        ...


@dataclass(frozen=True)
class UpdateRow:
    """One update: who sent it, how it behaved, what the committee decided."""

    round: int
    provider: str
    behaviour: str
    update: str  # content hash, hex
    cid: str
    status: str
    scores: dict[str, float | None]  # validator name -> score (None: invalid/unavailable)


@dataclass(frozen=True)
class RoundRow:
    """One federation round."""

    round: int
    submitted: int
    accepted: int
    rejected: int
    test_metric: float  # of the round's resulting global model
    result_hash: str
    result_cid: str
    attesters: int
    gas_used: int = 0  # every transaction mined after the round started, up to its finalization
    proposals: int = 1  # aggregates proposed for the round (a wrong one is never attested)
    finalized_block: int | None = None
    backdoor_success: float | None = None
    """With a backdoor attacker in the run: the share of triggered test inputs (of other
    classes) the round's global model puts in the attacker's target class."""


@dataclass
class RoundsHistory:
    """A federation task's finalized rounds, in order."""

    flow: ClassVar[Flow] = Flow.FEDERATION
    rounds: list[RoundRow] = field(default_factory=list)

    @property
    def final_metric(self) -> float | None:
        """Test metric of the last round's global model."""
        return self.rounds[-1].test_metric if self.rounds else None

    def json_fields(self) -> dict[str, Any]:
        """``rounds``: every round's row."""
        return {"rounds": [dataclasses.asdict(row) for row in self.rounds]}


@dataclass
class RunResult:
    """A finished task, as the chain records it."""

    task_id: int
    metric: str
    initial_metric: float
    history: History
    """The flow's own record: the rounds, or the DAG with its consensus model over time."""
    updates: list[UpdateRow] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    agent_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per role (publisher, validators, providers): seconds per stopwatch category, summed
    over the role's agents."""
    published_block: int = 0
    round_timings: list[RoundTiming] = field(default_factory=list)
    """Per finalized round, where its wall time went (multi-process runs only: a simulation's
    blocks are not wall-clock time)."""
    background_load: str | None = None
    """How loaded the machine was by a CPU hog run next to the agents (None: no hog)."""
    consortium: ConsortiumRecord | None = None
    """A consortium run's governance: the council's decisions, the draw and vetting, the
    reputation table, the reward's split (None: a laboratory deployment)."""

    @property
    def final_metric(self) -> float:
        """Test metric of the flow's final model (the last round's global model, the final
        consensus model of a DAG); the initial model's when there is none."""
        final = self.history.final_metric
        return self.initial_metric if final is None else final

    def as_json(self) -> dict[str, Any]:
        """What ``result.json`` holds: the fields in the layout the reports have always
        written (``rounds`` and ``dag`` both present, the one the flow does not have empty),
        plus the final metric."""
        raw: dict[str, Any] = {
            "task_id": self.task_id,
            "metric": self.metric,
            "initial_metric": self.initial_metric,
            "rounds": [],
            "updates": [dataclasses.asdict(row) for row in self.updates],
            "timings": dict(self.timings),
            "agent_seconds": {role: dict(s) for role, s in self.agent_seconds.items()},
            "published_block": self.published_block,
            "dag": None,
            "round_timings": [dataclasses.asdict(t) for t in self.round_timings],
            "background_load": self.background_load,
            "consortium": self.consortium.as_json() if self.consortium is not None else None,
        }
        raw.update(self.history.json_fields())
        raw["final_metric"] = self.final_metric
        return raw


def rounds_of(result: RunResult) -> list[RoundRow]:
    """The finalized rounds of a federation run.

    Raises
    ------
    ValueError
        If ``result`` is not a federation run.
    """
    if not isinstance(result.history, RoundsHistory):
        raise ValueError(f"task {result.task_id} is not a federation run (no rounds in the result)")
    return result.history.rounds


def update_row(
    record: UpdateRecord, names: dict[str, str], behaviours: dict[str, str], *, round: int
) -> UpdateRow:
    """An update as the report shows it: display names, behaviour, scores as floats.

    Parameters
    ----------
    record
        The update as the chain's events describe it.
    names, behaviours
        Display name and behaviour of each account (providers and validators).
    round
        The round it was sent in (dag: its submission block).
    """
    return UpdateRow(
        round=round,
        provider=names.get(record.provider, record.provider),
        behaviour=behaviours.get(record.provider, "?"),
        update="0x" + record.update.hex(),
        cid=record.cid,
        status=record.status.name.lower(),
        scores={
            names.get(v, v): None if s == SCORE_INVALID else from_fixed(s)
            for v, s in record.scores.items()
        },
    )


def collect(
    participant: Participant,
    task_id: int,
    test: Dataset,
    names: dict[str, str],
    behaviours: dict[str, str],
) -> RunResult:
    """Read a federation task's history and evaluate each round's global model on ``test``.

    Parameters
    ----------
    participant
        Any participant (read access to the chain and IPFS), synced.
    names, behaviours
        Display name and behaviour of each account (providers and validators).
    """
    task = participant.task(task_id)
    spec = participant.spec(task_id)
    metric = METRICS_BY_ID[int(task.params.metric)]
    initial = participant.fetch_weights(task_id, task.params.initial_weights_hash)
    history = RoundsHistory()
    result = RunResult(task_id, metric.name, evaluate(spec, initial, test, metric), history)
    result.published_block = task.published_block
    backdoor = Backdoor.name in behaviours.values()
    for number in sorted(task.rounds):
        record = task.rounds[number]
        for u in record.updates:
            result.updates.append(update_row(task.updates[u], names, behaviours, round=number))
        if record.result_hash is None:
            continue
        model = participant.fetch_weights(task_id, record.result_hash)
        proposal = record.proposals.get(record.result_hash)
        w3 = participant.client.chain.w3
        last = record.finalized_block if record.finalized_block is not None else record.start_block
        gas = sum(
            int(w3.eth.get_block(n)["gasUsed"]) for n in range(record.start_block + 1, last + 1)
        )
        history.rounds.append(
            RoundRow(
                round=number,
                submitted=len(record.updates),
                accepted=sum(task.updates[u].status is Status.ACCEPTED for u in record.updates),
                rejected=sum(task.updates[u].status is Status.REJECTED for u in record.updates),
                test_metric=evaluate(spec, model, test, metric),
                result_hash="0x" + record.result_hash.hex(),
                result_cid=task.cid_of(record.result_hash) or "",
                attesters=len(proposal.attesters) if proposal else 0,
                gas_used=gas,
                proposals=len(record.proposals),
                finalized_block=record.finalized_block,
                backdoor_success=backdoor_accuracy(spec, model, test) if backdoor else None,
            )
        )
    return result


def agent_seconds(roles: dict[str, list[Stopwatch]]) -> dict[str, dict[str, float]]:
    """Seconds per category summed per role, plus an ``all`` row."""
    table: dict[str, dict[str, float]] = {}
    total = Stopwatch()
    for role, watches in roles.items():
        combined = Stopwatch()
        for watch in watches:
            combined.add(watch)
        total.add(combined)
        table[role] = {c: combined.seconds[c] for c in CATEGORIES}
    table["all"] = {c: total.seconds[c] for c in CATEGORIES}
    return table
