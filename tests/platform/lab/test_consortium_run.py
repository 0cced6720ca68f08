"""A task run by a council-governed consortium, every agent in this process on the in-process
EVM: the committee drawn from the pool by revealed seeds (re-derived here from the events),
vetted with reasons before the task opens, scores committed then revealed, the Byzantine
providers excluded after two rejected updates, the reward split by the ledger's credits, the
lying member (it inflates every score) paid nothing."""

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
from ledgerlearn.core.rules import Stage, Status, to_fixed
from ledgerlearn.lab.simulate import (
    REWARD_MAX_DISAGREEMENT_BPS,
    REWARD_PROVIDER_SHARE_BPS,
    Agents,
    RunConfig,
    simulate,
)

REWARD = 1_000_000
BEHAVIOURS = ["honest", "honest", "honest", "honest", "inflate"]  # the pool of 5, all drawn
EDGE = 0.1  # how far from the threshold honest members' fragments may judge an update apart


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    chain = connect(ChainSettings())
    base = RunConfig.preset(quick=True, simulated=True)
    policy = base.policy.model_copy(
        update={"commit_window": 8, "score_window": 16, "max_rejections": 2}
    )
    config = base.model_copy(
        update={
            "consortium": True,
            "policy": policy,
            "reward": REWARD,
            "validator_behaviours": BEHAVIOURS,
        }
    )
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
    # counted, with the decision or against it. An honest member scores on its own fragment,
    # so it may disagree with a decision on the threshold's edge (a CI run: the committee's
    # -0.279 against a threshold of -0.25, the late member's score above it), never with a
    # clear one.
    task, liar = run["task"], run["validators"][BEHAVIOURS.index("inflate")]
    decided = [u for u in task.updates.values() if u.status in (Status.ACCEPTED, Status.REJECTED)]
    assert decided
    assert any(u.revealed_late for u in decided)
    edge = to_fixed(EDGE)
    for u in decided:
        assert u.unrevealed == [], (u.update.hex(), u.unrevealed)
        against = [who for who, agreed in u.revealed_late.items() if who != liar and not agreed]
        assert u.committee_score is not None
        assert not against or abs(u.committee_score - task.params.threshold) <= edge, (
            u.update.hex(),
            u.committee_score,
            against,
        )
    commitments = run["reader"].satellite("ScoreCommitments")
    late = [agreed for u in decided for agreed in u.revealed_late.values()]
    assert run["reader"].read(commitments.functions.lateCreditTotal(1)) == [
        late.count(True),
        late.count(False),
    ]


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


def _credits(reader: LedgerClient, address: str) -> tuple[int, int, int]:
    """Accepted updates, scores with and against the decision (reveals after it included)."""
    credits = Rewards(reader).credits(1, address)
    return credits.accepted, credits.agreed, credits.disagreed


def _counted(agreed: int, disagreed: int) -> int:
    """The escrow's rule: no credit past the tolerance of scores against the decision."""
    return 0 if disagreed * 10_000 > REWARD_MAX_DISAGREEMENT_BPS * (agreed + disagreed) else agreed


def test_the_reward_is_split_by_the_credits(run: dict) -> None:
    reader, paid, task = run["reader"], run["paid"], run["task"]
    credits = {address: _credits(reader, address) for address in paid}
    accepted = sum(c[0] for c in credits.values())
    assert reader.read(reader.ledger.functions.creditTotals(1))[0] == accepted
    counted = {a: _counted(c[1], c[2]) for a, c in credits.items() if a in task.params.committee}
    provider_pool = REWARD * REWARD_PROVIDER_SHARE_BPS // 10_000
    for address, amount in paid.items():
        expected = provider_pool * credits[address][0] // accepted
        expected += (REWARD - provider_pool) * counted.get(address, 0) // sum(counted.values())
        assert amount == expected
    assert sum(paid.values()) <= REWARD
    assert REWARD - sum(paid.values()) < len(paid)  # only rounding dust is left


def test_the_liar_passed_the_poisoned_updates_and_earned_nothing(run: dict) -> None:
    reader, paid, task = run["reader"], run["paid"], run["task"]
    liar = run["validators"][BEHAVIOURS.index("inflate")]
    assert liar in task.params.committee
    _, agreed, disagreed = _credits(reader, liar)
    rejected = sum(u.status is Status.REJECTED for u in task.updates.values())
    assert rejected >= 4 and disagreed >= rejected - 1  # it passed (nearly) every rejected one
    assert agreed > 0  # and agreed on the honest updates it also passed
    assert paid[liar] == 0
    honest = [v for v in run["validators"] if v != liar]
    assert all(paid[v] > 0 for v in honest)
