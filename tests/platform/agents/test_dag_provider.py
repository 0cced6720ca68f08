"""The provider agent on a dag task, step by step on the real contracts (py-evm) and a real
IPFS node: publish-if-better, parents named on chain, its pace, and the dag keeper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from ledgerlearn.agents.pace import BlockPace
from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.provider import Provider
from ledgerlearn.agents.publisher import Publisher
from ledgerlearn.agents.validator import Validator
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment, deploy
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.config import ChainSettings, StorageSettings
from ledgerlearn.core.rules import Status
from ledgerlearn.data import Dataset, load_bundled
from ledgerlearn.flows.dag.keeper import DagKeeper
from ledgerlearn.flows.dag.provider import DagProvider
from ledgerlearn.flows.dag.updates import DagSettings
from ledgerlearn.flows.policy import Policy
from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.storage import IpfsNode
from ledgerlearn.training import TrainingConfig, train

torch.set_num_threads(1)
ETHER = 10**18
SPEC = logreg_digits()


@dataclass
class World:
    chain: Chain
    deployment: Deployment
    node: IpfsNode
    root: Path
    providers: list[LocalAccount]
    publisher: Participant
    good_task: int  # initial weights: a well-trained model
    fresh_task: int  # initial weights: a fresh initialisation

    def participant(self, account: LocalAccount) -> Participant:
        state = self.root / account.address
        client = LedgerClient(
            self.chain, self.deployment, account, outbox=Outbox(state / "outbox.jsonl")
        )
        participant = Participant(client, self.node, state)
        participant.sync()
        return participant


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("dag-provider")
    chain = connect(ChainSettings())
    admin, publisher = Account.create(), Account.create()
    validators = [Account.create() for _ in range(3)]
    providers = [Account.create() for _ in range(3)]
    for account in [admin, publisher, *validators, *providers]:
        chain.fund(account.address, 100 * ETHER)
    deployment = deploy(chain, admin, admin_delay_s=0)
    admin_client = LedgerClient(chain, deployment, admin)
    admin_client.grant_role("PUBLISHER", publisher.address)
    for v in validators:
        admin_client.grant_role("VALIDATOR", v.address)
    for p in providers:
        admin_client.grant_role("PROVIDER", p.address)
    with IpfsNode(StorageSettings(repo_dir=root / "ipfs"), handle_signals=False) as node:
        world = World(chain, deployment, node, root, providers, None, 0, 0)  # type: ignore[arg-type]
        for v in validators:
            Validator(world.participant(v), PrivateKey(v.key).to_bytes()).register(
                node.multiaddrs[0]
            )
        world.publisher = world.participant(publisher)
        digits = load_bundled("digits", "train")
        _, validation = digits.split(0.3, seed=0)
        fresh = dict(state_dict_to_arrays(build(SPEC, seed=0)))
        good = dict(train(SPEC, digits, TrainingConfig(epochs=10, lr=0.1), initial=fresh))
        policy = Policy(
            flow="dag", quorum=2, max_faulty_validators=0, score_window=10, max_parents=2
        )
        committee = [v.address for v in validators]
        for initial in (good, fresh):
            publisher_agent = Publisher(world.publisher)
            params = publisher_agent.prepare(
                SPEC,
                validation,
                committee,
                policy,
                initial_weights=initial,  # type: ignore[arg-type]
            )
            task_id = publisher_agent.publish(params).task_id
            if initial is good:
                world.good_task = task_id
            else:
                world.fresh_task = task_id
        yield world


def local_data() -> Dataset:
    test = load_bundled("digits", "test")
    return test.subset(range(60), name="provider data")


def dag_duty(provider: Provider) -> DagProvider:
    duty = provider.duty
    assert isinstance(duty, DagProvider)  # the task's flow chose it
    return duty


def steps(provider: Provider, count: int) -> int:
    sent = 0
    for _ in range(count):
        provider.participant.sync()
        sent += provider.step()
    provider.participant.sync()
    return sent


def test_a_model_that_does_not_beat_its_parents_is_not_published(world: World) -> None:
    """Far too strong a weight decay collapses the well-trained initial model toward zero:
    the trained model loses to it on the provider's held-out split (whichever split the
    attempt draws) and is dropped; with publish-if-better off, the same provider submits it."""
    wild = TrainingConfig(epochs=5, batch_size=4, lr=0.1, weight_decay=9.0, seed=1)
    careful = Provider(world.participant(world.providers[0]), world.good_task, local_data(), wild)
    careful.check()
    steps(careful, 3)
    task = careful.participant.task(world.good_task)
    assert careful.participant.address in task.providers
    assert not task.updates, "nothing may be submitted"
    dropped = dag_duty(careful).dropped
    assert dropped and "held-out split" in dropped[0].note and careful.unpublished == len(dropped)
    reckless = Provider(
        world.participant(world.providers[1]),
        world.good_task,
        local_data(),
        wild,
        dag=DagSettings(publish_if_better=False),
    )
    steps(reckless, 2)
    task = reckless.participant.task(world.good_task)
    assert len(task.updates) == 1 and not dag_duty(reckless).dropped
    (update,) = task.updates.values()
    assert update.parents == [task.root] and update.provider == world.providers[1].address
    # what the provider compared: its model lost to the parent on its held-out split
    verdict = dropped[0].verdict
    assert verdict is not None and not verdict.better
    assert verdict.candidate < verdict.reference or (
        verdict.candidate == verdict.reference and verdict.candidate_loss > verdict.reference_loss
    )


def test_a_better_model_is_published_after_its_pace(world: World) -> None:
    """From a fresh initialisation, local training beats the parent: the update goes out,
    but not before its modelled training time (the pace) has passed."""
    pace = BlockPace(samples_per_block=48.0, speed_factor=2.0)  # 48 samples x 1 epoch x 2
    provider = Provider(
        world.participant(world.providers[2]),
        world.fresh_task,
        local_data(),
        TrainingConfig(epochs=1, lr=0.1, seed=2),
        pace=pace,
    )
    assert steps(provider, 1) == 1  # joins
    prepared_at = provider.participant.head
    provider.step()  # prepares the update, holds it for two blocks of training
    prepared = dag_duty(provider).prepared
    assert prepared is not None and prepared.publish
    assert prepared.ready_at == prepared_at + pace.blocks(48)
    assert not provider.participant.task(world.fresh_task).updates
    world.chain.mine(pace.blocks(48))
    steps(provider, 1)
    task = provider.participant.task(world.fresh_task)
    (update,) = task.updates.values()
    assert update.parents == [task.root] and update.submitted_block >= prepared_at + pace.blocks(48)


def test_the_keeper_settles_late_updates_and_closes_the_task(world: World) -> None:
    keeper = DagKeeper(world.publisher, world.good_task, close_at=None)
    world.publisher.sync()
    task = world.publisher.task(world.good_task)
    (pending,) = [u for u in task.updates.values() if u.status is Status.PENDING]
    assert not keeper.step()  # its scoring window is still open
    world.chain.mine(task.params.score_window)
    world.publisher.sync()
    assert task.params.score_extension > 0
    assert not keeper.step()  # no score yet: members may still score it in the extension
    world.chain.mine(task.params.score_extension)
    world.publisher.sync()
    assert keeper.step()
    world.publisher.sync()
    # nobody judged it: expired, not rejected (no blame for its provider)
    assert task.updates[pending.update].status is Status.EXPIRED
    closing = DagKeeper(world.publisher, world.good_task, close_at=world.publisher.head + 3)
    assert not closing.step()
    world.chain.mine(2)
    world.publisher.sync()
    assert closing.step()
    world.publisher.sync()
    assert task.closed and task.closed_block is not None
    assert not closing.step()


def _rows(data: Dataset) -> set[bytes]:
    return {row.tobytes() for row in data.x}


def test_the_held_out_split_rotates_so_every_sample_is_trained_on(world: World) -> None:
    """Each attempt draws its own held-out split, disjoint from what that attempt trains on;
    over a few attempts every local sample is trained on. A fixed split never trains on its
    held-out samples."""
    data = local_data()
    everything = _rows(data)
    rotating = Provider(world.participant(world.providers[0]), world.good_task, data)
    trained: set[bytes] = set()
    held_outs = []
    for attempt in range(1, 9):
        local, held_out = dag_duty(rotating).split(attempt)
        assert not _rows(local) & _rows(held_out)
        assert _rows(local) | _rows(held_out) == everything
        trained |= _rows(local)
        held_outs.append(frozenset(_rows(held_out)))
    assert len(set(held_outs)) == len(held_outs)  # a fresh split every attempt
    assert trained == everything
    fixed = Provider(
        world.participant(world.providers[1]),
        world.good_task,
        data,
        dag=DagSettings(rotate_held_out=False),
    )
    assert dag_duty(fixed) is fixed.duty  # made once, from the task's flow
    assert dag_duty(fixed).settings is fixed.dag  # the agent's dag settings reach its duty
    splits = [dag_duty(fixed).split(attempt) for attempt in range(1, 9)]
    never_trained = _rows(splits[0][1])
    assert all(_rows(h) == never_trained for _, h in splits)
    assert not never_trained & set().union(*(_rows(local) for local, _ in splits))
