"""The consortium's governance, read from the chain: the council and its proposals, each task's
draw and vetting, reputation, rewards. A laboratory deployment has no council: 404."""

from __future__ import annotations

import statistics

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ledgerlearn.chain.council import Council
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.chain.vetting import Vetting
from ledgerlearn.core.rules import Stage
from ledgerlearn.errors import ChainError, ContractError
from ledgerlearn.flows.reputation import Reputation, reputation
from ledgerlearn_gateway.auth import (
    ROLE_EXTRA,
    address_scheme,
    nonce_scheme,
    signature_scheme,
    signer_of,
    timestamp_scheme,
)
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
    VoteIn,
    VoteView,
)
from ledgerlearn_gateway.routes.common import GatewayDep, Limit, Offset, TaskId, task_or_404
from ledgerlearn_gateway.signing import recover_signer
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


@router.post(
    "/tasks/{task_id}/vetting/votes",
    response_model=VoteView,
    status_code=201,
    openapi_extra={ROLE_EXTRA: "VALIDATOR"},
    dependencies=[
        Depends(address_scheme),
        Depends(timestamp_scheme),
        Depends(nonce_scheme),
        Depends(signature_scheme),
    ],
    responses=error_responses(401, 403, 404, 409, 413, 422, 503),
)
async def post_vote(
    request: Request, gateway: GatewayDep, task_id: TaskId, body: VoteIn
) -> JSONResponse:
    """A drawn member's vetting vote, relayed by the gateway (which pays the gas; the vote is
    the member's, by its EIP-712 signature, see ``VoteIn``). 201 once mined. Signed by the
    member."""
    member = signer_of(request)
    if gateway.relayer is None:
        raise ApiError(503, "this gateway has no relayer key: it cannot relay votes")
    if gateway.deployment.vetting is None:
        raise ApiError(404, "this is a laboratory deployment: its tasks are not vetted")
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        stage, closed = task.stage, task.closed
        committee, voted = list(task.params.committee), member in task.vetting.votes
    if stage is not Stage.VETTING or closed:
        raise ApiError(
            409, f"task {task_id} is {stage.name.lower()}: votes are cast while it is vetted"
        )
    if member not in committee:
        raise ApiError(403, f"{member} is not on task {task_id}'s drawn committee")
    if voted:
        raise ApiError(409, f"{member} voted on task {task_id} already")
    vetting = Vetting(gateway.client)
    typed = vetting.vote_typed_data(task_id, body.approve, body.reason, member, body.deadline)
    try:
        recovered = recover_signer(typed, bytes.fromhex(body.signature[2:]))
    except ValueError as exc:
        raise ApiError(422, f"signature: {exc}", field="signature") from exc
    if recovered != member:
        raise ApiError(
            422,
            f"signature: it recovers {recovered}, not the member {member} (signed another "
            "vote, reason or deadline, another chain or another contract?)",
            field="signature",
        )

    def relay() -> int:
        receipt = vetting.vote_for(
            task_id,
            body.approve,
            body.reason,
            member,
            body.deadline,
            bytes.fromhex(body.signature[2:]),
        )
        return int(receipt["blockNumber"])

    try:
        block = await anyio.to_thread.run_sync(relay)
    except ContractError as exc:
        raise ApiError(409, f"the contract refuses the vote: {exc}") from exc
    except ChainError as exc:
        raise ApiError(
            503,
            f"the chain node cannot take the vote now ({type(exc).__name__}); retry",
            headers={"Retry-After": "5"},
        ) from exc
    view = VoteView(member=member, approve=body.approve, reason=body.reason, block=block)
    return JSONResponse(view.model_dump(mode="json"), status_code=201)


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
        max_disagreement_bps=escrow.max_disagreement_bps,
        paid=escrow.paid,
        refunded=refunded,
        shares=shares,
    )
