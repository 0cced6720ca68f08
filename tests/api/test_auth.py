"""Signed requests (THREATS F1-F5): replay, body swap, stale timestamps, wrong domain, roles,
and replay across a gateway restart; the EIP-712 publication signature is bound to the chain,
the contract, a per-publisher nonce and a deadline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.contract_errors import (
    TaskRegistryExpiredSignature,
    TaskRegistryInvalidSigner,
)
from ledgerlearn.core.task_params import TaskParams, TaskParamsView
from ledgerlearn_gateway.auth import RequestVerifier, SignedRequestMiddleware, UploadSlots
from ledgerlearn_gateway.client import GatewayClient
from ledgerlearn_gateway.database import Database
from ledgerlearn_gateway.nonces import NonceStore
from ledgerlearn_gateway.signing import sign_request
from tests.api.conftest import GatewayProcess, World, publication_form


def signed(
    world: World,
    gateway_url: str,
    account: Any,
    method: str,
    path: str,
    *,
    files: Any = None,
    data: Any = None,
    json_body: Any = None,
    chain_id: int | None = None,
    timestamp: int | None = None,
    audience: str | None = None,
) -> httpx.Request:
    """A request signed by ``account`` for the gateway at ``gateway_url`` (or ``audience``),
    ready to send (and to send again); it carries its own timeout of 120 s."""
    request = httpx.Client(base_url=gateway_url, timeout=120).build_request(
        method, path, files=files, data=data, json=json_body
    )
    body = request.read()
    if audience is None:
        audience = httpx.get(gateway_url + "/info", timeout=30).json()["gateway_id"]
    headers = sign_request(
        account,
        chain_id=chain_id or world.chain.chain_id,
        ledger=world.deployment.ledger,
        audience=audience,
        method=method,
        path=request.url.raw_path.decode(),
        body=body,
        timestamp=timestamp,
    )
    request.headers.update(headers)
    return request


def send(request: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=120) as http:
        return http.send(request)


def copy_of(request: httpx.Request, *, content: bytes | None = None) -> httpx.Request:
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        content=request.content if content is None else content,
    )


def prepare_request(world: World, gateway: GatewayProcess, **kwargs: Any) -> httpx.Request:
    files, data = publication_form(world)
    return signed(
        world, gateway.url, world.publisher, "POST", "/tasks", files=files, data=data, **kwargs
    )


def test_f1_the_same_signed_request_twice_is_refused_the_second_time(
    world: World, gateway: GatewayProcess
) -> None:
    request = prepare_request(world, gateway)
    first = send(request)
    assert first.status_code == 202, first.text
    again = send(copy_of(request))
    assert again.status_code == 401
    assert "replayed request" in again.json()["message"]


def test_f3_a_body_changed_under_the_signature_is_refused(
    world: World, gateway: GatewayProcess
) -> None:
    request = prepare_request(world, gateway)
    tampered = request.content.replace(b'"quorum": 2', b'"quorum": 1')
    assert tampered != request.content
    response = send(copy_of(request, content=tampered))
    assert response.status_code == 401 and "bad signature" in response.json()["message"]


def test_f4_a_timestamp_outside_the_window_is_refused(
    world: World, gateway: GatewayProcess
) -> None:
    window = httpx.get(gateway.url + "/info").json()["signature_window_s"]
    for skew in (-window - 60, window + 60):
        response = send(prepare_request(world, gateway, timestamp=int(time.time()) + skew))
        assert response.status_code == 401
        assert response.json()["field"] == "X-Ledgerlearn-Timestamp"


def test_unsigned_badly_signed_and_other_chain_requests_are_401(
    world: World, gateway: GatewayProcess
) -> None:
    files, data = publication_form(world)
    unsigned = httpx.post(gateway.url + "/tasks", files=files, data=data, timeout=60)
    assert unsigned.status_code == 401 and "unsigned request" in unsigned.json()["message"]
    other_chain = send(prepare_request(world, gateway, chain_id=world.chain.chain_id + 1))
    assert other_chain.status_code == 401 and "bad signature" in other_chain.json()["message"]
    forged = prepare_request(world, gateway)
    forged.headers["X-Ledgerlearn-Address"] = world.relayer.address  # another publisher
    response = send(forged)
    assert response.status_code == 401 and "bad signature" in response.json()["message"]
    # claiming an account without the route's role is refused before the body is read
    forged.headers["X-Ledgerlearn-Address"] = world.admin.address
    assert send(forged).status_code == 403
    garbage = prepare_request(world, gateway)
    garbage.headers["X-Ledgerlearn-Signature"] = "0x" + "00" * 65
    assert send(garbage).status_code == 401


def test_a_valid_signature_without_the_role_is_403(world: World, gateway: GatewayProcess) -> None:
    files, data = publication_form(world)
    request = signed(world, gateway.url, world.outsider, "POST", "/tasks", files=files, data=data)
    response = send(request)
    assert response.status_code == 403
    assert "PUBLISHER_ROLE" in response.json()["message"]
    # a validator holds a role, but not the one publishing needs
    request = signed(
        world, gateway.url, world.validators[0], "POST", "/tasks", files=files, data=data
    )
    assert send(request).status_code == 403


def test_only_the_publisher_may_submit_its_publication(
    world: World, gateway: GatewayProcess
) -> None:
    prepared = send(prepare_request(world, gateway)).json()
    body = {"signature": "0x" + "11" * 65}
    path = f"/publications/{prepared['id']}/signature"
    # another publisher
    request = signed(world, gateway.url, world.relayer, "POST", path, json_body=body)
    response = send(request)
    assert response.status_code == 403 and world.publisher.address in response.json()["message"]
    # an account without PUBLISHER_ROLE: refused before its body is read
    request = signed(world, gateway.url, world.admin, "POST", path, json_body=body)
    response = send(request)
    assert response.status_code == 403 and "PUBLISHER_ROLE" in response.json()["message"]


def _typed(prepared: dict[str, Any], **domain: Any) -> dict[str, Any]:
    typed = json.loads(json.dumps(prepared["typed_data"]))
    typed["domain"].update(domain)
    return typed


def test_f5_publication_signatures_are_bound_to_chain_contract_nonce_and_deadline(
    world: World, gateway: GatewayProcess
) -> None:
    prepared = send(prepare_request(world, gateway)).json()
    params = TaskParams.from_view(TaskParamsView.model_validate(prepared["params"]))
    deadline = prepared["deadline"]
    relayer = LedgerClient(world.chain, world.deployment, world.relayer)
    publisher = world.publisher.address
    # another chain id, another contract: the gateway refuses before relaying ...
    for domain in (
        {"chainId": world.chain.chain_id + 1},
        {"verifyingContract": world.deployment.consortium},
    ):
        signature = LedgerClient.sign_typed_data(world.publisher, _typed(prepared, **domain))
        request = signed(
            world,
            gateway.url,
            world.publisher,
            "POST",
            f"/publications/{prepared['id']}/signature",
            json_body={"signature": "0x" + signature.hex()},
        )
        response = send(request)
        assert response.status_code == 422 and response.json()["field"] == "signature"
        # ... and the contract itself recovers another signer
        with pytest.raises(TaskRegistryInvalidSigner):
            relayer.publish_task_for(params, publisher, deadline, signature)
    # an expired deadline is refused by the contract
    late = _typed(prepared)
    late["message"]["deadline"] = int(world.chain.w3.eth.get_block("latest")["timestamp"]) - 10
    signature = LedgerClient.sign_typed_data(world.publisher, late)
    with pytest.raises(TaskRegistryExpiredSignature):
        relayer.publish_task_for(params, publisher, late["message"]["deadline"], signature)
    # the right signature goes through once; the same signature again is a used nonce
    good = LedgerClient.sign_typed_data(world.publisher, prepared["typed_data"])
    with GatewayClient(gateway.url, world.publisher) as client:
        result = client.submit(prepared["id"], prepared["typed_data"])
    assert result["status"] == "published"
    with pytest.raises(TaskRegistryInvalidSigner):
        relayer.publish_task_for(params, publisher, deadline, good)


def test_f2_a_replay_is_refused_after_a_gateway_restart(world: World) -> None:
    gateway = GatewayProcess(world, world.root / "restarted-gateway").start()
    try:
        request = prepare_request(world, gateway)
        assert send(request).status_code == 202
        gateway.stop()
        gateway.start()
        again = send(copy_of(request))
        assert again.status_code == 401 and "replayed request" in again.json()["message"]
        # a fresh request still works after the restart
        assert send(prepare_request(world, gateway)).status_code == 202
    finally:
        gateway.stop()


def test_closed_reads_leave_the_schemas_open(world: World) -> None:
    gateway = GatewayProcess(
        world, world.root / "closed-gateway", env={"LEDGERLEARN_GATEWAY__OPEN_READS": "false"}
    ).start(ready_path="/health")
    try:
        assert httpx.get(gateway.url + "/tasks", timeout=30).status_code == 401
        unsigned_content = httpx.get(gateway.url + "/content/bafkreigh2akiscaildcq", timeout=30)
        assert unsigned_content.status_code == 401
        schema = httpx.get(gateway.url + "/schemas/model-spec.v1.json", timeout=30)
        assert schema.status_code == 200
        assert schema.headers["content-type"] == "application/schema+json"
        assert schema.json()["$id"] == "urn:ledgerlearn:schema:model-spec:v1"
        audience = (gateway.state_dir / "gateway_id").read_text().strip()  # /info is closed
        request = signed(
            world,
            gateway.url,
            world.publisher,
            "GET",
            "/content/bafkreigh2akiscaildcq",
            audience=audience,
        )
        assert send(request).status_code == 404  # a member's signed read gets through
    finally:
        gateway.stop()


@pytest.mark.parametrize("open_reads", [True, False], ids=["open-reads", "signed-reads"])
@pytest.mark.parametrize("metrics_open", [True, False], ids=["metrics-open", "metrics-signed"])
def test_metrics_are_open_unless_turned_off(
    open_reads: bool, metrics_open: bool, tmp_path: Path
) -> None:
    """``GET /metrics`` needs no signature (Prometheus signs nothing), even with reads closed,
    unless ``gateway.metrics_open`` is off: then an unsigned scrape is 401, reads open or not.
    The signature middleware itself, in front of a small app."""
    app = FastAPI()

    @app.get("/metrics")
    def scrape() -> PlainTextResponse:
        return PlainTextResponse("ledgerlearn_up 1\n")

    @app.get("/tasks")
    def tasks() -> dict[str, list[int]]:
        return {"items": []}

    database = Database(tmp_path / "nonces.sqlite")
    verifier = RequestVerifier(1, "0x" + "11" * 20, "gw-test", 300, NonceStore(database, 300))
    guarded = SignedRequestMiddleware(
        app,
        verifier=lambda: verifier,
        has_role=lambda: lambda role, account: True,
        max_body=1024,
        open_reads=open_reads,
        uploads=UploadSlots(1),
        routes=lambda: app.router.routes,
        metrics_open=metrics_open,
    )

    async def statuses() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=guarded)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return (await client.get("/metrics")).status_code, (
                await client.get("/tasks")
            ).status_code

    metrics, reads = anyio.run(statuses)
    database.close()
    assert metrics == (200 if metrics_open else 401)
    assert reads == (200 if open_reads else 401)
