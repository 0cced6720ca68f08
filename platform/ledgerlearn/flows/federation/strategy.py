"""The federation flow's strategy (see :mod:`ledgerlearn.flows.base`)."""

from __future__ import annotations

from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.base import CommitteeDuty, FlowStrategy, Keeper, ProviderDuty
from ledgerlearn.flows.card import CardSection, Evaluate
from ledgerlearn.flows.federation.committee import RoundCommittee
from ledgerlearn.flows.federation.keeper import RoundKeeper
from ledgerlearn.flows.federation.provider import FederationProvider
from ledgerlearn.flows.federation.receipts import rounds_section
from ledgerlearn.flows.federation.results import round_result, verify_rounds
from ledgerlearn.flows.models import TaskModel, Verification
from ledgerlearn.flows.policy import Policy
from ledgerlearn.flows.ports import CommitteeMember, Member, ProviderAgent


class FederationFlow(FlowStrategy):
    """Synchronous rounds: each round's accepted updates are aggregated, proposed, attested."""

    flow = Flow.FEDERATION
    ends_itself = True

    def keeper(self, member: Member, task_id: int, *, close_at: int | None = None) -> Keeper:
        """A :class:`RoundKeeper` (a task closes after its last round: ``close_at`` is not
        used)."""
        return RoundKeeper(member, task_id)

    def closed_line(self, task: TaskRecord) -> str:
        final = task.final_model_hash
        cid = task.cid_of(final) if final is not None else None
        return f"task {task.task_id} closed; final model {cid or '(none)'}"

    # -- the agents' work --
    def committee(self, member: CommitteeMember) -> CommitteeDuty:
        """A :class:`RoundCommittee`: scores each round's updates, attests or proposes its
        aggregate, closes an overdue round."""
        return RoundCommittee(member)

    def provider(self, agent: ProviderAgent) -> ProviderDuty:
        """A :class:`FederationProvider`: one update per round while the round is open."""
        return FederationProvider(agent)

    # -- the learned model --
    def model(
        self,
        member: Member,
        task: TaskRecord,
        *,
        round: int | None = None,
        block: int | None = None,
    ) -> TaskModel:
        """Round ``round``'s result, by default the last round finalized (by ``block``)."""
        return round_result(member, task, round, block)

    def verify(
        self,
        member: Member,
        task: TaskRecord,
        *,
        round: int | None = None,
        block: int | None = None,
    ) -> list[Verification]:
        """Each finalized round's result (or round ``round``'s) recomputed from its accepted
        updates."""
        return verify_rounds(member, task, round, block)

    def card_section(
        self, task: TaskRecord, model: TaskModel | None, evaluate: Evaluate | None
    ) -> CardSection:
        """The rounds, with each round's receipt."""
        return rounds_section(task, model, evaluate)

    # -- what the gateway, the lab and the CLI show --
    work_unit = "round"

    def task_shape(self, policy: Policy, *, close_after: int | None) -> str:
        rounds = f"{policy.rounds} round" + ("" if policy.rounds == 1 else "s")
        return f"{rounds} of {policy.round_length} blocks (+{policy.score_window} to score)"

    def milestone(self, task: TaskRecord) -> object:
        """The current round."""
        return max(task.rounds, default=0)

    def progress(self, task: TaskRecord) -> str:
        return f"round {max(task.rounds, default=0)} of {task.params.max_rounds}"
