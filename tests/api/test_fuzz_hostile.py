"""Property-based fuzzing of every public endpoint of a live gateway, beyond schemathesis'
defaults: requests signed by a publisher (so they pass authentication and reach the parsers),
by a key without a role, or unsigned, with hostile paths, queries, headers and bodies (deep
JSON, NaN, integers beyond every type, bytes that are not text, multipart variants), and
publication forms whose policy and committee Hypothesis builds from hostile values.

Whatever is sent: never a 5xx, never a crash, and every error is the project's body
``{status, error, message, field}``."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerlearn.core.rules import MAX_ABS_THRESHOLD, threshold_to_fixed
from ledgerlearn.core.task_params import RANGES
from ledgerlearn_gateway.signing import sign_request
from tests.api.conftest import GatewayProcess, World, publication_form

ERROR_KEYS = {"status", "error", "message", "field"}
NOBODY: LocalAccount = Account.create()

HOSTILE_TEXT = [
    "1.0", "+1", "-1", "1e3", "1_0", " 1", "0x1", "\u0663", "\uff11", "\u00b2", "9" * 20,
    "9" * 5000, "0", "NaN", "inf", "null", "true", "[]", "{}", "%00", "%ff", "..", "../..",
    "\u202e", "0x" + "ab" * 32, "0x" + "AB" * 20, "0x" + "aB" * 20, "bafy" + "a" * 200, "a" * 129,
]  # fmt: skip
TEMPLATES = [
    "/tasks", "/tasks/{}", "/tasks/{}/rounds", "/tasks/{}/rounds/{}", "/tasks/{}/updates",
    "/tasks/{}/updates/{}", "/tasks/{}/dag", "/tasks/{}/model", "/tasks/{}/metrics",
    "/tasks/{}/spec", "/members", "/members/{}", "/models/{}", "/content/{}", "/schemas/{}",
    "/publications/{}", "/publications/{}/signature", "/health", "/info", "/", "/static/{}",
    "/nowhere/{}",
]  # fmt: skip
OPERATIONS = [
    ("GET", "/tasks"), ("POST", "/tasks"), ("GET", "/tasks/{}"), ("GET", "/tasks/{}/rounds"),
    ("GET", "/tasks/{}/rounds/{}"), ("GET", "/tasks/{}/updates"), ("GET", "/tasks/{}/updates/{}"),
    ("GET", "/tasks/{}/dag"), ("GET", "/tasks/{}/model"), ("GET", "/tasks/{}/metrics"),
    ("GET", "/publications/{}"), ("POST", "/publications/{}/signature"), ("GET", "/members"),
    ("GET", "/members/{}"), ("GET", "/models/{}"), ("GET", "/health"), ("GET", "/info"),
    ("GET", "/tasks/{}/spec"), ("GET", "/content/{}"), ("GET", "/schemas/model-spec.v1.json"),
]  # fmt: skip
"""The gateway's operations (most requests aim at one, with hostile parts)."""
QUERY_KEYS = ["offset", "limit", "round", "provider", "status", "flow", "closed", "task_id", "x"]


def segments() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=40),
    ).map(lambda s: quote(s, safe=""))


def fill(draw: st.DrawFn, template: str) -> str:
    return template.format(*(draw(segments()) for _ in range(template.count("{}"))))


