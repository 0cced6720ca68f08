"""Run a whole task in one process: the in-process EVM, one shared IPFS node, every agent.

The agents are the real ones (the same classes the separate processes of the demo run); only
the scheduling differs: here a loop gives each agent a step, then mines a block, so a round's
deadlines pass in a few hundred milliseconds. Fast enough for experiments and grids.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledgerlearn.agents.feed import SharedFeed
from ledgerlearn.agents.pace import BlockPace, Pace
from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.provider import Provider
from ledgerlearn.agents.publisher import Publisher
from ledgerlearn.agents.validator import Validator
from ledgerlearn.behaviours import behaviour, validator_behaviour
from ledgerlearn.behaviours.keepers import DeadCidKeeper, WrongAggregateKeeper
from ledgerlearn.behaviours.lying_validator import ValidatorBehaviour
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.config import ChainSettings, StorageSettings
from ledgerlearn.data import Dataset, DirichletPartitioner, IidPartitioner, load_bundled
from ledgerlearn.flows.base import Keeper
from ledgerlearn.flows.dag.consensus import DEFAULT_MARGIN, DEFAULT_TOP_K
from ledgerlearn.flows.dag.updates import DagSettings
from ledgerlearn.flows.policy import Policy
from ledgerlearn.flows.ports import ProviderBehaviour
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.lab.cast import Cast
from ledgerlearn.lab.consortium import deploy_cast
from ledgerlearn.lab.results import RunResult, agent_seconds
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.presets import cnn_mnist, mlp_digits
from ledgerlearn.storage import IpfsNode
from ledgerlearn.training import TrainingConfig

log = logging.getLogger(__name__)
ETHER = 10**18
IDLE_BLOCKS = 4
"""Blocks mined at once when no agent acted (deadlines are in blocks)."""


class RunConfig(BaseModel):
    """One learning task's cast and settings (shared by ``simulate`` and the demo)."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def preset(cls, *, quick: bool, simulated: bool = False) -> RunConfig:
        """The demo's cast: 5 validators (2 may lie), 10 providers of which 3 are Byzantine
        (sign flipping, label flipping, free riding), non-IID data (Dirichlet alpha = 1).

        ``quick``: digits and 3 rounds; else all of MNIST's 60,000 training images (30% kept
        by the publisher for the committee's fragments, the rest split among the providers),
        a small CNN and 5 rounds. Round lengths are blocks: a second each on the devnet, one
        per transaction or idle tick in a simulation.
        """
        rounds, length, window = (3, 15, 10) if quick else (5, 20, 20)
        fetch = {"fetch_timeout_s": 5.0 if quick else 10.0, "prefetch_timeout_s": 2.0}
        if simulated:  # one shared IPFS node: only withheld content is ever missing
            length, window = 40, 30
            fetch = {"fetch_timeout_s": 1.0, "prefetch_timeout_s": 0.5}
        policy = Policy(
            quorum=3,
            max_faulty_validators=2,
            rounds=rounds,
            round_length=length,
            score_window=window,
            aggregation_rule="median",
            # a round waits for all 10 providers (slow honest ones on a loaded machine make
            # it), at most two more round lengths; an update short of a quorum can still be
            # scored for another window
            min_updates=10,
            round_extension=2 * length,
            score_extension=window,
            attest_window=window,
        )
        if quick:
            return cls(dataset="digits", policy=policy, **fetch)
        training = TrainingConfig(epochs=2, batch_size=32, lr=0.05, momentum=0.9)
        return cls(dataset="mnist", policy=policy, training=training, **fetch)

    dataset: Literal["digits", "mnist"] = "digits"
    providers: list[str] = Field(
        default_factory=lambda: ["honest"] * 7 + ["sign_flip", "label_flip", "free_rider"],
        description="One behaviour per provider.",
    )
    validators: int = Field(5, ge=1, le=24)
    reward: int = Field(
        0,
        ge=0,
        description="Consortium runs: test tokens the publisher escrows for the task (70% to "
        "providers by accepted updates, 30% to validators by agreeing scores).",
    )
    consortium: bool = Field(
        False,
        description="Run as a consortium governed by a council: every organisation a founder, "
        "the committee drawn from the validators' pool (of policy.draw_size members, default "
        "every validator) and vetted before the task opens.",
    )
    validator_behaviours: list[str] | None = Field(
        None,
        description="One behaviour per validator (honest, inflate, deflate, collude: "
        "colluders favour the Byzantine providers); default all honest.",
    )
    committee_filtering: bool = Field(
        True,
        description="False: validators skip the sanity checks (decoding is still enforced), "
        "to measure robust aggregation alone; pair with a threshold every score clears.",
    )
    partition: IidPartitioner | DirichletPartitioner = Field(
        default_factory=lambda: DirichletPartitioner(alpha=1.0), discriminator="kind"
    )
    policy: Policy = Field(
        default_factory=lambda: Policy(
            quorum=3, max_faulty_validators=2, rounds=5, round_length=12, score_window=12
        )
    )
    training: TrainingConfig = Field(
        default_factory=lambda: TrainingConfig(epochs=5, batch_size=16, lr=0.1, momentum=0.9)
    )
    train_samples: int | None = Field(
        None, ge=100, description="Use only this many training samples (a seeded subset)."
    )
    validation_fraction: float = Field(
        0.3, gt=0, lt=1, description="Share of the training pool kept by the publisher."
    )
    fetch_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Validators' deadline for updates still missing when submissions close "
        "(withheld content costs this much once per round); under the score window.",
    )
    prefetch_timeout_s: float = Field(
        2.0, gt=0, description="Validators' one early attempt per update, as it is submitted."
    )
    pool_parts: int | None = Field(
        None, ge=1, description="Parts the pool is split into (default: one per provider)."
    )
    provider_parts: list[int] | None = Field(
        None,
        description="Which part of the pool each provider trains on, when the pool is split "
        "into more parts than there are providers (a run without some of the providers "
        "keeps the others' data unchanged); default: part i for provider i.",
    )
    rogue_keeper: Literal["none", "wrong_aggregate", "dead_cid"] = Field(
        "none",
        description="Provider 0 also runs a keeper racing the honest one: wrong_aggregate "
        "proposes wrong aggregates (the committee must not attest them); dead_cid proposes the "
        "right aggregate's hash first, with a CID that points to nothing (the round must still "
        "finalize).",
    )
    seed: int = 0
    dag: DagSettings = Field(
        default_factory=DagSettings,
        description="Dag tasks (policy.flow = dag): how the providers select tips, merge and "
        "decide to publish.",
    )
    duration_blocks: int = Field(
        60, ge=1, description="Dag tasks: blocks after publication until the publisher closes it."
    )
    consensus_top_k: int = Field(
        DEFAULT_TOP_K,
        ge=1,
        description="Dag tasks: tips the consensus model aggregates (report, curve).",
    )
    consensus_margin: float | None = Field(
        DEFAULT_MARGIN,
        ge=0,
        description="Dag tasks: the consensus model leaves out tips whose quality is more "
        "than this below the best one (None: none left out).",
    )
    speeds: list[float] | None = Field(
        None,
        description="Speed factor per provider (5.0: five times slower); needs "
        "samples_per_block. Default: all 1.",
    )
    samples_per_block: float | None = Field(
        None,
        gt=0,
        description="Modelled training throughput: sample-passes (samples x epochs) a provider "
        "at speed 1 trains per block; a prepared update goes out once that time has passed. "
        "None: at once.",
    )
    idle_blocks: int = Field(
        IDLE_BLOCKS, ge=1, description="Simulation: blocks mined at once when no agent acted."
    )
    blocks_per_tick: int = Field(
        1,
        ge=1,
        description="Simulation: the in-process EVM mines a block per transaction, so busy "
        "blocks pass faster than idle ones. With K > 1 every step of the agents (a tick: one "
        "block time of a real chain) advances the chain by exactly K blocks, and the policy's "
        "windows, duration_blocks and samples_per_block count ticks: deadlines no longer "
        "move with the number of transactions (wall-time comparisons). The demo ignores it.",
    )

    @classmethod
    def dag_preset(cls, *, quick: bool, simulated: bool = False) -> RunConfig:
        """The demo's cast on a dag task: the same 5 validators, 10 providers (3 Byzantine)
        and data as :meth:`preset`. Updates are scored relative to the merge of their
        parents (accepted unless 5 points worse: local training on non-IID data costs an
        honest update a little on a balanced fragment, a poisoned one costs far more);
        providers build on 2 parents; two honest providers are three times slower than the
        others (asynchrony in the picture); the publisher closes the task after
        ``duration_blocks``. Simulated, every step of the agents is a 1-s tick of 10 blocks
        (see ``blocks_per_tick``), so the report's times are modelled seconds."""
        base = cls.preset(quick=quick, simulated=simulated)
        policy = base.policy.model_copy(
            update={
                "flow": "dag",
                "threshold_mode": "relative",
                "threshold": -0.05,
                "max_parents": 2,
                # MNIST: each score evaluates a CNN on a 3,600-sample fragment, twice
                "score_window": 4 if simulated else (10 if quick else 30),
            }
        )
        speeds = [1.0] * len(base.providers)
        speeds[5] = speeds[6] = 3.0
        duration = 60 if quick else 240
        return base.model_copy(
            update={
                "policy": policy,
                "dag": DagSettings(),
                "consensus_top_k": 5,
                "duration_blocks": 120 if simulated else duration,
                "speeds": speeds,
                # MNIST: a CNN on 3,360 samples x 2 epochs is about 45 blocks, so the
                # committee (a CNN on a 3,600-sample fragment per score) keeps up on 2 cores
                "samples_per_block": 100.0 if quick else 150.0,
                # simulated: a tick of 20 blocks is one second, whatever the transactions (the
                # in-process EVM mines one per transaction; a busy tick holds commitments,
                # reveals and scores, and a tick overflowing its blocks shifts the clock)
                "blocks_per_tick": 20 if simulated else 1,
                "idle_blocks": 1,
            }
        )

    @model_validator(mode="after")
    def _check_parts(self) -> RunConfig:
        parts = self.provider_parts
        if parts is not None and (
            len(parts) != len(self.providers) or len(set(parts)) != len(parts) or min(parts) < 0
        ):
            raise ValueError("provider_parts must give each provider its own part index")
        liars = self.validator_behaviours
        if liars is not None and len(liars) != self.validators:
            raise ValueError(f"validator_behaviours lists {len(liars)}, not {self.validators}")
        for name in liars or []:
            validator_behaviour(name)  # unknown names fail here, not mid-run
        for name in self.providers:
            behaviour(name)
        if self.speeds is not None:
            if len(self.speeds) != len(self.providers):
                raise ValueError(f"speeds lists {len(self.speeds)}, not {len(self.providers)}")
            if any(not 0 < s < 1e6 for s in self.speeds):
                raise ValueError("speeds must be positive factors")
            if self.samples_per_block is None:
                raise ValueError("speeds need samples_per_block (the modelled throughput)")
        count = self.pool_parts or len(self.providers)
        if count < len(self.providers) or (parts is not None and max(parts) >= count):
            raise ValueError(
                f"the pool is split into {count} parts: too few for the providers' parts"
            )
        return self

    def provider_behaviour(self, index: int) -> ProviderBehaviour:
        """Provider ``index``'s behaviour; colluding attackers know how many they are."""
        name = self.providers[index]
        return behaviour(name, seed=index, num_attackers=self.providers.count(name))

    def validator_behaviour(self, index: int, byzantine: Collection[str]) -> ValidatorBehaviour:
        """Validator ``index``'s behaviour; ``byzantine``: the Byzantine providers' accounts
        (the partners of a colluding validator)."""
        names = self.validator_behaviours or ["honest"] * self.validators
        return validator_behaviour(names[index], byzantine)

    def pace(self, index: int, blocks_per_tick: int = 1) -> Pace | None:
        """Provider ``index``'s pace: its modelled training time, None when not modelled."""
        if self.samples_per_block is None:
            return None
        speed = self.speeds[index] if self.speeds is not None else 1.0
        return BlockPace(self.samples_per_block / blocks_per_tick, speed)

    def chain_policy(self, blocks_per_tick: int = 1) -> Policy:
        """The policy as published: windows in blocks (ticks times ``blocks_per_tick``), and a
        round waits for at most every provider of the cast."""
        update: dict[str, int] = {"min_updates": min(self.policy.min_updates, len(self.providers))}
        if self.consortium and not self.policy.draw_size:
            update["draw_size"] = self.validators
        if blocks_per_tick > 1:
            for name in (
                "round_length",
                "score_window",
                "round_extension",
                "score_extension",
                "attest_window",
            ):
                update[name] = getattr(self.policy, name) * blocks_per_tick
        return self.policy.model_copy(update=update)

    def as_consortium(self, *, reward: int = 1000 * 10**18) -> RunConfig:
        """The same task run by a consortium (the demo's): a pool of one validator more than
        the committee, so the draw leaves one out, and that one lies (inflates every score);
        the committee drawn from the pool and vetting the task before it opens; scores by
        commit-reveal (committed within the blocks the task gave to scoring in the clear,
        revealed in the 8 blocks after); a provider excluded after 2 rejected updates;
        ``reward`` test tokens escrowed (18 decimals).

        A round waits for the honest providers' number of updates, not every provider's:
        the excluded ones send none after their second rejection.
        """
        honest = sum(b == "honest" for b in self.providers)
        commit = self.policy.score_window  # scoring takes as long as it did in the clear
        window = commit + 8
        policy = self.policy.model_copy(
            update={
                "draw_size": self.validators,
                "score_window": window,
                "commit_window": commit,
                "score_extension": max(self.policy.score_extension, window),
                "max_rejections": 2,
                "min_updates": min(self.policy.min_updates, honest),
            }
        )
        liars = self.validator_behaviours or ["honest"] * self.validators
        return RunConfig.model_validate(
            {
                **self.model_dump(),
                "consortium": True,
                "reward": reward,
                "validators": self.validators + 1,
                "validator_behaviours": [*liars, "inflate"],
                "policy": policy.model_dump(),
            }
        )

    def without_byzantine(self) -> RunConfig:
        """The same task with only the honest providers, each on the same data as here."""
        honest = [i for i, b in enumerate(self.providers) if b == "honest"]
        own = self.provider_parts or list(range(len(self.providers)))
        speeds = None if self.speeds is None else [self.speeds[i] for i in honest]
        return self.model_copy(
            update={
                "providers": ["honest"] * len(honest),
                "provider_parts": [own[i] for i in honest],
                "pool_parts": self.pool_parts or len(self.providers),
                "speeds": speeds,
            }
        )

    def data(self) -> tuple[ModelSpec, list[Dataset], Dataset, Dataset]:
        """(spec, provider datasets, publisher's validation set, test set)."""
        if self.dataset == "digits":
            spec = mlp_digits()
            train, held_out = load_bundled("digits", "train"), load_bundled("digits", "test")
        else:
            spec = cnn_mnist()
            train, held_out = load_bundled("mnist", "train"), load_bundled("mnist", "test")
        if self.train_samples is not None and self.train_samples < len(train):
            _, train = train.split(self.train_samples / len(train), seed=self.seed)
        pool, validation = train.split(self.validation_fraction, seed=self.seed)
        chosen = self.provider_parts or list(range(len(self.providers)))
        count = self.pool_parts or len(self.providers)
        parts = pool.partition(self.partition, count, seed=self.seed)
        return spec, [parts[i] for i in chosen], validation, held_out


