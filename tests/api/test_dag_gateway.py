"""A dag task through the gateway: its global model is the consensus model the gateway computes
as an ordinary participant (the same content hash this process recomputes), served by CID and
scored over time; the gateway's keeper settles a dag update nobody scored in its window."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from ledgerlearn.agents.participant import Participant
from ledgerlearn.core.rules import to_fixed
from ledgerlearn.flows.dag.consensus import task_consensus
from ledgerlearn.model import build
from ledgerlearn.model.flatten import flatten, state_dict_to_arrays, unflatten
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn_gateway.client import GatewayClient
from tests.api.conftest import GatewayProcess, World
from tests.api.test_publish_and_read import request_for
from tests.api.test_restart_and_orchestration import events, rpc, wait_for

SPEC = logreg_digits()
WINDOW = 6


@pytest.fixture(scope="module")
def dag_gateway(world: World) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(
        world,
        world.root / "dag-gateway",
        env={
            "LEDGERLEARN_GATEWAY__EVAL_DATASET": "digits",
            "LEDGERLEARN_GATEWAY__FETCH_TIMEOUT_S": "3",
        },
    ).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def dag_task(world: World, dag_gateway: GatewayProcess) -> dict[str, Any]:
    """A dag task published through the gateway: a, b on the initial model; c on a and b;
    e on b (tips c and e, e scored higher); d on a, never scored."""
    with GatewayClient(dag_gateway.url, world.publisher) as client:
        task_id = client.publish(
            request_for(world, flow="dag", score_window=WINDOW, threshold=0.0, max_parents=2)
        )["task_id"]
    root = world.client().task(task_id).initial_weights_hash
    base = flatten(dict(state_dict_to_arrays(build(SPEC, seed=0))), SPEC)
    rng = np.random.default_rng(7)
    scorers = [world.client(v) for v in world.validators[:2]]  # quorum 2
    providers = [world.client(p) for p in world.providers]
    for p in providers:
        p.join_task(task_id)

    def submit(who: int, parents: list[bytes], score: float | None) -> bytes:
        vector = base + rng.normal(0, 0.05, base.size).astype(np.float32)
        cid, digest = world.node.put(encode(unflatten(vector, SPEC), spec=SPEC))
        providers[who].submit_dag_update(task_id, parents, digest, cid, 20)
        if score is not None:
            for scorer in scorers:
                scorer.submit_score(task_id, digest, to_fixed(score))
        return digest

    a = submit(0, [root], 0.6)
    b = submit(1, [root], 0.7)
    c = submit(2, [a, b], 0.8)
    e = submit(0, [b], 0.9)
    d = submit(1, [a], None)
    return {"task_id": task_id, "a": a, "b": b, "c": c, "d": d, "e": e}


def test_the_dag_tasks_model_is_the_consensus_anyone_recomputes(
    world: World, dag_gateway: GatewayProcess, dag_task: dict[str, Any]
) -> None:
    task_id = dag_task["task_id"]
    url = f"{dag_gateway.url}/tasks/{task_id}/model"
    tips = ["0x" + dag_task["e"].hex(), "0x" + dag_task["c"].hex()]  # best first
    model = wait_for(
        lambda: (m := httpx.get(url).json()).get("tips") == tips and m, 60, "the consensus"
    )
    assert model["flow"] == "dag" and model["round"] is None and model["block"] > 0
    assert "consensus model: median of the best 2 tip(s) of 4 accepted updates" in model["source"]
    # anyone recomputes it from the chain and IPFS: this process gets the same content hash
    reader = Participant(world.client(), world.node, world.root / "dag-reader")
    reader.sync()
    expected = task_consensus(reader, task_id)
    assert model["content_hash"] == "0x" + expected.content_hash.hex()
    assert ["0x" + t.hex() for t in expected.tips] == tips
    # its bytes are served by CID, checked against that hash
    download = httpx.get(dag_gateway.url + model["download"], timeout=30)
    assert download.status_code == 200, download.text
    assert hashlib.sha256(download.content).hexdigest() == model["content_hash"][2:]
    assert download.content == expected.content
    assert download.headers["X-Model-Source"] == "consensus"


def test_the_card_and_the_model_exports_are_served(
    world: World, dag_gateway: GatewayProcess, dag_task: dict[str, Any], tmp_path: Path
) -> None:
    """The gateway serves the task's model card (counts as the chain's index says) and its
    model as ONNX (agreeing with torch in onnxruntime on the digits test split), made once."""
    from ledgerlearn.core.rules import Status
    from ledgerlearn.data.datasets import load_digits
    from ledgerlearn.model.export import load_model, onnx_session

    task_id = dag_task["task_id"]
    http = httpx.Client(base_url=dag_gateway.url, timeout=120)

    def served(path: str, **params: Any) -> httpx.Response:  # 503 while another job runs
        return wait_for(
            lambda: (r := http.get(path, params=params)).status_code != 503 and r, 120, path
        )

    reader = Participant(world.client(), world.node, world.root / "export-reader")
    reader.sync()
    record = reader.index.tasks[task_id]
    expected = task_consensus(reader, task_id)
    card = served(f"/tasks/{task_id}/card").raise_for_status().json()
    assert card["task"]["id"] == task_id and card["task"]["flow"] == "dag"
    for status in (Status.ACCEPTED, Status.REJECTED, Status.PENDING):
        counted = sum(u.status is status for u in record.updates.values())
        assert card["updates"][status.name.lower()] == counted
    assert card["model"]["content_hash"] == "0x" + expected.content_hash.hex()
    assert card["trained"]["spec_hash"] == "0x" + record.params.model_spec_hash.hex()
    markdown = served(f"/tasks/{task_id}/card", format="markdown")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert expected.content_hash.hex()[:12] in markdown.text
    # the model as ONNX, agreeing with torch on the digits test split
    onnx = served(f"/tasks/{task_id}/model/export", format="onnx").raise_for_status()
    assert onnx.headers["X-Ledgerlearn-Content-Hash"] == "0x" + expected.content_hash.hex()
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx.content)
    test = load_digits("test")
    x = test.x.astype(np.float32)
    session = onnx_session(path)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    import torch

    with torch.no_grad():
        want = load_model(SPEC, expected.content)(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() < 1e-4
    assert (got.argmax(1) == want.argmax(1)).all()
    # made once: the second download is the same file, not a new export
    exported = list((dag_gateway.state_dir / "exports").glob("task-*/model.onnx"))
    assert len(exported) == 1
    made = exported[0].stat().st_mtime_ns
    again = served(f"/tasks/{task_id}/model/export", format="onnx")
    assert again.content == onnx.content and exported[0].stat().st_mtime_ns == made
    safetensors = served(f"/tasks/{task_id}/model/export", format="safetensors")
    assert safetensors.content == expected.content
    # a dag task has no rounds; unknown tasks and formats are refused with the error body
    assert served(f"/tasks/{task_id}/model/export", round=1).status_code == 409
    assert http.get("/tasks/999/card").status_code == 404
    assert http.get(f"/tasks/{task_id}/model/export", params={"format": "pkl"}).status_code == 422


def test_a_dag_task_has_a_graph_and_no_rounds(
    dag_gateway: GatewayProcess, dag_task: dict[str, Any]
) -> None:
    task_id = dag_task["task_id"]
    http = httpx.Client(base_url=dag_gateway.url, timeout=30)
    rounds = http.get(f"/tasks/{task_id}/rounds")
    assert rounds.status_code == 409
    assert (
        rounds.json()["message"] == f"task {task_id} is a dag task: it has no rounds (see its /dag)"
    )
    assert http.get(f"/tasks/{task_id}/dag").status_code == 200
    listed = {
        f: [t["task_id"] for t in http.get("/tasks", params={"flow": f}).json()["items"]]
        for f in ("dag", "federation")
    }
    assert task_id in listed["dag"] and task_id not in listed["federation"]
    unknown = http.get("/tasks", params={"flow": "gossip"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "flow"
    assert "'federation' or 'dag'" in unknown.json()["message"]


def test_a_dag_update_has_no_round_and_no_round_filter_matches_it(
    dag_gateway: GatewayProcess, dag_task: dict[str, Any]
) -> None:
    task_id = dag_task["task_id"]
    update = httpx.get(f"{dag_gateway.url}/tasks/{task_id}/updates/0x{dag_task['a'].hex()}")
    assert update.status_code == 200, update.text
    assert update.json()["round"] is None and update.json()["block_number"] > 0
    block = update.json()["block_number"]  # what the round used to hold
    listing = httpx.get(f"{dag_gateway.url}/tasks/{task_id}/updates", params={"round": block})
    assert listing.status_code == 200 and listing.json()["items"] == []


def test_the_dag_tasks_curve_scores_each_consensus_model_by_block(
    dag_gateway: GatewayProcess, dag_task: dict[str, Any]
) -> None:
    task_id = dag_task["task_id"]
    latest = wait_for(
        lambda: (
            (m := httpx.get(f"{dag_gateway.url}/tasks/{task_id}/model").json()).get("tips") and m
        ),
        60,
        "a consensus model",
    )
    curve = wait_for(
        lambda: (
            (c := httpx.get(f"{dag_gateway.url}/tasks/{task_id}/metrics").json())["points"]
            and c["points"][-1]["content_hash"] == latest["content_hash"]
            and c
        ),
        60,
        "the evaluation of the latest consensus model",
    )
    assert curve["source"] == "gateway" and curve["axis"] == "block"
    assert "each consensus model" in curve["description"]
    points = curve["points"]
    assert points[0]["round"] == 0  # the initial weights
    assert [p["round"] for p in points] == sorted(p["round"] for p in points)
    assert all(0.0 <= p["value"] <= 1.0 for p in points)


def test_the_gateway_settles_a_dag_update_nobody_scored(
    world: World, dag_gateway: GatewayProcess, dag_task: dict[str, Any]
) -> None:
    """Nobody scored d: it waits for a quorum through the scoring extension, then the gateway's
    keeper settles it as expired (not judged, not rejected)."""
    task_id, d = dag_task["task_id"], dag_task["d"]
    extension = httpx.get(f"{dag_gateway.url}/tasks/{task_id}").json()["score_extension"]
    assert extension > 0
    rpc(world, "anvil_mine", hex(WINDOW + 2))  # past d's scoring window, within the extension
    assert (
        httpx.get(f"{dag_gateway.url}/tasks/{task_id}/updates/0x{d.hex()}").json()["status"]
        == "pending"
    )
    rpc(world, "anvil_mine", hex(extension))  # the extension is over
    update = wait_for(
        lambda: (
            (u := httpx.get(f"{dag_gateway.url}/tasks/{task_id}/updates/0x{d.hex()}").json())[
                "status"
            ]
            == "expired"
            and u
        ),
        60,
        "the gateway to settle the unscored update",
    )
    assert update["scores"] == []
    expired = [
        e for e in events(world) if e.name == "UpdateExpired" and e.args["task_id"] == task_id
    ]
    assert [e.args["update"] for e in expired] == [d]  # nobody else settles in this test
    settled_by = world.chain.w3.eth.get_transaction(expired[0].tx_hash)["from"]
    assert settled_by == world.relayer.address


def test_a_dag_task_whose_tip_is_withheld_gets_no_consensus_and_stops_no_other(
    world: World, dag_gateway: GatewayProcess, dag_task: dict[str, Any]
) -> None:
    """An accepted update whose content nobody has (the scorers here do not fetch): the
    gateway cannot compute that task's consensus, says why, and keeps serving the others."""
    with GatewayClient(dag_gateway.url, world.publisher) as client:
        task_id = client.publish(request_for(world, flow="dag", score_window=WINDOW))["task_id"]
    root = world.client().task(task_id).initial_weights_hash
    content = encode(dict(state_dict_to_arrays(build(SPEC, seed=99))), spec=SPEC)
    withheld_cid = world.node.compute_cid(content)  # never put on any node
    provider = world.client(world.providers[0])
    provider.join_task(task_id)
    provider.submit_dag_update(task_id, [root], hashlib.sha256(content).digest(), withheld_cid, 20)
    for v in world.validators[:2]:
        world.client(v).submit_score(task_id, hashlib.sha256(content).digest(), to_fixed(0.9))
    model = wait_for(
        lambda: (
            "could not compute"
            in (m := httpx.get(f"{dag_gateway.url}/tasks/{task_id}/model").json())["source"]
            and m
        ),
        60,
        "the gateway to give up on the withheld tip",
    )
    # what it serves meanwhile is the initial weights: the consensus it computed before the
    # update was accepted (marked stale), or, when the update came first, the weights as such
    assert model["content_hash"] == "0x" + root.hex()
    assert model["tips"] in (None, ["0x" + root.hex()])
    assert ("stale" in model["source"]) == (model["tips"] is not None)
    assert withheld_cid in model["source"]
    health = httpx.get(dag_gateway.url + "/health").json()
    assert f"task {task_id}" in (health["orchestration"]["error"] or "")
    # the other dag task keeps its consensus model, served by CID
    other = httpx.get(f"{dag_gateway.url}/tasks/{dag_task['task_id']}/model").json()
    assert (
        other["tips"]
        and httpx.get(dag_gateway.url + other["download"], timeout=30).status_code == 200
    )