@st.composite
def targets(draw: st.DrawFn) -> tuple[str, str]:
    """(method, path): an operation of the gateway, or anything."""
    if draw(st.integers(0, 9)) < 8:
        method, template = draw(st.sampled_from(OPERATIONS))
    else:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
        template = draw(st.sampled_from(TEMPLATES))
    return method, fill(draw, template)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**300), 2**300),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=12,
    )


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    kind = draw(st.sampled_from(["none", "deep", "json", "bytes", "signature", "constant"]))
    if kind == "none":
        return b"", None
    if kind == "deep":
        depth = draw(st.sampled_from([65, 1000, 60_000, 99_000]))
        opener = draw(st.sampled_from(["[", '{"a":']))
        return (opener * depth).encode(), "application/json"
    if kind == "json":
        return json.dumps(draw(json_values())).encode(), "application/json"
    if kind == "signature":
        value = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=140)))
        return json.dumps({"signature": value}).encode(), "application/json"
    if kind == "constant":
        literal = draw(st.sampled_from(["NaN", "Infinity", "1e400", "9" * 5000, '"\\ud800"']))
        return f'{{"signature": {literal}}}'.encode(), "application/json"
    content_type = draw(
        st.sampled_from(["application/json", "application/octet-stream", "text/plain", None])
    )
    return draw(st.binary(max_size=2048)), content_type


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    query = draw(
        st.dictionaries(
            st.sampled_from(QUERY_KEYS),
            st.one_of(st.sampled_from(HOSTILE_TEXT), st.integers(-(2**70), 2**70).map(str)),
            max_size=3,
        )
    )
    headers: dict[str, bytes] = {}
    if draw(st.booleans()):  # header values as bytes: UTF-8 where no client would send it
        headers["Last-Event-ID"] = draw(st.sampled_from(HOSTILE_TEXT[:12])).strip().encode()
    body, content_type = draw(bodies())
    if content_type is not None:
        headers["content-type"] = content_type.encode()
    method, path = draw(targets())
    return {
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "body": body,
        "signer": draw(SIGNERS),
    }


SIGNERS = st.sampled_from(["publisher"] * 3 + ["nobody", "unsigned", "tampered"])
"""Mostly the publisher: a valid signature carries the request to the parsers."""


def build(world: World, gateway: GatewayProcess, audience: str, spec: dict[str, Any]) -> Any:
    """An httpx request for ``spec``, signed as it says."""
    with httpx.Client(base_url=gateway.url, timeout=60) as client:
        request = client.build_request(
            spec["method"],
            spec["path"],
            params=spec["query"] or None,
            headers=spec["headers"],
            content=spec["body"],
        )
    if spec["signer"] != "unsigned":
        account = NOBODY if spec["signer"] == "nobody" else world.publisher
        signed_body = spec["body"] + (b"x" if spec["signer"] == "tampered" else b"")
        request.headers.update(
            sign_request(
                account,
                chain_id=world.chain.chain_id,
                ledger=world.deployment.ledger,
                audience=audience,
                method=spec["method"],
                path=request.url.raw_path.decode("ascii"),
                body=signed_body,
            )
        )
    return request


def check(response: httpx.Response, what: Any) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert set(body) == ERROR_KEYS and body["status"] == response.status_code, (what, body)
        assert isinstance(body["message"], str) and body["message"], (what, body)


@pytest.fixture(scope="module")
def audience(gateway: GatewayProcess) -> str:
    return str(httpx.get(gateway.url + "/info", timeout=30).json()["gateway_id"])


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=requests())
def test_any_request_to_any_endpoint_gets_a_4xx_body_or_a_success(
    world: World, gateway: GatewayProcess, audience: str, spec: dict[str, Any]
) -> None:
    if spec["path"].startswith("/events") or (
        spec["method"] == "GET" and spec["path"].split("?")[0] == "/events"
    ):
        return  # the event stream never ends by design
    request = build(world, gateway, audience, spec)
    with httpx.Client(timeout=60) as http:
        response = http.send(request)
    check(response, spec)
    assert gateway.process is not None and gateway.process.poll() is None, gateway.tail()


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies(), publication=st.one_of(st.just("0" * 32), segments()), signer=SIGNERS)
def test_hostile_json_bodies_where_a_json_body_is_read(
    world: World,
    gateway: GatewayProcess,
    audience: str,
    body: tuple[bytes, str | None],
    publication: str,
    signer: str,
) -> None:
    content, content_type = body
    spec = {
        "method": "POST",
        "path": f"/publications/{publication}/signature",
        "query": {},
        "headers": {} if content_type is None else {"content-type": content_type.encode()},
        "body": content,
        "signer": signer,
    }
    with httpx.Client(timeout=60) as http:
        response = http.send(build(world, gateway, audience, spec))
    check(response, spec)
    assert gateway.process is not None and gateway.process.poll() is None, gateway.tail()


