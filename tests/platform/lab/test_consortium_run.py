"""A task run by a council-governed consortium, every agent in this process on the in-process
EVM: the committee drawn from the pool by revealed seeds (re-derived here from the events),
vetted with reasons before the task opens, scores committed then revealed, the Byzantine
providers excluded after two rejected updates, the reward split by the ledger's credits."""

from __future__ import annotations

import pytest

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.events import EventStream
from ledgerlearn.chain.index import LedgerIndex
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.config import ChainSettings
from ledgerlearn.core.draw import draw_committee, draw_seed
from ledgerlearn.core.rules import Stage, Status
from ledgerlearn.lab.simulate import Agents, RunConfig, simulate

REWARD = 1_000_000


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    chain = connect(ChainSettings())
    base = RunConfig.preset(quick=True, simulated=True)
    policy = base.policy.model_copy(
        update={"commit_window": 8, "score_window": 16, "max_rejections": 2}
    )
    config = base.model_copy(update={"consortium": True, "policy": policy, "reward": REWARD})
    path = tmp_path_factory.mktemp("consortium") / "deployment.json"
    out: dict[str, object] = {"config": config}

    def withdraw_all(agents: Agents) -> None:  # the chain is still there: everyone withdraws
        paid = {}
        for who in [*agents.validators, *agents.providers]:
            participant = who.participant
            paid[participant.address] = Rewards(participant.client).withdraw(1)
        out["paid"] = paid
        out["providers"] = [p.participant.address for p in agents.providers]
        out["validators"] = [v.participant.address for v in agents.validators]

    out["result"] = simulate(
        config, chain=chain, deployment_file=path, max_blocks=400, on_finish=withdraw_all
    )
    reader = LedgerClient(chain, Deployment.load(path))
    index = LedgerIndex()
    stream = EventStream(reader)
    batch = stream.poll(verify=False)
    index.apply_all(batch.events)
    out.update(reader=reader, index=index, task=index.tasks[1])
    return out


def test_the_committee_was_drawn_from_the_pool_and_anyone_re_derives_it(run: dict) -> None:
    task, index = run["task"], run["index"]
    vetting = task.vetting
    assert sorted(vetting.eligible) == sorted(run["validators"])
    # the pool members that committed a seed in its window revealed it (none withheld)
    assert vetting.seeds_revealed and set(vetting.seeds_revealed) <= set(run["validators"])
    assert vetting.withheld == []
    seed = draw_seed(1, list(vetting.seeds_revealed.values()))
    assert seed == vetting.seed
    assert list(task.params.committee) == draw_committee(seed, vetting.eligible, 5)
    assert sorted(index.pool) == sorted(run["validators"])


def test_the_task_opened_only_after_k_approvals_with_reasons(run: dict) -> None:
    task = run["task"]
    votes = task.vetting.votes
    assert len(votes) >= task.params.quorum and all(v.approve for v in votes.values())
    assert all("within limits" in v.reason for v in votes.values())
    assert task.vetting.outcome is Stage.OPEN
    first_submission = min(u.block_number for u in task.updates.values())
    assert task.opened_block is not None and task.opened_block <= first_submission
    assert max(v.block_number for v in votes.values()) <= task.opened_block


def test_every_score_was_committed_before_it_was_revealed(run: dict) -> None:
    task = run["task"]
    scored = [u for u in task.updates.values() if u.scores]
    assert scored
    for u in scored:
        assert set(u.scores) <= set(u.committed)
        deadline = task.commit_deadline(u.update)
        assert all(block < deadline for block in u.committed.values())


def test_no_honest_member_lost_its_reveal_to_the_members_who_revealed_first(run: dict) -> None:
    # the first reveals decide an update; the others' reveals, in time, are still taken and
    # credited when they agree (the honest committee agrees with every decision)
    task = run["task"]
    decided = [u for u in task.updates.values() if u.status in (Status.ACCEPTED, Status.REJECTED)]
    assert decided
    assert any(u.revealed_late for u in decided)
    for u in decided:
        assert u.unrevealed == [], (u.update.hex(), u.unrevealed)
        assert all(u.revealed_late.values())
    commitments = run["reader"].satellite("ScoreCommitments")
    late = sum(len(u.revealed_late) for u in decided)
    assert run["reader"].read(commitments.functions.lateCreditTotal(1)) == late


def test_the_byzantine_providers_were_excluded_and_earned_nothing(run: dict) -> None:
    task, config, paid = run["task"], run["config"], run["paid"]
    providers = run["providers"]
    byzantine = {a for a, b in zip(providers, config.providers, strict=True) if b != "honest"}
    assert set(task.excluded) == byzantine
    for address in byzantine:
        assert paid[address] == 0
        mine = [u for u in task.updates.values() if u.provider == address]
        assert len(mine) == 2 and all(u.status is Status.REJECTED for u in mine)
    honest = [a for a in providers if a not in byzantine]
    assert all(paid[a] > 0 for a in honest)


def test_the_reward_is_split_by_the_credits(run: dict) -> None:
    reader, paid = run["reader"], run["paid"]
    commitments = reader.satellite("ScoreCommitments").functions
    accepted, _, agreed = reader.read(reader.ledger.functions.creditTotals(1))
    agreed += reader.read(commitments.lateCreditTotal(1))  # reveals after the decision
    for address, amount in paid.items():
        mine_accepted, _, mine_agreed = reader.read(reader.ledger.functions.creditOf(1, address))
        mine_agreed += reader.read(commitments.lateCreditOf(1, address))
        expected = REWARD * 7000 // 10000 * mine_accepted // accepted
        expected += (REWARD - REWARD * 7000 // 10000) * mine_agreed // agreed
        assert amount == expected
    assert sum(paid.values()) <= REWARD
    assert REWARD - sum(paid.values()) < len(paid)  # only rounding dust is left
