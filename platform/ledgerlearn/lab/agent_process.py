"""One agent of a multi-process run: ``python -m ledgerlearn.lab.agent_process ROLE INDEX RUN``
(or :func:`forked_main`, forked from a fork server that imported this module once).

``RUN`` is the run directory written by :mod:`ledgerlearn.lab.demo` (``run.json``: the
RunConfig, the RPC URL, the deployment file, each account's keystore). The process starts its
own IPFS node, registers its peer address (validators: also their encryption key), connects
to the other members' nodes as they register, then runs its agent until the task closes.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ledgerlearn import strict_json
from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.provider import Provider
from ledgerlearn.agents.publisher import Publisher
from ledgerlearn.agents.session import AgentSession, open_session
from ledgerlearn.agents.validator import Validator
from ledgerlearn.chain.keys import load_keystore
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.config import ChainSettings, StorageSettings, VettingPolicy
from ledgerlearn.lab.consortium import oversized
from ledgerlearn.lab.hosts import enter_host
from ledgerlearn.lab.simulate import (
    REWARD_MAX_DISAGREEMENT_BPS,
    REWARD_PROVIDER_SHARE_BPS,
    RunConfig,
    keeper_for,
)
from ledgerlearn.model.spec import ModelSpec

log = logging.getLogger("ledgerlearn.lab.agent")


def main(role: str, index: int, run_dir: Path) -> int:
    """Run one agent; returns the exit code."""
    torch.set_num_threads(1)
    run = strict_json.load_file(run_dir / "run.json", max_bytes=16 * 2**20)
    config = RunConfig.model_validate(run["config"])
    account = load_keystore(Path(run["keystores"][role][index]))
    name = f"{role}-{index}"
    state = run_dir / "agents" / name
    chain = ChainSettings(backend="rpc", rpc_url=run["rpc_url"])
    host = run.get("hosts", {}).get(name)  # a test host of its own, or this machine
    if host is not None:
        enter_host(host["netns"])
    storage = StorageSettings(
        repo_dir=state / "ipfs",
        swarm_host=host["address"] if host is not None else "127.0.0.1",
        swarm_key_file=Path(run["swarm_key"]) if "swarm_key" in run else None,
    )
    with open_session(account, chain, Path(run["deployment"]), state, storage) as session:
        participant = session.participant
        if role == "validator":
            validator = Validator(
                participant,
                account.key,
                fetch_timeout_s=config.fetch_timeout_s,
                prefetch_timeout_s=config.prefetch_timeout_s,
                behaviour=config.validator_behaviour(index, run.get("byzantine", [])),
                sanity=config.committee_filtering,
            )
            validator.register(session.peer_address)
            step: Callable[[], bool] = validator.step
            task_id: int | None = None
        else:
            session.register_peer()
            step, task_id = _role(role, index, config, session, run, run_dir)

        def measured_step() -> bool:
            acted = step()
            participant.stopwatch.save(state / "timings.json")
            return acted

        def done() -> bool:
            tasks = participant.index.tasks
            if task_id is None:  # a validator serves until every task it sits on closes
                mine = [t for t in tasks.values() if session.address in t.params.committee]
                return bool(mine) and all(t.closed for t in mine)
            return task_id in tasks and tasks[task_id].closed

        session.run(measured_step, until=done, poll_s=0.5, timeout_s=run.get("timeout_s"))
        participant.stopwatch.save(state / "timings.json")
        log.info("%s: task closed; serving its content until stopped", name)
        session.serve_forever()  # SIGTERM ends this with SystemExit(0), closing the node
    return 0


def _role(
    role: str,
    index: int,
    config: RunConfig,
    session: AgentSession,
    run: dict[str, Any],
    run_dir: Path,
) -> tuple[Callable[[], bool], int]:
    participant = session.participant
    if role == "publisher":
        return _publisher(config, participant, run, run_dir)
    _, parts, _, _ = config.data()
    task_file = run_dir / "task.json"
    while not task_file.exists():  # ready before the task: the publisher waits for providers
        time.sleep(0.2)
    task_id = int(strict_json.load_file(task_file)["task_id"])
    participant.sync()
    session.peering.refresh()  # the publisher's node, which holds the task's spec
    training = config.training.model_copy(update={"seed": config.seed * 1000 + index})
    provider = Provider(
        participant,
        task_id,
        parts[index],
        training,
        behaviour=config.provider_behaviour(index),
        dag=config.dag,
        pace=config.pace(index),
    )
    provider.check()
    return provider.step, task_id


def _publisher(
    config: RunConfig, participant: Participant, run: dict[str, Any], run_dir: Path
) -> tuple[Callable[[], bool], int]:
    """Publish the run's task (a consortium's publisher escrows its reward, then publishes a
    second task with a model over the validators' size limit, which its committee rejects at
    vetting) and write their ids to ``task.json``; then tend them and keep the rounds."""
    spec, _, validation, _ = config.data()
    publisher = Publisher(participant)
    task_file = run_dir / "task.json"
    if task_file.exists():  # restarted: the tasks are already published
        published = strict_json.load_file(task_file)
    else:
        policy = config.chain_policy()

        def publish(model: ModelSpec) -> int:
            params = publisher.prepare(
                model, validation, list(run["committee"]), policy, seed=config.seed,
                expected_providers=len(config.providers),
            )  # fmt: skip
            return publisher.publish(params).task_id

        task_id = publish(spec)
        vetted = []
        if config.consortium:
            token = participant.client.deployment.reward_token
            if config.reward and token is not None:
                Rewards(participant.client).fund(
                    task_id,
                    token,
                    config.reward,
                    REWARD_PROVIDER_SHARE_BPS,
                    REWARD_MAX_DISAGREEMENT_BPS,
                )
            limit = VettingPolicy().max_parameters  # the validators' (the default policy)
            vetted.append(publish(oversized(spec, limit + limit // 5)))
        published = {"task_id": task_id, "vetted": vetted}
        strict_json.write_file(task_file, published)
    task_id, tasks = int(published["task_id"]), [int(published["task_id"]), *published["vetted"]]
    participant.sync()
    keeper = keeper_for(config, participant, task_id)

    def step() -> bool:  # a drawn committee gets its fragments, then the rounds are kept
        sent = False
        for t in tasks:
            sent = publisher.tend(participant.task(t), validation, seed=config.seed) or sent
        return keeper.step() or sent

    return step, task_id


def _configure_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("LEDGERLEARN_LOG", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )
    for noisy in ("web3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def forked_main(role: str, index: int, run_dir: Path, log_path: Path, env: dict[str, str]) -> None:
    """Entry point of an agent forked from the demo's fork server.

    The fork server imported this module (torch, web3, ...) once; each agent starts from a
    copy of it instead of a fresh interpreter. Output goes to ``log_path``; the environment is
    the agent's own (e.g. a crash point). Exits with :func:`main`'s code.
    """
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    _configure_logging()
    sys.exit(main(role, index, run_dir))


if __name__ == "__main__":
    _configure_logging()
    sys.exit(main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
