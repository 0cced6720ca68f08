"""A consortium governed by its council, through the Python client, on both backends (J1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.chain import contract_errors as ce
from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
from ledgerlearn.chain.council import Council, ProposalState
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.errors import ChainError

ETHER = 10**18
SETTINGS = CouncilSettings(voting_delay_blocks=1, voting_period_blocks=5, timelock_delay_s=60)


@dataclass
class Governed:
    chain: Chain
    deployment: Deployment
    deployer: LocalAccount
    founders: list[LocalAccount]
    candidate: LocalAccount

    def council(self, account: LocalAccount) -> Council:
        return Council(LedgerClient(self.chain, self.deployment, account))


@pytest.fixture
def governed(chain: Chain) -> Governed:
    accounts = [Account.create() for _ in range(5)]
    for account in accounts:
        chain.fund(account.address, 100 * ETHER)
    deployer, founders, candidate = accounts[0], accounts[1:4], accounts[4]
    roles = [("PUBLISHER",), ("VALIDATOR",), ("VALIDATOR", "PROVIDER")]
    deployment = deploy_consortium(
        chain,
        deployer,
        [Founder(f.address, r) for f, r in zip(founders, roles, strict=True)],
        SETTINGS,
    )
    chain.mine(1)  # the founders' votes are checkpointed before the first proposal's snapshot
    return Governed(chain, deployment, deployer, founders, candidate)


def test_the_deployer_holds_no_power_and_the_founders_their_roles(
    governed: Governed, tmp_path: Path
) -> None:
    d = governed.deployment
    client = LedgerClient(governed.chain, d, governed.deployer)
    assert d.governed and d.vetting and d.score_commitments and d.rewards
    assert client.read(client.consortium.functions.defaultAdmin()) == d.timelock
    for role in ("PUBLISHER", "PROVIDER", "VALIDATOR"):
        assert not client.has_role(role, governed.deployer.address)
    assert client.has_role("PUBLISHER", governed.founders[0].address)
    assert client.has_role("PROVIDER", governed.founders[2].address)
    timelock = client.satellite("CouncilTimelock")
    admin_role = client.read(timelock.functions.DEFAULT_ADMIN_ROLE())
    assert not client.read(timelock.functions.hasRole(admin_role, governed.deployer.address))
    council = governed.council(governed.founders[0])
    assert council.members() == [f.address for f in governed.founders]
    assert council.settings() == {
        "voting_delay_blocks": 1,
        "voting_period_blocks": 5,
        "timelock_delay_s": 60,
        "members": 3,
    }
    # no key grants a role: not the deployer, not a founder
    for key in (governed.deployer, governed.founders[0]):
        with pytest.raises(ce.AccessControlUnauthorizedAccount):
            LedgerClient(governed.chain, d, key).grant_role("PROVIDER", governed.candidate.address)
    # the deployment file keeps the satellites; a laboratory file has none of their keys
    d.save(tmp_path / "consortium.json")
    assert Deployment.load(tmp_path / "consortium.json") == d
    lab = Deployment(d.chain_id, d.genesis_hash, d.consortium, d.ledger, d.block_number)
    lab.save(tmp_path / "lab.json")
    assert "council" not in (tmp_path / "lab.json").read_text()
    assert Deployment.load(tmp_path / "lab.json").satellites() == {}


def test_an_organisation_is_admitted_by_a_majority_after_the_delay(governed: Governed) -> None:
    chain, (f0, f1, f2) = governed.chain, governed.founders
    candidate = governed.candidate.address
    council = governed.council(f0)
    pid = council.propose(council.admit(candidate, ["PROVIDER"]), "admit the candidate")
    assert pid == 1
    chain.mine(SETTINGS.voting_delay_blocks + 1)
    council.vote(pid, "for")
    governed.council(f1).vote(pid, "for", reason="we know them")
    governed.council(f2).vote(pid, "against")
    proposal = council.proposal(pid)
    assert (proposal.votes_for, proposal.votes_against, proposal.quorum) == (2, 1, 2)
    assert [a.summary for a in proposal.actions] == [
        f"admit {candidate} to the council",
        f"grant PROVIDER to {candidate}",
    ]
    assert proposal.description == "admit the candidate"
    assert council.advance(pid).startswith("nothing to do: the proposal is active")
    chain.mine(SETTINGS.voting_period_blocks)
    assert council.proposal(pid).state is ProposalState.SUCCEEDED
    assert council.advance(pid) == "queued"
    assert council.advance(pid).startswith("waiting: executable in")
    client = LedgerClient(chain, governed.deployment)
    assert not client.has_role("PROVIDER", candidate)
    chain.advance_time(SETTINGS.timelock_delay_s + 1)
    assert council.advance(pid) == "executed"
    assert client.has_role("PROVIDER", candidate)
    assert candidate in council.members()
    assert council.proposal(pid).state is ProposalState.EXECUTED


def test_a_minority_cannot_pass_and_strangers_cannot_propose(governed: Governed) -> None:
    chain, (f0, _, _) = governed.chain, governed.founders
    council = governed.council(f0)
    pid = council.propose(council.grant("PUBLISHER", f0.address), "more power to me")
    chain.mine(2)
    council.vote(pid, "for")
    chain.mine(SETTINGS.voting_period_blocks)
    assert council.proposal(pid).state is ProposalState.DEFEATED
    assert council.advance(pid) == "nothing to do: the proposal is defeated"
    stranger = governed.council(governed.candidate)
    with pytest.raises(ce.GovernorInsufficientProposerVotes):
        stranger.propose(stranger.grant("VALIDATOR", governed.candidate.address), "let me in")
    with pytest.raises(ChainError, match="no proposal 9"):
        council.proposal(9)
