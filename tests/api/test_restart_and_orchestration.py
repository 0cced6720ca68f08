"""G2: a gateway killed mid-publication loses nothing and sends nothing twice; two gateways
keeping the same round cause no double effect (the committee still attests)."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from typing import Any

import httpx
from eth_utils.address import to_checksum_address

from ledgerlearn.chain.events import EventStream
from ledgerlearn.core.rules import to_fixed
from ledgerlearn.flows.federation.rounds import aggregate_models
from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import decode, encode
from ledgerlearn_gateway.client import GatewayClient
from tests.api.conftest import GatewayProcess, World, free_port
from tests.api.test_publish_and_read import request_for


def rpc(world: World, method: str, *params: Any) -> Any:
    response = world.chain.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response.get("result")


def wait_for(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def events(world: World) -> list[Any]:
    return EventStream(world.client()).poll(verify=False).events


def test_g2_a_publication_acknowledged_before_a_crash_is_published_once_after_restart(
    world: World,
) -> None:
    swarm = f'["/ip4/127.0.0.1/tcp/{free_port()}"]'  # the same address after the restart
    gateway = GatewayProcess(
        world,
        world.root / "g2-gateway",
        env={
            "LEDGERLEARN_GATEWAY__RECEIPT_WAIT_S": "1",
            "LEDGERLEARN_STORAGE__SWARM_ADDRESSES": swarm,
        },
    ).start()
    reader = world.client()
    try:
        with GatewayClient(gateway.url, world.publisher) as client:
            request = request_for(world, rounds=1)
            prepared = client.prepare(request)
            client.check_typed_data(request, prepared)
            before = reader.task_count()
            rpc(world, "evm_setAutomine", False)  # the relayed transaction waits in the pool
            acknowledged = client.submit(prepared["id"], prepared["typed_data"])
        assert acknowledged["status"] == "submitted" and acknowledged["tx_hash"]
        gateway.kill()  # SIGKILL: no clean shutdown
        rpc(world, "anvil_dropAllTransactions")  # ... and the node forgot the transaction
        assert reader.task_count() == before
        gateway.start()  # re-broadcasts from its outbox at start
        rpc(world, "evm_mine")
        rpc(world, "evm_setAutomine", True)
        published = wait_for(
            lambda: (
                (r := httpx.get(f"{gateway.url}/publications/{prepared['id']}").json())["status"]
                == "published"
                and r
            ),
            30,
            "the publication",
        )
        assert published["tx_hash"] == acknowledged["tx_hash"]  # the very same transaction
        assert reader.task_count() == before + 1
        assert reader.task(published["task_id"]).publisher == world.publisher.address
        with GatewayClient(gateway.url, world.publisher) as client:  # a client retrying
            retry = client.request(
                "POST",
                f"/publications/{prepared['id']}/signature",
                signed=True,
                json={"signature": "0x" + "00" * 65},
            )
        assert retry.status_code == 409
        assert reader.task_count() == before + 1  # nothing twice
    finally:
        rpc(world, "evm_setAutomine", True)
        gateway.stop()


def test_two_gateways_keeping_the_same_round_cause_no_double_effect(world: World) -> None:
    first = GatewayProcess(world, world.root / "keeper-a").start()
    second = GatewayProcess(world, world.root / "keeper-b", relayer="relayer2").start()
    try:
        for g in (first, second):
            orchestration = httpx.get(g.url + "/health").json()["orchestration"]["detail"]
            assert orchestration["enabled"] and orchestration["active"], orchestration
        with GatewayClient(first.url, world.publisher) as client:
            request = request_for(
                world, rounds=1, round_length=25, score_window=8, score_extension=5
            )
            task_id = client.publish(request)["task_id"]
        spec = logreg_digits()
        updates = []
        for i, provider in enumerate(world.providers):
            weights = state_dict_to_arrays(build(spec, seed=10 + i))
            cid, digest = world.node.put(encode(dict(weights), spec=spec))
            client_p = world.client(provider)
            client_p.join_task(task_id)
            client_p.submit_update(task_id, 1, digest, cid, 50)
            updates.append(digest)
        v0, v1 = (world.client(v) for v in world.validators[:2])
        # two approvals decide the first two updates (accepted); the third stays pending
        v0.submit_scores(task_id, updates, [to_fixed(0.9)] * 3)
        v1.submit_scores(task_id, updates[:2], [to_fixed(0.8)] * 2)
        # to the end of the scoring extension (the third update expires there), well before
        # the attestation deadline: the keepers must not close the round before the test attests
        _, _, extended, attest_close = v0.round_deadlines(task_id, 1)
        assert attest_close >= extended + 10
        rpc(world, "anvil_mine", hex(max(1, extended - v0.block_number())))
        proposed = wait_for(
            lambda: [
                e
                for e in events(world)
                if e.name == "AggregateProposed" and e.args["task_id"] == task_id
            ],
            90,
            "an aggregate proposal",
        )
        time.sleep(3)  # give the slower keeper every chance to propose or settle again
        proposal = proposed[0].args
        assert proposal["updates"] == updates[:2]  # the accepted ones, in acceptance order
        cids = _cids(world, task_id, updates[:2])
        contents = [
            decode(world.node.get(c, d), spec) for c, d in zip(cids, updates[:2], strict=True)
        ]
        expected = encode(aggregate_models(spec, contents, "median", 0), spec=spec)
        assert proposal["result_hash"] == hashlib.sha256(expected).digest()
        # the committee recomputed it and attests; quorum 2 finalizes and closes the task
        v0.attest_aggregate(task_id, 1, proposal["result_hash"])
        v1.attest_aggregate(task_id, 1, proposal["result_hash"])
        wait_for(lambda: httpx.get(f"{first.url}/tasks/{task_id}").json()["closed"], 30, "closing")
        log = [e for e in events(world) if e.args.get("task_id") == task_id]
        decided = Counter(
            e.args["update"]
            for e in log
            if e.name in ("UpdateAccepted", "UpdateRejected", "UpdateExpired")
        )
        assert decided == Counter({u: 1 for u in updates})  # each update decided exactly once
        expired = [e for e in log if e.name == "UpdateExpired"]
        # one score of a quorum of 2: settled after the scoring extension, not judged
        assert [e.args["update"] for e in expired] == [updates[2]]
        assert len([e for e in log if e.name == "AggregateProposed"]) == 1
        assert len([e for e in log if e.name == "RoundFinalized"]) == 1
        keepers = {world.relayer.address, _address(world, "relayer2")}
        actors = {e.args.get("proposer") for e in log if e.name == "AggregateProposed"}
        assert actors <= keepers
        for g in (first, second):  # each gateway's index catches up on its own poll
            rounds = wait_for(
                lambda g=g: (
                    (items := httpx.get(f"{g.url}/tasks/{task_id}/rounds").json()["items"])[0][
                        "status"
                    ]
                    == "finalized"
                    and items
                ),
                30,
                f"{g.url} to see round 1 finalized",
            )
            assert rounds[0]["accepted"] == 2
    finally:
        first.stop()
        second.stop()


def _cids(world: World, task_id: int, updates: list[bytes]) -> list[str]:
    found = {
        e.args["update"]: e.args["cid"]
        for e in events(world)
        if e.name == "UpdateSubmitted" and e.args["task_id"] == task_id
    }
    return [found[u] for u in updates]


def _address(world: World, name: str) -> str:
    return to_checksum_address(json.loads(world.keystores[name].read_text())["address"])
