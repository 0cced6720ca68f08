"""Publishing through the gateway (prepare -> sign -> submit) and reading what the chain says,
against a real gateway process, a real devnet and real IPFS nodes."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ledgerlearn.chain.events import EventStream
from ledgerlearn.core.rules import Status, to_fixed
from ledgerlearn.flows.policy import Policy
from ledgerlearn.model import ModelSpec, build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits, mlp_digits
from ledgerlearn.model.weights import encode
from ledgerlearn_gateway.client import GatewayClient, GatewayError, PublicationRequest
from tests.api.conftest import GatewayProcess, World, digits_validation, publication_form


def request_for(world: World, **policy: Any) -> PublicationRequest:
    fields: dict[str, Any] = {
        "quorum": 2,
        "max_faulty_validators": 0,
        "rounds": 2,
        "round_length": 12,  # each provider joins, commits and reveals: a block each
        "score_window": 6,
        "threshold": 0.0,
        "threshold_mode": "absolute",
    }
    fields.update(policy)
    return PublicationRequest(
        spec=logreg_digits().to_json(),
        validation=digits_validation(),
        validation_name="validation.npz",
        policy=Policy(**fields),
        committee=world.committee,
    )


@pytest.fixture(scope="module")
def published(world: World, gateway: GatewayProcess) -> dict[str, Any]:
    with GatewayClient(gateway.url, world.publisher) as client:
        return client.publish(request_for(world))


def test_a_publication_is_relayed_with_the_publishers_signature(
    world: World, published: dict[str, Any]
) -> None:
    task_id = published["task_id"]
    reader = world.client()
    task = reader.task(task_id)
    assert task.publisher == world.publisher.address  # the publisher, not the relayer
    assert task.quorum == 2 and task.threshold == to_fixed(0.0)
    # the relayer paid for it: the transaction came from the gateway's account
    tx = world.chain.w3.eth.get_transaction(published["tx_hash"])
    assert tx["from"] == world.relayer.address
    assert reader.publish_nonce(world.publisher.address) == 1
    # the spec the gateway put on IPFS is the one uploaded (hash on chain = sha256 of it)
    assert task.model_spec_hash == hashlib.sha256(logreg_digits().to_json()).digest()


def test_reads_show_the_task_its_rounds_members_and_model(
    world: World, gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    task_id = published["task_id"]
    http = httpx.Client(base_url=gateway.url, timeout=30)
    page = http.get("/tasks").json()
    assert task_id in [t["task_id"] for t in page["items"]]
    detail = http.get(f"/tasks/{task_id}").json()
    assert detail["publisher"] == world.publisher.address
    assert detail["committee"] == world.committee and detail["flow"] == "federation"
    rounds = http.get(f"/tasks/{task_id}/rounds").json()
    assert [r["round"] for r in rounds["items"]] == [1]
    dag = http.get(f"/tasks/{task_id}/dag")
    assert dag.status_code == 409
    assert dag.json()["message"] == f"task {task_id} is a federation task: see its /rounds"
    members = {m["account"]: m for m in http.get("/members", params={"limit": 500}).json()["items"]}
    assert members[world.publisher.address]["roles"] == ["PUBLISHER"]
    assert members[world.validators[0].address]["roles"] == ["VALIDATOR"]
    assert members[world.admin.address]["roles"] == ["ADMIN"]
    assert members[world.validators[0].address]["registered"]
    model = http.get(f"/tasks/{task_id}/model").json()
    assert model["source"] == "initial weights"
    assert model["content_hash"] == published["params"]["initial_weights_hash"]
    weights = http.get(model["download"])
    assert weights.status_code == 200
    assert "0x" + hashlib.sha256(weights.content).hexdigest() == model["content_hash"]
    health = http.get("/health").json()
    assert health["status"] == "ok" and health["chain"]["ok"] and health["ipfs"]["ok"]
    assert health["relayer"]["detail"]["address"] == world.relayer.address


def test_pagination(gateway: GatewayProcess, world: World) -> None:
    http = httpx.Client(base_url=gateway.url, timeout=30)
    everything = http.get("/members", params={"limit": 500}).json()
    assert everything["total"] >= 8
    page = http.get("/members", params={"offset": 2, "limit": 3}).json()
    assert page["items"] == everything["items"][2:5]
    assert page["total"] == everything["total"] and page["offset"] == 2 and page["limit"] == 3
    bad = http.get("/members", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"


def test_unknown_ids_are_404_with_the_error_body(
    gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    http = httpx.Client(base_url=gateway.url, timeout=30)
    task_id = published["task_id"]
    for path in (
        "/tasks/999999",
        f"/tasks/{task_id}/rounds/77",
        f"/tasks/{task_id}/updates/0x" + "ab" * 32,
        "/models/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "/publications/" + "0" * 32,
        "/members/0x" + "12" * 20,
    ):
        response = http.get(path)
        assert response.status_code == 404, path
        body = response.json()
        assert body["status"] == 404 and body["error"] == "not_found" and body["message"]


def test_updates_scores_and_decisions_are_read_back(
    world: World, gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    task_id = published["task_id"]
    spec = logreg_digits()
    rng = np.random.default_rng(0)
    updates = []
    for i, provider in enumerate(world.providers[:2]):
        base = state_dict_to_arrays(build(spec, seed=i))
        weights = {k: (v + rng.normal(size=v.shape)).astype(np.float32) for k, v in base.items()}
        data = encode(weights, spec=spec)
        cid, digest = world.node.put(data)
        client = world.client(provider)
        client.join_task(task_id)
        client.submit_update(task_id, 1, digest, cid, 100 + i)
        updates.append(digest)
    # validator 0 approves both, validator 1 rejects the second: first accepted (2 of 3 pass)
    world.client(world.validators[0]).submit_scores(
        task_id, updates, [to_fixed(0.9), to_fixed(0.8)]
    )
    world.client(world.validators[1]).submit_scores(
        task_id, updates, [to_fixed(0.7), to_fixed(-1.0)]
    )
    http = httpx.Client(base_url=gateway.url, timeout=30)
    for _ in range(50):
        detail = http.get(f"/tasks/{task_id}/rounds/1").json()
        if len(detail["updates"]) == 2 and len(detail["updates"][1]["scores"]) == 2:
            break
        threading.Event().wait(0.2)
    first, second = detail["updates"]
    assert first["status"] == "accepted" and second["status"] == "pending"
    assert [s["score"] for s in first["scores"]] == [0.9, 0.7]
    assert [s["passed"] for s in second["scores"]] == [True, False]
    assert first["provider"] == world.providers[0].address and first["num_samples"] == 100
    accepted = http.get(f"/tasks/{task_id}/updates", params={"status": "accepted"}).json()
    assert [u["update"] for u in accepted["items"]] == ["0x" + updates[0].hex()]
    one = http.get(f"/tasks/{task_id}/updates/0x{updates[1].hex()}").json()
    assert one["status"] == "pending" and one["median_score"] == -1.0
    assert world.client().update(task_id, updates[0]).status is Status.ACCEPTED


def test_the_event_stream_sends_contract_events(world: World, gateway: GatewayProcess) -> None:
    received: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", gateway.url + "/events", timeout=60) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            ready.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    if received[-1]["name"] == "TaskPublished":
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(30)
    with GatewayClient(gateway.url, world.publisher) as client:
        task_id = client.publish(request_for(world, rounds=1))["task_id"]
    thread.join(60)
    published = [e for e in received if e["name"] == "TaskPublished"]
    assert published and published[0]["args"]["task_id"] == task_id
    assert published[0]["args"]["publisher"] == world.publisher.address


def chain_event_ids(world: World, task_id: int | None = None) -> list[str]:
    """Every event of the deployment (of one task) read from the chain, oldest first."""
    stream = EventStream(world.client())
    ids: list[str] = []
    while True:
        batch = stream.poll()
        ids += [
            f"{e.block_number}-{e.log_index}"
            for e in batch.events
            if task_id is None or e.args.get("task_id") == task_id
        ]
        stream.commit(batch)
        if batch.to_block >= world.client().block_number():
            return ids


def history_ids(http: httpx.Client, task_id: int | None = None, limit: int = 7) -> list[str]:
    """Every event the gateway's history pages hold, newest first."""
    ids: list[str] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if task_id is not None:
            params["task_id"] = task_id
        if before is not None:
            params["before"] = before
        page = http.get("/events/history", params=params).raise_for_status().json()
        ids += [e["id"] for e in page["items"]]
        before = page["next_before"]
        if before is None:
            return ids