@dataclass
class Agents:
    """The agents of a finished simulation, handed to ``simulate(on_finish=...)`` while the
    chain and the IPFS node still run (e.g. to read their metrics)."""

    publisher: Participant
    validators: list[Validator]
    providers: list[Provider]
    node: IpfsNode
    cast: Cast  # their accounts (keys included: e.g. to act for them from the command line)


def make_cast(config: RunConfig) -> Cast:
    """Fresh accounts for a run, named ``validator-i`` and ``provider-i``."""
    validators = [Account.create() for _ in range(config.validators)]
    providers = [Account.create() for _ in config.providers]
    names = {v.address: f"validator-{i}" for i, v in enumerate(validators)}
    names.update({p.address: f"provider-{i}" for i, p in enumerate(providers)})
    liars = config.validator_behaviours or ["honest"] * len(validators)
    behaviours = {v.address: b for v, b in zip(validators, liars, strict=True)}
    behaviours.update({p.address: b for p, b in zip(providers, config.providers, strict=True)})
    return Cast(Account.create(), Account.create(), validators, providers, behaviours, names)


def simulate(
    config: RunConfig,
    *,
    workdir: Path | None = None,
    max_blocks: int = 2000,
    on_block: Callable[[int, RunResult | None], None] | None = None,
    budget: bool = False,
    chain: Chain | None = None,
    node: IpfsNode | None = None,
    deployment_file: Path | None = None,
    on_finish: Callable[[Agents], None] | None = None,
) -> RunResult:
    """Run ``config`` in this process and return what the chain recorded.

    ``max_blocks`` bounds the agents' steps (ticks when ``blocks_per_tick`` > 1); with
    ``budget`` it is a deliberate time budget: the task's history up to then is the result.

    By default the run has a chain and an IPFS node of its own (the in-process EVM, a node in
    a temporary folder), gone when it returns. ``chain`` and ``node``: run on the caller's
    instead (a devnet and a started node that keeps serving the task's content afterwards,
    so separate processes can read the finished task); ``deployment_file``: save the
    contracts' deployment there (what a reader of the chain needs).
    ``on_finish`` is handed the agents once the run is collected, before anything stops.
    """
    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root = Path(tmp)
        chain = chain if chain is not None else connect(ChainSettings())
        cast = make_cast(config)
        for account in [cast.admin, cast.publisher, *cast.validators, *cast.providers]:
            chain.fund(account.address, 100 * ETHER)
        deployment = deploy_cast(chain, cast, consortium=config.consortium)
        if deployment_file is not None:
            deployment.save(deployment_file)
        if node is not None:
            result = _run(
                config, chain, deployment, cast, node, root, max_blocks, on_block, budget, on_finish
            )
        else:
            own = IpfsNode(StorageSettings(repo_dir=root / "ipfs"))  # Ctrl-C / SIGTERM stop it
            with own:
                result = _run(
                    config,
                    chain,
                    deployment,
                    cast,
                    own,
                    root,
                    max_blocks,
                    on_block,
                    budget,
                    on_finish,
                )
    result.timings["wall_s"] = time.perf_counter() - started
    return result