POLICY_FIELDS = [
    "flow", "metric", "threshold", "threshold_mode", "quorum", "max_faulty_validators",
    "aggregation_rule", "num_byzantine", "rounds", "round_length", "score_window",
    "max_parents", "unknown",
]  # fmt: skip


@st.composite
def forms(draw: st.DrawFn) -> dict[str, Any]:
    """A publication form with one part hostile: the policy (most often), the committee, the
    seed, or the whole policy text; the other parts valid, so that no other refusal hides it."""
    policy: dict[str, Any] = {
        "quorum": 2, "max_faulty_validators": 0, "rounds": 2, "round_length": 6,
        "score_window": 6, "threshold": 0.0, "threshold_mode": "absolute",
    }  # fmt: skip
    committee, seed = "the committee", "0"
    aim = draw(st.sampled_from(["policy", "policy", "policy", "committee", "seed", "text"]))
    if aim == "policy":
        extreme = st.one_of(
            st.sampled_from([2**8, 2**16, 2**32, 2**40, 2**63, 2**64, 2**256, -1, -(2**63) - 1]),
            st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e9, 1000.5]),
            st.integers(-(2**300), 2**300),
            st.floats(),
            json_values(),
        )
        hostile = draw(
            st.dictionaries(st.sampled_from(POLICY_FIELDS), extreme, min_size=1, max_size=3)
        )
        policy.update(hostile)
    elif aim == "committee":
        committee = draw(
            st.one_of(
                st.sampled_from(["[]", "[1, 2]", '["0x' + "0" * 40 + '"]', "0x" + "g" * 40]),
                st.text(max_size=60),
            )
        )
        committee = committee.strip() or world_outsider
    elif aim == "seed":
        seed = draw(st.sampled_from(HOSTILE_TEXT))
    text = json.dumps(policy)  # NaN and Infinity stay literals, as an attacker would send
    if aim == "text":
        text = draw(st.sampled_from(["[" * 1000, '{"quorum": 2, "quorum": 3}', "1e400", "x"]))
    return {"policy": text, "committee": committee, "seed": seed}


world_outsider = "the outsider"
"""Stands for an account without VALIDATOR_ROLE (filled in by the test)."""


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(form=forms())
def test_hostile_publication_forms_get_4xx_bodies(
    world: World, gateway: GatewayProcess, audience: str, form: dict[str, Any]
) -> None:
    files, data = publication_form(world)
    data = {**data, **form}
    if data["committee"] in ("", ",", world_outsider):
        data["committee"] = world.outsider.address  # holds no VALIDATOR_ROLE: 422 before IPFS
    elif data["committee"] == "the committee":
        data["committee"] = ",".join(world.committee)
    with httpx.Client(base_url=gateway.url, timeout=120) as client:
        request = client.build_request("POST", "/tasks", files=files, data=data)
        body = request.read()
        request.headers.update(
            sign_request(
                world.publisher,
                chain_id=world.chain.chain_id,
                ledger=world.deployment.ledger,
                audience=audience,
                method="POST",
                path="/tasks",
                body=body,
            )
        )
        response = client.send(request)
    check(response, form)
    assert response.status_code in (202, 400, 422), (form, response.text[:300])
    if response.status_code == 202:  # what was accepted fits the contract and means something
        params = response.json()["params"]
        for name, bounds in RANGES.items():
            value = params.get(name)
            assert value is None or value in bounds, (name, value, form)
        assert abs(params["threshold"]) <= threshold_to_fixed(MAX_ABS_THRESHOLD), (params, form)


def test_the_gateway_survived_the_fuzzing(gateway: GatewayProcess) -> None:
    assert gateway.process is not None and gateway.process.poll() is None, gateway.tail()
    assert httpx.get(gateway.url + "/health", timeout=30).status_code == 200
    log = gateway.log.read_text(errors="replace")
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]
    assert " ERROR " not in log, log[-3000:]