def test_the_event_history_holds_every_event_once_newest_first(
    world: World, gateway: GatewayProcess
) -> None:
    with GatewayClient(gateway.url, world.publisher) as client:
        task_id = client.publish(request_for(world, rounds=1))["task_id"]
    http = httpx.Client(base_url=gateway.url, timeout=30)
    expected = chain_event_ids(world)
    last_block = int(expected[-1].split("-")[0])

    def up_to_snapshot(ids: list[str]) -> list[str]:  # events may go on after the snapshot
        return [i for i in ids if int(i.split("-")[0]) <= last_block]

    deadline = time.monotonic() + 60
    while (got := up_to_snapshot(history_ids(http))) != expected[::-1]:  # it syncs every 0.2 s
        assert time.monotonic() < deadline, (got[:5], expected[-5:])
        time.sleep(0.3)
    assert len(set(got)) == len(got) > 10
    task_events = chain_event_ids(world, task_id)
    assert task_events and up_to_snapshot(history_ids(http, task_id, limit=2)) == [
        i for i in task_events[::-1] if int(i.split("-")[0]) <= last_block
    ]
    # the stream replays from the history after `since`, then goes on live
    middle = expected[len(expected) // 2]
    replayed: list[str] = []
    with http.stream("GET", "/events", params={"since": middle}) as response:
        for line in response.iter_lines():
            if line.startswith("id: "):
                replayed.append(line[4:])
                if len(replayed) == len(expected) - len(expected) // 2 - 1:
                    break
    assert replayed == expected[len(expected) // 2 + 1 :]
    bad = http.get("/events/history", params={"before": "12-x"})
    assert bad.status_code == 422


def test_bad_inputs_are_422_naming_the_field(world: World, gateway: GatewayProcess) -> None:
    with GatewayClient(gateway.url, world.publisher) as client:

        def attempt(files: dict[str, Any], data: dict[str, str]) -> GatewayError:
            with pytest.raises(GatewayError) as caught:
                client.call("POST", "/tasks", signed=True, files=files, data=data)
            return caught.value

        files, data = publication_form(world)
        bad_spec = attempt(
            {**files, "spec": ("spec.json", b'{"layers": 5}', "application/json")}, data
        )
        assert bad_spec.status == 422 and bad_spec.field == "spec"
        unsafe = attempt(
            files, {**data, "policy": json.dumps({"quorum": 3, "max_faulty_validators": 1})}
        )
        assert unsafe.status == 422 and unsafe.field == "policy.quorum"
        assert "f < k <= n - f" in str(unsafe)
        typo = attempt(
            files,
            {**data, "policy": json.dumps({"quorum": 2, "max_faulty_validators": 0, "rounds": 0})},
        )
        assert typo.status == 422 and typo.field == "policy.rounds"
        rule = attempt(
            files,
            {
                **data,
                "policy": json.dumps(
                    {"quorum": 2, "max_faulty_validators": 0, "aggregation_rule": "avg"}
                ),
            },
        )
        assert rule.status == 422 and rule.field == "policy.aggregation_rule"
        outsider = attempt(files, {**data, "committee": world.outsider.address})
        assert outsider.status == 422 and outsider.field == "committee"
        labels = attempt({**files, "validation": ("v.csv", b"1,2,4\n4,5,6\n", "text/csv")}, data)
        assert labels.status == 422 and labels.field == "validation"
        numbered = attempt({**files, "validation": ("v.csv", b"0,1,2\n4,5,6\n", "text/csv")}, data)
        assert numbered.status == 422 and numbered.field == "validation_header"
        assert str(numbered) == (
            "422: validation: v.csv: line 1 reads 0, 1, 2: column numbers of a header, or a "
            "line of data? set the form field validation_header to true or false"
        )
        pickle = attempt(
            {**files, "weights": ("w.safetensors", b"\x80\x04K\x01.", "application/octet-stream")},
            data,
        )
        assert pickle.status == 422 and pickle.field == "weights"


def test_an_upload_over_the_limit_is_413(world: World, gateway: GatewayProcess) -> None:
    limit = httpx.get(gateway.url + "/info").json()["max_upload_bytes"]
    with GatewayClient(gateway.url, world.publisher) as client:
        files, data = publication_form(world)
        files["weights"] = ("w.safetensors", b"\0" * (limit + 1), "application/octet-stream")
        with pytest.raises(GatewayError) as caught:
            client.call("POST", "/tasks", signed=True, files=files, data=data)
    assert caught.value.status == 413


def test_a_csv_header_of_column_numbers_is_taken_when_said(
    world: World, gateway: GatewayProcess
) -> None:
    arrays = np.load(io.BytesIO(digits_validation()))
    x, y = arrays["x"], arrays["y"]
    lines = [",".join(str(i) for i in range(65))]  # as a dataframe with numbered columns writes
    lines += [
        ",".join([*(f"{v:g}" for v in row), str(label)]) for row, label in zip(x, y, strict=True)
    ]
    csv = ("\n".join(lines) + "\n").encode()
    with GatewayClient(gateway.url, world.publisher) as client:
        files, data = publication_form(world)
        files["validation"] = ("numbered.csv", csv, "text/csv")
        with pytest.raises(GatewayError) as caught:
            client.call("POST", "/tasks", signed=True, files=files, data=data)
        assert caught.value.status == 422 and caught.value.field == "validation_header"
        prepared = client.call(
            "POST", "/tasks", signed=True, files=files, data={**data, "validation_header": "true"}
        )
    assert prepared["status"] == "prepared"


def test_every_content_a_task_names_is_served_checked_against_its_hash(
    world: World, gateway: GatewayProcess
) -> None:
    model = mlp_digits(hidden=(7,))  # a spec (and initial weights) no other task names
    request = dataclasses.replace(
        request_for(world, rounds=1, round_length=40), spec=model.to_json()
    )
    with GatewayClient(gateway.url, world.publisher) as client:
        published = client.publish(request)
    task_id, params = published["task_id"], published["params"]
    http = httpx.Client(base_url=gateway.url, timeout=60)

    # the model spec: before, /models/<spec CID> was a 404 and nothing served it
    spec_cid = params["model_spec_cid"]
    spec = http.get(f"/content/{spec_cid}")
    assert spec.status_code == 200, spec.text
    assert spec.headers["content-type"] == "application/json"
    assert "0x" + hashlib.sha256(spec.content).hexdigest() == params["model_spec_hash"]
    assert spec.headers["x-content-sha256"] == params["model_spec_hash"]
    assert spec.headers["x-content-kind"] == "model spec"
    assert spec.headers["x-task-id"] == str(task_id)
    assert ModelSpec.from_json(spec.content) == model
    not_a_model = http.get(f"/models/{spec_cid}")
    assert not_a_model.status_code == 404
    assert not_a_model.json()["message"] == (
        f"{spec_cid} is the model spec of task {task_id}, not a model; GET /content/{spec_cid} "
        "serves what the chain names"
    )
    parsed = http.get(f"/tasks/{task_id}/spec")
    assert parsed.status_code == 200
    assert parsed.json() == json.loads(model.to_json())
    assert parsed.headers["x-content-cid"] == spec_cid
    assert http.get("/tasks/999999/spec").status_code == 404

    # the initial weights, at both addresses
    for path in (
        f"/content/{params['initial_weights_cid']}",
        f"/models/{params['initial_weights_cid']}",
    ):
        weights = http.get(path)
        assert weights.status_code == 200 and weights.headers["x-content-kind"] == "initial weights"
        assert weights.headers["content-type"] == "application/octet-stream"
        assert "0x" + hashlib.sha256(weights.content).hexdigest() == params["initial_weights_hash"]

    # an update
    arrays = state_dict_to_arrays(build(model, seed=42))
    data = encode(arrays, spec=model)
    cid, digest = world.node.put(data)
    provider = world.client(world.providers[2])
    provider.join_task(task_id)
    provider.submit_update(task_id, 1, digest, cid, 50)
    for _ in range(100):
        update = http.get(f"/content/{cid}")
        if update.status_code != 404:
            break
        threading.Event().wait(0.2)
    assert update.status_code == 200 and update.content == data
    assert update.headers["x-content-kind"] == "update"
    assert update.headers["x-content-sha256"] == "0x" + digest.hex()

    # a validation fragment: ciphertext for one member, not served
    fragment_cid = params["fragment_cids"][0]
    fragment = http.get(f"/content/{fragment_cid}")
    assert fragment.status_code == 403
    body = fragment.json()
    assert body["error"] == "forbidden" and body["message"] == (
        f"{fragment_cid} is a validation fragment of task {task_id}: ciphertext only committee "
        f"member {world.committee[0]} can read; it is not served"
    )
    unknown = http.get("/content/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
    assert unknown.status_code == 404


def test_the_spec_schema_is_served_open_at_a_stable_url(gateway: GatewayProcess) -> None:
    import jsonschema_rs

    from ledgerlearn.model.schema import schema_bytes

    response = httpx.get(gateway.url + "/schemas/model-spec.v1.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    assert response.content == schema_bytes()
    validator = jsonschema_rs.validator_for(response.json())
    assert validator.is_valid(json.loads(logreg_digits().to_json()))
    assert not validator.is_valid(
        {"input_shape": [64], "num_classes": 10, "layers": [{"type": "Lambda"}]}
    )


GATEWAY_SERIES = {
    "ledgerlearn_http_requests": ("counter", {"route", "status"}),
    "ledgerlearn_sse_subscribers": ("gauge", set()),
    "ledgerlearn_chain_head_block": ("gauge", set()),
    "ledgerlearn_index_lag_blocks": ("gauge", set()),
    "ledgerlearn_keeper_actions": ("counter", set()),
    "ledgerlearn_keeper_errors": ("counter", set()),
    "ledgerlearn_downloads": ("counter", {"result"}),
    "ledgerlearn_relayer_balance_wei": ("gauge", set()),
    "ledgerlearn_ipfs_peers": ("gauge", set()),
    "ledgerlearn_fetch_failures": ("counter", {"cause"}),
}
"""The gateway's series, frozen: dashboards and alerts depend on these names and labels."""


def test_metrics_count_requests_by_route_and_read_the_gateway(
    world: World, gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    """A live scrape of ``GET /metrics`` (open, unsigned): requests counted by route template
    and status (never the raw path), downloads by result, event-stream subscribers, the index
    and the relayer as the chain sees them."""
    http = httpx.Client(base_url=gateway.url, timeout=30)
    task_id = published["task_id"]

    def scrape() -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        response = http.get("/metrics")  # no signature
        seconds = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=")
        return {f.name: f for f in text_string_to_metric_families(response.text)}, seconds

    def value(families: dict[str, Any], sample: str, **labels: str) -> float:
        found = [
            s.value
            for f in families.values()
            for s in f.samples
            if s.name == sample and s.labels == labels
        ]
        assert len(found) <= 1
        return found[0] if found else 0.0

    def requests(families: dict[str, Any], route: str, status: str) -> float:
        return value(families, "ledgerlearn_http_requests_total", route=route, status=status)

    before, _ = scrape()
    for _ in range(3):
        assert http.get(f"/tasks/{task_id}").status_code == 200
    assert http.get("/tasks/987654").status_code == 404
    assert http.get("/no/such/path").status_code == 404
    assert http.post("/tasks").status_code == 401  # refused by the signature middleware
    model = http.get(f"/tasks/{task_id}/model").json()
    assert http.get(model["download"]).status_code == 200
    with httpx.Client(base_url=gateway.url, timeout=30) as listener:
        with listener.stream("GET", "/events") as stream:
            assert stream.status_code == 200
            deadline = time.monotonic() + 30
            while True:
                during, _ = scrape()
                if value(during, "ledgerlearn_sse_subscribers") >= 1:
                    break
                assert time.monotonic() < deadline, "the open stream was never counted"
    after, seconds = scrape()
    assert seconds < 1.0, seconds

    def delta(route: str, status: str) -> float:
        return requests(after, route, status) - requests(before, route, status)

    assert delta("/tasks/{task_id}", "200") == 3
    assert delta("/tasks/{task_id}", "404") == 1
    assert delta("unmatched", "404") == 1
    assert delta("/tasks", "401") == 1
    assert delta("/models/{cid}", "200") == 1
    assert delta("/events", "200") == 1
    routes = {s.labels["route"] for s in after["ledgerlearn_http_requests"].samples}
    assert not any("987654" in r or task_id == r for r in routes), routes  # templates only
    ok = value(after, "ledgerlearn_downloads_total", result="ok")
    assert ok - value(before, "ledgerlearn_downloads_total", result="ok") == 1
    # the index and the relayer as the chain sees them
    head = value(after, "ledgerlearn_chain_head_block")
    assert 0 < head <= world.chain.w3.eth.block_number
    assert 0 <= value(after, "ledgerlearn_index_lag_blocks") <= 5
    balance = value(after, "ledgerlearn_relayer_balance_wei")
    chain_balance = world.chain.w3.eth.get_balance(world.relayer.address)
    assert balance == pytest.approx(chain_balance, rel=1e-3) and balance > 0
    assert value(after, "ledgerlearn_ipfs_peers") >= 1  # the members' node
    assert value(after, "ledgerlearn_keeper_errors_total") == 0
    assert value(after, "ledgerlearn_keeper_actions_total") >= 0
    seen = {f.name: (f.type, set().union(*(s.labels for s in f.samples))) for f in after.values()}
    assert seen == GATEWAY_SERIES
