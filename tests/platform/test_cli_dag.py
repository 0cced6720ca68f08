"""``ledgerlearn dag tips`` and ``dag consensus`` as a person runs them: two separate OS
processes, each with its own IPFS node, recompute a dag task's consensus model from an anvil
devnet and the members' IPFS nodes, and get the same bytes (the same content hash)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.config import ChainSettings, DevnetSettings, StorageSettings
from ledgerlearn.core.rules import Flow, ThresholdMode
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.flows.dag.consensus import task_consensus
from ledgerlearn.model import build
from ledgerlearn.model.flatten import flatten, state_dict_to_arrays, unflatten
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn.storage import IpfsNode
from ledgerlearn.storage.content import sha256_digest
from tests.platform.chain.conftest import free_port, sha

CLI = [sys.executable, "-m", "ledgerlearn.cli"]
ETHER = 10**18
SPEC = logreg_digits()


@dataclass
class DagWorld:
    rpc: str
    deployment: Path
    dag_task: int
    federation_task: int
    tips: list[bytes]
    expected: bytes  # the consensus model's content hash, computed in this process
    default: bytes  # ... with the defaults (`model get`): the top 5 tips
    accepted: list[bytes]  # in acceptance order


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagWorld]:
    """A devnet with a dag task: the initial model, four accepted updates in two levels, one
    rejected; the content on this process's IPFS node, registered on chain."""
    root_dir = tmp_path_factory.mktemp("cli-dag")
    settings = DevnetSettings(port=free_port(), state_file=root_dir / "devnet" / "state.json")
    with Devnet(settings, log_file=root_dir / "devnet.log") as net:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        admin, publisher = Account.create(), Account.create()
        validators = [Account.create() for _ in range(3)]
        providers = [Account.create() for _ in range(2)]
        for account in [admin, publisher, *validators, *providers]:
            chain.fund(account.address, 100 * ETHER)
        deployment = deploy(chain, admin, admin_delay_s=0)
        deployment.save(root_dir / "deployment.json")
        granting = LedgerClient(chain, deployment, admin)
        granting.grant_role("PUBLISHER", publisher.address)
        for v in validators:
            granting.grant_role("VALIDATOR", v.address)
        for p in providers:
            granting.grant_role("PROVIDER", p.address)
        with IpfsNode(StorageSettings(repo_dir=root_dir / "ipfs"), handle_signals=False) as node:
            owner = LedgerClient(chain, deployment, publisher)
            owner.register_member(node.multiaddrs[0])  # where the readers fetch from
            spec_cid, spec_hash = node.put(SPEC.to_json())
            initial = dict(state_dict_to_arrays(build(SPEC, seed=0)))
            weights_cid, weights_hash = node.put(encode(initial, spec=SPEC))
            params = TaskParams(
                model_spec_hash=spec_hash,
                model_spec_cid=spec_cid,
                initial_weights_hash=weights_hash,
                initial_weights_cid=weights_cid,
                committee=tuple(v.address for v in validators),
                fragment_hashes=tuple(sha(f"fragment-{i}") for i in range(3)),
                fragment_cids=tuple(f"unused-fragment-{i}" for i in range(3)),
                quorum=2,
                max_faulty_validators=0,
                threshold=100_000,
                flow=Flow.DAG,
                threshold_mode=ThresholdMode.ABSOLUTE,
                score_window=50,
                max_parents=2,
            )
            dag_task = owner.publish_task(params)
            federation_task = owner.publish_task(
                TaskParams(**{**params.__dict__, "flow": Flow.FEDERATION})
            )
            clients = [LedgerClient(chain, deployment, p) for p in providers]
            for client in clients:
                client.join_task(dag_task)
            scorers = [LedgerClient(chain, deployment, v) for v in validators]
            rng = np.random.default_rng(0)
            base = flatten(initial, SPEC)

            def submit(client: LedgerClient, parents: list[bytes], score: int) -> bytes:
                vector = base + rng.normal(0, 0.1, base.size).astype(np.float32)
                cid, digest = node.put(encode(unflatten(vector, SPEC), spec=SPEC))
                client.submit_dag_update(dag_task, parents, digest, cid, 10)
                for scorer in scorers[:2]:  # 2 of 3 decide
                    scorer.submit_score(dag_task, digest, score)
                return digest

            a = submit(clients[0], [weights_hash], 600_000)
            b = submit(clients[1], [weights_hash], 700_000)
            c = submit(clients[0], [a, b], 800_000)
            d = submit(clients[1], [b], 900_000)
            e = submit(clients[0], [a], 750_000)
            submit(clients[1], [c], 50_000)  # rejected: c stays a tip
            reader = Participant(LedgerClient(chain, deployment), node, root_dir / "reader")
            reader.sync()
            assert reader.task(dag_task).tips() == [c, d, e]
            expected = task_consensus(reader, dag_task, top_k=2)
            assert expected.tips == [d, c]  # best quality first: 0.9, 0.8
            default = task_consensus(reader, dag_task)
            assert default.tips == [d, c, e]
            yield DagWorld(
                net.rpc_url,
                root_dir / "deployment.json",
                dag_task,
                federation_task,
                [d, c, e],
                expected.content_hash,
                default.content_hash,
                reader.task(dag_task).accepted,
            )


