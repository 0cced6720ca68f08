"""The consortium's governance, read from the chain: the council and its proposals, each task's
draw and vetting, reputation, rewards. A laboratory deployment has no council: 404."""

from __future__ import annotations

import statistics

from fastapi import APIRouter

from ledgerlearn.chain.council import Council
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.errors import ChainError
from ledgerlearn.flows.reputation import Reputation, reputation
from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.models import (
    CouncilActionView,
    CouncilProposalView,
    CouncilView,
    Page,
    ProviderReputationView,
    ReputationView,
    RewardShareView,
    RewardView,
    ValidatorReputationView,
    VettingView,
    VoteView,
)
from ledgerlearn_gateway.routes.common import GatewayDep, Limit, Offset, TaskId, task_or_404
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(tags=["governance"], route_class=StrictRoute)


def _council(gateway: Gateway) -> Council:
    if not gateway.deployment.governed:
        raise ApiError(404, "this is a laboratory deployment: no council governs it")
    return Council(gateway.client)


def _proposal(council: Council, proposal_id: int) -> CouncilProposalView:
    p = council.proposal(proposal_id)
    return CouncilProposalView(
        proposal_id=p.proposal_id,
        proposer=p.proposer or None,
        description=p.description,
        state=p.state.name.lower(),
        votes_for=p.votes_for,
        votes_against=p.votes_against,
        votes_abstain=p.votes_abstain,
        quorum=p.quorum,
        snapshot_block=p.snapshot_block,
        deadline_block=p.deadline_block,
        eta=p.eta,
        actions=[CouncilActionView(target=a.target, summary=a.summary) for a in p.actions],
    )


@router.get("/council", response_model=CouncilView, responses=error_responses(404))
def get_council(gateway: GatewayDep) -> CouncilView:
    """The member organisations, how the council decides, and its addresses."""
    council = _council(gateway)
    d = gateway.deployment
    settings = council.settings()
    assert d.council and d.timelock and d.membership
    return CouncilView(
        members=council.members(),
        voting_delay_blocks=settings["voting_delay_blocks"],
        voting_period_blocks=settings["voting_period_blocks"],
        timelock_delay_s=settings["timelock_delay_s"],
        council=d.council,
        timelock=d.timelock,
        membership=d.membership,
        proposals=council.count(),
    )


@router.get(
    "/council/proposals",
    response_model=Page[CouncilProposalView],
    responses=error_responses(404, 422),
)
def list_proposals(
    gateway: GatewayDep, offset: Offset = 0, limit: Limit = 50
) -> Page[CouncilProposalView]:
    """The council's proposals, newest first, with their votes and actions in words."""
    council = _council(gateway)
    ids = list(range(council.count(), 0, -1))
    chosen = ids[offset : offset + limit]
    items = [_proposal(council, i) for i in chosen]
    return Page(items=items, total=len(ids), offset=offset, limit=limit)


@router.get(
    "/council/proposals/{proposal_id}",
    response_model=CouncilProposalView,
    responses=error_responses(404, 422),
)
def get_proposal(gateway: GatewayDep, proposal_id: TaskId) -> CouncilProposalView:
    """One proposal."""
    council = _council(gateway)
    try:
        return _proposal(council, proposal_id)
    except ChainError as exc:
        raise ApiError(404, str(exc)) from None


@router.get(
    "/tasks/{task_id}/vetting", response_model=VettingView, responses=error_responses(404, 422)
)
def get_vetting(gateway: GatewayDep, task_id: TaskId) -> VettingView:
    """A task's committee draw (seeds, eligible members, the committee) and its vetting votes
    with their reasons."""
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        v = task.vetting
        return VettingView(
            task_id=task_id,
            stage=task.stage.name.lower(),
            draw_size=task.params.draw_size,
            seeds_committed=list(v.seeds_committed),
            seeds_revealed=list(v.seeds_revealed),
            withheld=v.withheld,
            seed="0x" + v.seed.hex() if v.seed else None,
            eligible=list(v.eligible),
            committee=list(task.params.committee),
            drawn_block=v.drawn_block,
            votes=[
                VoteView(
                    member=m, approve=vote.approve, reason=vote.reason, block=vote.block_number
                )
                for m, vote in v.votes.items()
            ],
            outcome=v.outcome.name.lower() if v.outcome else None,
        )


def _reputation_view(table: Reputation) -> ReputationView:
    return ReputationView(
        providers=[
            ProviderReputationView(
                account=p.account,
                accepted=p.accepted,
                rejected=p.rejected,
                expired=p.expired,
                acceptance=p.acceptance,
                median_verdict=statistics.median(p.verdicts) if p.verdicts else None,
                excluded_from=p.excluded_from,
            )
            for p in table.providers.values()
        ],
        validators=[
            ValidatorReputationView(
                account=v.account,
                scored=v.scored,
                agreed=v.agreed,
                agreement=v.agreement,
                missed=v.missed,
                late=v.late,
                unrevealed=v.unrevealed,
                votes=v.votes,
            )
            for v in table.validators.values()
        ],
    )


@router.get("/reputation", response_model=ReputationView)
def get_reputation(gateway: GatewayDep) -> ReputationView:
    """Every provider's and validator's record over all tasks, from the chain's events."""
    with gateway.lock:
        return _reputation_view(reputation(gateway.index.tasks.values()))


@router.get(
    "/tasks/{task_id}/reputation",
    response_model=ReputationView,
    responses=error_responses(404, 422),
)
def get_task_reputation(gateway: GatewayDep, task_id: TaskId) -> ReputationView:
    """The providers' and validators' records in one task."""
    with gateway.lock:
        return _reputation_view(reputation([task_or_404(gateway, task_id)]))


@router.get(
    "/tasks/{task_id}/rewards", response_model=RewardView, responses=error_responses(404, 422)
)
def get_rewards(gateway: GatewayDep, task_id: TaskId) -> RewardView:
    """A task's escrowed reward: the split so far, withdrawn and still owed per account."""
    if gateway.deployment.rewards is None:
        raise ApiError(404, "this deployment has no reward escrow")
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        reward = task.reward
        accounts = list(dict.fromkeys([*task.providers, *task.params.committee]))
        withdrawn = dict(reward.withdrawn) if reward else {}
        refunded = reward.refunded if reward else 0
    if reward is None:
        raise ApiError(404, f"task {task_id} has no reward escrowed")
    rewards = Rewards(gateway.client)
    escrow = rewards.escrow(task_id)
    shares = [
        RewardShareView(account=a, withdrawn=withdrawn.get(a, 0), owed=rewards.owed(task_id, a))
        for a in accounts
    ]
    return RewardView(
        task_id=task_id,
        token=escrow.token,
        amount=escrow.amount,
        provider_share_bps=escrow.provider_share_bps,
        paid=escrow.paid,
        refunded=refunded,
        shares=shares,
    )
