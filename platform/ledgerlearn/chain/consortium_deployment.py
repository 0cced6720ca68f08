"""Deploying a consortium governed by its council: no key holds power once it is deployed.

The deployer seeds the founding organisations and then holds nothing: the council's timelock
administers the Consortium (every role change is a council decision) and owns the membership
token (admitting or removing an organisation is one too). The ledger is deployed with its
satellites: the vetting contract (the validators' pool, drawn committees, vetting), the score
commitments contract (commit-reveal of scores) and the reward escrow. The satellites are deployed
first with the ledger's address, predicted from the deployer's nonce, and the ledger names them;
the deployment checks that each names the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from ledgerlearn.chain.artifacts import ContractName, load_artifact
from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.deployment import (
    ADMIN_TRANSFER_DELAY_S,
    Deployment,
    _deploy_one,
)
from ledgerlearn.chain.roles import role_id
from ledgerlearn.chain.transactor import Transactor
from ledgerlearn.errors import ChainError

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Founder:
    """A founding organisation: its account and the roles it starts with."""

    account: str
    roles: tuple[str, ...] = ()  # PUBLISHER, PROVIDER, VALIDATOR


@dataclass(frozen=True)
class CouncilSettings:
    """How the council decides and the consortium-wide vetting windows."""

    voting_delay_blocks: int = 1
    voting_period_blocks: int = 20
    timelock_delay_s: int = 60
    draw_commit_blocks: int = 5
    draw_reveal_blocks: int = 5
    vet_blocks: int = 30
    admin_transfer_delay_s: int = ADMIN_TRANSFER_DELAY_S


def create_address(sender: str, nonce: int) -> str:
    """The address a contract created by ``sender`` with ``nonce`` gets (CREATE)."""
    raw = keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:]
    return Web3.to_checksum_address(raw)


def deploy_consortium(
    chain: Chain,
    deployer: LocalAccount,
    founders: Sequence[Founder],
    settings: CouncilSettings | None = None,
    *,
    test_token: bool = True,
    swarm_key_hash: bytes = bytes(32),
) -> Deployment:
    """Deploy a council-governed consortium; returns where everything lives.

    ``swarm_key_hash`` is :attr:`~ledgerlearn.storage.swarm_key.SwarmKey.key_hash` of the key
    the founders' bundles carry (zero: not recorded), the swarm key's epoch 0.

    Raises
    ------
    ChainError
        No founder, or a satellite and the ledger that do not name each other.
    """
    if not founders:
        raise ChainError("a council needs at least one founding organisation")
    cfg = settings or CouncilSettings()
    sender = Transactor(chain, deployer)
    me = deployer.address
    timelock, first_block = _deploy_one(
        chain, sender, "CouncilTimelock", cfg.timelock_delay_s, [], [ZERO_ADDRESS], me
    )
    membership, _ = _deploy_one(
        chain, sender, "MembershipToken", timelock, [f.account for f in founders]
    )
    council, _ = _deploy_one(
        chain,
        sender,
        "Council",
        membership,
        timelock,
        cfg.voting_delay_blocks,
        cfg.voting_period_blocks,
    )
    lock = _contract(chain, "CouncilTimelock", timelock)
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
        sender.send(lock.functions.grantRole(lock.functions[role]().call(), council))
    sender.send(lock.functions.renounceRole(lock.functions.DEFAULT_ADMIN_ROLE().call(), me))
    grants = [(role_id(role), f.account) for f in founders for role in f.roles]
    consortium, _ = _deploy_one(
        chain, sender, "Consortium", cfg.admin_transfer_delay_s, timelock, grants
    )
    nonce = chain.w3.eth.get_transaction_count(me)
    ledger_at = create_address(me, nonce + 2)
    limits = (cfg.draw_commit_blocks, cfg.draw_reveal_blocks, cfg.vet_blocks)
    vetting, _ = _deploy_one(chain, sender, "TaskVetting", ledger_at, limits)
    commitments, _ = _deploy_one(chain, sender, "ScoreCommitments", ledger_at)
    ledger, _ = _deploy_one(chain, sender, "LearningLedger", consortium, vetting, commitments)
    if ledger != ledger_at:
        raise ChainError(f"the ledger was deployed at {ledger}, its satellites expect {ledger_at}")
    rewards, _ = _deploy_one(chain, sender, "RewardEscrow", ledger)
    token = _deploy_one(chain, sender, "TestToken", me)[0] if test_token else None
    swarm_keys, _ = _deploy_one(chain, sender, "SwarmKeys", consortium, swarm_key_hash)
    deployment = Deployment(
        chain_id=chain.chain_id,
        genesis_hash="0x" + chain.genesis_hash().hex(),
        consortium=consortium,
        ledger=ledger,
        block_number=first_block,
        vetting=vetting,
        score_commitments=commitments,
        rewards=rewards,
        reward_token=token,
        council=council,
        timelock=timelock,
        membership=membership,
        swarm_keys=swarm_keys,
    )
    _check_wiring(chain, deployment)
    return deployment


def _contract(chain: Chain, name: ContractName, address: str) -> Contract:
    return chain.w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact(name).abi
    )


def _check_wiring(chain: Chain, d: Deployment) -> None:
    """Each satellite names the ledger, the ledger names them, the timelock holds the power."""
    ledger = _contract(chain, "LearningLedger", d.ledger)
    assert d.vetting and d.score_commitments and d.timelock and d.membership and d.council
    assert d.swarm_keys
    pairs = [
        (ledger.functions.vetting().call(), d.vetting),
        (ledger.functions.scoreCommitments().call(), d.score_commitments),
        (_contract(chain, "TaskVetting", d.vetting).functions.ledger().call(), d.ledger),
        (
            _contract(chain, "ScoreCommitments", d.score_commitments).functions.ledger().call(),
            d.ledger,
        ),
        (_contract(chain, "Consortium", d.consortium).functions.defaultAdmin().call(), d.timelock),
        (_contract(chain, "MembershipToken", d.membership).functions.owner().call(), d.timelock),
        (_contract(chain, "SwarmKeys", d.swarm_keys).functions.consortium().call(), d.consortium),
    ]
    for got, expected in pairs:
        if Web3.to_checksum_address(got) != Web3.to_checksum_address(expected):
            raise ChainError(f"the deployment is miswired: {got} where {expected} was expected")