REWARD_PROVIDER_SHARE_BPS = 7000
"""The share of a run's reward for providers (the rest for validators), in basis points."""
REWARD_MAX_DISAGREEMENT_BPS = 1000
"""A validator scoring against the committee's decision more than this share of the time (basis
points) forfeits its part of a run's reward (honest members disagree on borderline updates
only; a liar that passes poisoned updates disagrees on each of them)."""


def _participant(
    chain: Chain,
    deployment: Deployment,
    account: LocalAccount,
    node: IpfsNode,
    root: Path,
    feed: SharedFeed,
) -> Participant:
    state = root / "agents" / account.address
    client = LedgerClient(chain, deployment, account, outbox=Outbox(state / "outbox.jsonl"))
    return Participant(client, node, state, feed=feed)


def _run(
    config: RunConfig,
    chain: Chain,
    deployment: Deployment,
    cast: Cast,
    node: IpfsNode,
    root: Path,
    max_blocks: int,
    on_block: Callable[[int, RunResult | None], None] | None,
    budget: bool = False,
    on_finish: Callable[[Agents], None] | None = None,
) -> RunResult:
    spec, parts, validation, test = config.data()
    feed = SharedFeed(LedgerClient(chain, deployment))
    validators = []
    byzantine = [a for a, b in cast.behaviours.items() if b != "honest"]
    for i, account in enumerate(cast.validators):
        key = PrivateKey(account.key)  # the demo's validators encrypt with their own key
        agent = Validator(
            _participant(chain, deployment, account, node, root, feed),
            key.to_bytes(),
            fetch_timeout_s=config.fetch_timeout_s,
            prefetch_timeout_s=config.prefetch_timeout_s,
            behaviour=config.validator_behaviour(i, byzantine),
            sanity=config.committee_filtering,
        )
        agent.register(node.multiaddrs[0])
        if agent.vetting is not None:
            agent.vetting.join()  # in the pool before the task is published
        validators.append(agent)
    publisher = _participant(chain, deployment, cast.publisher, node, root, feed)
    policy = config.chain_policy(config.blocks_per_tick)
    publishing = Publisher(publisher)
    params = publishing.prepare(
        spec,
        validation,
        [] if policy.draw_size else [v.address for v in cast.validators],
        policy,
        seed=config.seed,
        expected_providers=len(cast.providers),
    )
    task_id = publishing.publish(params).task_id
    if config.reward and deployment.reward_token is not None:
        Rewards(publisher.client).fund(
            task_id,
            deployment.reward_token,
            config.reward,
            REWARD_PROVIDER_SHARE_BPS,
            REWARD_MAX_DISAGREEMENT_BPS,
        )
    publisher.sync()
    keeper = keeper_for(config, publisher, task_id)

    def publisher_step() -> bool:  # a drawn committee gets its fragments, then the keeper
        task = publisher.task(task_id)
        return publishing.tend(task, validation, seed=config.seed) or keeper.step()

    providers = []
    for i, (account, data) in enumerate(zip(cast.providers, parts, strict=True)):
        participant = _participant(chain, deployment, account, node, root, feed)
        participant.sync()
        training = config.training.model_copy(update={"seed": config.seed * 1000 + i})
        providers.append(
            Provider(
                participant,
                task_id,
                data,
                training,
                behaviour=config.provider_behaviour(i),
                dag=config.dag,
                pace=config.pace(i, config.blocks_per_tick),
            )
        )
    agents: list[tuple[Participant, Callable[[], bool]]] = []
    if config.rogue_keeper != "none":  # goes first: its proposal is on chain before the right one
        kind = WrongAggregateKeeper if config.rogue_keeper == "wrong_aggregate" else DeadCidKeeper
        rogue = kind(providers[0].participant, task_id)
        agents.append((providers[0].participant, rogue.step))
    agents += [
        (publisher, publisher_step),
        *[(v.participant, v.step) for v in validators],
        *[(p.participant, p.step) for p in providers],
    ]
    tick = config.blocks_per_tick
    start = chain.w3.eth.block_number
    for block in range(max_blocks):
        acted = False
        for participant, step in agents:
            participant.sync()
            acted = step() or acted
        publisher.sync()
        if publisher.task(task_id).closed:
            break
        if tick > 1:  # exactly one tick of blocks, whatever the transactions mined
            boundary = start + (block + 1) * tick
            chain.mine(max(1, boundary - chain.w3.eth.block_number))
        else:
            chain.mine(1 if acted else config.idle_blocks)  # nothing to do: deadlines come closer
        if on_block is not None:
            on_block(block, None)
    else:
        if not budget:
            log.warning("task %d did not finish within %d blocks", task_id, max_blocks)
    publisher.sync()
    # imported here: the registry brings the reports (matplotlib), which the agents' processes
    # importing this module for RunConfig never need
    from ledgerlearn.lab.registry import LAB_FLOWS

    result = LAB_FLOWS[publisher.task(task_id).flow].collect(
        publisher,
        task_id,
        test,
        cast.names,
        cast.behaviours,
        top_k=config.consensus_top_k,
        margin=config.consensus_margin,
        block_time_s=1.0 / tick,
        dropped=sum(p.unpublished for p in providers),
    )
    result.agent_seconds = agent_seconds(
        {
            "publisher": [publisher.stopwatch],
            "validators": [v.participant.stopwatch for v in validators],
            "providers": [p.participant.stopwatch for p in providers],
        }
    )
    if on_finish is not None:
        on_finish(Agents(publisher, validators, providers, node, cast))
    return result


def keeper_for(config: RunConfig, participant: Participant, task_id: int) -> Keeper:
    """What the publisher's agent runs for the task: its flow's keeper, closing the task
    ``duration_blocks`` after publication when the flow does not end by itself."""
    task = participant.task(task_id)
    close_at = task.published_block + config.duration_blocks * config.blocks_per_tick
    return FLOWS[task.flow].keeper(participant, task_id, close_at=close_at)
