"""What a run produced, read back from the chain's events and IPFS — the same for a
simulation in one process and for the multi-process demo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledgerlearn.agents.participant import Participant
from ledgerlearn.behaviours.backdoor import Backdoor, backdoor_accuracy
from ledgerlearn.core.rules import SCORE_INVALID, Status, from_fixed
from ledgerlearn.data import Dataset
from ledgerlearn.lab.round_timing import RoundTiming
from ledgerlearn.stopwatch import CATEGORIES, Stopwatch
from ledgerlearn.training import METRICS_BY_ID, evaluate

if TYPE_CHECKING:
    from ledgerlearn.lab.dag_results import DagHistory


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
class RunResult:
    """A finished task, as the chain records it."""

    task_id: int
    metric: str
    initial_metric: float
    rounds: list[RoundRow] = field(default_factory=list)
    updates: list[UpdateRow] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    agent_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per role (publisher, validators, providers): seconds per stopwatch category, summed
    over the role's agents."""
    published_block: int = 0
    dag: DagHistory | None = None
    """A dag task's DAG, tips and consensus curve (None for a federation task)."""
    round_timings: list[RoundTiming] = field(default_factory=list)
    """Per finalized round, where its wall time went (multi-process runs only: a simulation's
    blocks are not wall-clock time)."""
    background_load: str | None = None
    """How loaded the machine was by a CPU hog run next to the agents (None: no hog)."""

    @property
    def final_metric(self) -> float:
        """Test metric of the final global model (dag: the final consensus model)."""
        if self.dag is not None:
            final = self.dag.final
            return final.metric if final is not None else self.initial_metric
        return self.rounds[-1].test_metric if self.rounds else self.initial_metric


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
    result = RunResult(task_id, metric.name, evaluate(spec, initial, test, metric))
    result.published_block = task.published_block
    backdoor = Backdoor.name in behaviours.values()
    for number in sorted(task.rounds):
        record = task.rounds[number]
        for u in record.updates:
            info = task.updates[u]
            result.updates.append(
                UpdateRow(
                    round=number,
                    provider=names.get(info.provider, info.provider),
                    behaviour=behaviours.get(info.provider, "?"),
                    update="0x" + u.hex(),
                    cid=info.cid,
                    status=info.status.name.lower(),
                    scores={
                        names.get(v, v): None if s == SCORE_INVALID else from_fixed(s)
                        for v, s in info.scores.items()
                    },
                )
            )
        if record.result_hash is None:
            continue
        model = participant.fetch_weights(task_id, record.result_hash)
        proposal = record.proposals.get(record.result_hash)
        w3 = participant.client.chain.w3
        last = record.finalized_block if record.finalized_block is not None else record.start_block
        gas = sum(
            int(w3.eth.get_block(n)["gasUsed"]) for n in range(record.start_block + 1, last + 1)
        )
        result.rounds.append(
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
