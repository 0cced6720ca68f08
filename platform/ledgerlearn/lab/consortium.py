"""The contracts of a run's cast; the demo's consortium: founded by some organisations, joined
by others by the council's vote.

:func:`found` deploys a council-governed consortium for a run's cast: the publisher, every
validator and every provider but the last of each are the founders (each with its one role);
the last validator and the last provider are then admitted by proposal, the founders' votes,
the timelock's delay and execution, exactly as a consortium admits a new organisation. The
deployer holds no power afterwards; on the devnet it mints the publisher test tokens for the
reward.

:func:`oversized` is the demo's second task: the same data and purpose, a model far over the
validators' size limit, which the drawn committee rejects at vetting. :func:`withdraw_rewards`
is every earner pulling its share once the task closed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from eth_account.signers.local import LocalAccount

from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
from ledgerlearn.chain.council import Council, ProposalState
from ledgerlearn.chain.deployment import Deployment, deploy
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.errors import ChainError
from ledgerlearn.lab.cast import Cast
from ledgerlearn.model.spec import ModelSpec

__all__ = [
    "PUBLISHER_TOKENS",
    "deploy_cast",
    "found",
    "latecomers",
    "oversized",
    "withdraw_rewards",
]

PUBLISHER_TOKENS = 10**24
"""Test tokens minted to the publisher on the devnet (10^6 tokens of 18 decimals)."""


def latecomers(cast: Cast) -> list[tuple[LocalAccount, str]]:
    """The organisations admitted by vote after the founding, with the role each asks for."""
    return [(cast.validators[-1], "VALIDATOR"), (cast.providers[-1], "PROVIDER")]


def found(
    chain: Chain,
    cast: Cast,
    *,
    by_vote: bool = True,
    say: Callable[[str], None] = lambda message: None,
) -> Deployment:
    """Deploy the cast's consortium; with ``by_vote`` the latecomers are admitted by the
    council (else every organisation is a founder). The chain must mine a block per
    transaction (the devnet before the demo sets its block time, or the in-process EVM).

    Raises
    ------
    ChainError
        If an admission did not pass and execute.
    """
    late = latecomers(cast) if by_vote else []
    joining = {account.address for account, _ in late}
    organisations = [
        (cast.publisher, "PUBLISHER"),
        *[(v, "VALIDATOR") for v in cast.validators],
        *[(p, "PROVIDER") for p in cast.providers],
    ]
    founders = [(a, role) for a, role in organisations if a.address not in joining]
    majority = len(founders) // 2 + 1
    voters = [a for a, _ in founders][: majority + 1]  # a majority for, the next one against
    settings = CouncilSettings(
        voting_delay_blocks=1,
        voting_period_blocks=max(20, len(late) * len(voters) + 5),  # a block per transaction
        timelock_delay_s=1,
        # a second a block and a score of agents on two cores: a member can be seconds behind
        # (CI saw all six validators miss a 5-block reveal window, and the draw expire the task)
        draw_commit_blocks=10,
        draw_reveal_blocks=10,
    )
    deployment = deploy_consortium(
        chain, cast.admin, [Founder(a.address, (role,)) for a, role in founders], settings
    )
    deployer = LedgerClient(chain, deployment, cast.admin)
    token = deployer.satellite("TestToken")
    deployer.transact(token.functions.mint(cast.publisher.address, PUBLISHER_TOKENS))
    say(f"consortium founded by {len(founders)} organisations; the deployer holds no power")
    if not late:
        return deployment
    chain.mine(1)  # the founders' votes are checkpointed before the proposals' snapshot

    councils: dict[str, Council] = {}  # one client per account: its nonces are its own

    def council(account: LocalAccount) -> Council:
        if account.address not in councils:
            councils[account.address] = Council(LedgerClient(chain, deployment, account))
        return councils[account.address]

    proposer = council(cast.publisher)
    proposals = [
        proposer.propose(
            proposer.admit(account.address, [role]),
            f"admit {cast.names[account.address]} ({account.address}) as a {role.lower()}",
        )
        for account, role in late
    ]
    chain.mine(settings.voting_delay_blocks + 1)
    for pid in proposals:
        for i, voter in enumerate(voters):
            if i < majority:
                council(voter).vote(pid, "for", "known to us; its role fits the consortium")
            else:
                council(voter).vote(pid, "against", "we have not worked with them before")
    chain.mine(settings.voting_period_blocks)
    for pid in proposals:
        proposer.advance(pid)  # queued in the timelock
    chain.advance_time(settings.timelock_delay_s + 1)
    for pid in proposals:
        proposer.advance(pid)
        state = proposer.proposal(pid).state
        if state is not ProposalState.EXECUTED:
            raise ChainError(f"proposal {pid} was not executed: it is {state.name.lower()}")
    say(f"{len(late)} organisations admitted by the council's vote")
    return deployment


def deploy_cast(
    chain: Chain,
    cast: Cast,
    *,
    consortium: bool,
    by_vote: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> Deployment:
    """The contracts and the roles of a run: a consortium (:func:`found`), or a laboratory
    deployment whose admin (the cast's) grants every role and keeps the power to."""
    if consortium:
        return found(chain, cast, by_vote=by_vote, say=say)
    deployment = deploy(chain, cast.admin, admin_delay_s=0)
    admin = LedgerClient(chain, deployment, cast.admin)
    admin.grant_role("PUBLISHER", cast.publisher.address)
    for v in cast.validators:
        admin.grant_role("VALIDATOR", v.address)
    for p in cast.providers:
        admin.grant_role("PROVIDER", p.address)
    return deployment


def oversized(spec: ModelSpec, parameters: int) -> ModelSpec:
    """A model for ``spec``'s data and purpose with more than ``parameters`` trainable
    parameters: its input flattened, one hidden layer wide enough, its classes."""
    features = math.prod(spec.input_shape)
    width = parameters // (features + spec.num_classes) + 1
    layers: Sequence[dict[str, object]] = [
        {"type": "Flatten"},
        {"type": "Linear", "in_features": features, "out_features": width},
        {"type": "ReLU"},
        {"type": "Linear", "in_features": width, "out_features": spec.num_classes},
    ]
    document = spec.model_dump(mode="json", exclude_none=True)
    document["layers"] = list(layers)
    return ModelSpec.from_dict(document)


def withdraw_rewards(
    chain: Chain, deployment: Deployment, accounts: Sequence[LocalAccount], task_id: int
) -> dict[str, int]:
    """Each of ``accounts`` withdraws what it is owed for ``task_id`` (pull payment);
    returns the amounts withdrawn by address (those owed nothing send nothing)."""
    paid: dict[str, int] = {}
    for account in accounts:
        amount = Rewards(LedgerClient(chain, deployment, account)).withdraw(task_id)
        if amount:
            paid[account.address] = amount
    return paid