def command(world: DagWorld, *args: str) -> list[str]:
    return [*CLI, "dag", *args, "--rpc", world.rpc, "--deployment", str(world.deployment)]


def env(home: Path) -> dict[str, str]:
    """The command's environment: its IPFS repository and state are temporary directories of
    its own; ``home`` keeps the default settings' directories out of the user's."""
    return {**os.environ, "HOME": str(home), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def test_two_processes_compute_the_same_consensus_model(world: DagWorld, tmp_path: Path) -> None:
    outs = [tmp_path / f"consensus-{i}.safetensors" for i in range(2)]
    processes = [
        subprocess.Popen(
            command(
                world,
                "consensus",
                "--task",
                str(world.dag_task),
                "--top",
                "2",
                "--json",
                "--out",
                str(out),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env(tmp_path / f"home-{i}"),
        )
        for i, out in enumerate(outs)
    ]
    answers = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
        answers.append(json.loads(stdout))
    assert processes[0].pid != processes[1].pid
    expected = "0x" + world.expected.hex()
    assert [a["content_hash"] for a in answers] == [expected, expected]
    assert answers[0]["tips"] == ["0x" + t.hex() for t in world.tips[:2]]
    data = [out.read_bytes() for out in outs]
    assert data[0] == data[1] and "0x" + sha256_digest(data[0]).hex() == expected


def test_tips_are_listed_best_first(world: DagWorld, tmp_path: Path) -> None:
    result = subprocess.run(
        command(world, "tips", "--task", str(world.dag_task), "--json"),
        capture_output=True,
        text=True,
        env=env(tmp_path),
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["tips"]
    assert [t["tip"] for t in listed] == ["0x" + t.hex() for t in world.tips]
    assert [round(t["quality"], 6) for t in listed] == [0.9, 0.8, 0.75]


def test_a_federation_task_has_no_consensus_model(world: DagWorld, tmp_path: Path) -> None:
    result = subprocess.run(
        command(world, "tips", "--task", str(world.federation_task)),
        capture_output=True,
        text=True,
        env=env(tmp_path),
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is a federation task, not a dag task" in result.stderr


def test_model_get_and_card_give_the_consensus_model(world: DagWorld, tmp_path: Path) -> None:
    def model(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "model", *args, "--rpc", world.rpc, "--deployment", str(world.deployment)],
            capture_output=True,
            text=True,
            env=env(tmp_path / "home"),
            stdin=subprocess.DEVNULL,
            timeout=240,
            check=False,
        )

    task = str(world.dag_task)
    got = model("get", task, "--format", "onnx", "--out", str(tmp_path / "m"), "--json")
    assert got.returncode == 0, got.stderr
    summary = json.loads(got.stdout)
    assert summary["model"]["content_hash"] == "0x" + world.default.hex()
    assert summary["model"]["parts"] == ["0x" + t.hex() for t in world.tips]
    content = (tmp_path / "m" / "model.safetensors").read_bytes()
    assert sha256_digest(content) == world.default
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "SHA256SUMS",
        "model.onnx",
        "model.safetensors",
        "spec.json",
    ]
    card = model("card", task, "--json")
    assert card.returncode == 0, card.stderr
    document = json.loads(card.stdout)
    assert document["updates"] == {
        "submitted": 6,
        "accepted": 5,
        "rejected": 1,
        "expired": 0,
        "pending": 0,
    }
    receipts = document["receipts"]
    assert [u["hash"] for u in receipts["accepted_updates"]] == [
        "0x" + u.hex() for u in world.accepted
    ]
    assert receipts["consensus"]["content_hash"] == "0x" + world.default.hex()
    block = receipts["consensus"]["block"]
    assert document["reverify"][0].startswith(
        f"ledgerlearn dag consensus --task {task} --at-block {block}"
    )
    refused = model("get", task, "--round", "1", "--out", str(tmp_path / "r"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"task {task} is a dag task: it has no rounds" in refused.stderr
