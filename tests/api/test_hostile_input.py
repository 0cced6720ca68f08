"""THREATS I6 and I7 against a real gateway (uvicorn on 127.0.0.1, real HTTP, a real devnet
and real IPFS nodes): every case found by probing a running gateway, and the variants around
it. Each gets a 4xx body naming the problem (or a 503 with Retry-After when the gateway is
busy), never a crash or a 5xx, and costs the server no more than stated."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn_gateway.client import GatewayClient
from ledgerlearn_gateway.signing import sign_request
from tests.api.conftest import CLI, GatewayProcess, World, publication_form
from tests.api.test_auth import send, signed
from tests.api.test_publish_and_read import request_for

MIB = 2**20
ERROR_KEYS = {"status", "error", "message", "field"}


# -- helpers -----------------------------------------------------------------------------------
def problem(response: httpx.Response, status: int, field: str | None = None) -> str:
    """Assert the project's error body with ``status`` (and ``field``); its message."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert set(body) == ERROR_KEYS and body["status"] == status, body
    if field is not None:
        assert body["field"] == field, body
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def alive(gateway: GatewayProcess) -> None:
    assert gateway.process is not None and gateway.process.poll() is None, gateway.tail()
    assert httpx.get(gateway.url + "/health", timeout=30).status_code == 200


def rss(gateway: GatewayProcess) -> int:
    assert gateway.process is not None
    for line in Path(f"/proc/{gateway.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakRss:
    """The server's peak RSS above what it was when the block started, sampled from /proc."""

    def __init__(self, gateway: GatewayProcess) -> None:
        self.gateway = gateway
        self.baseline = rss(gateway)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss(self.gateway))
            self._stop.wait(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above_mib(self) -> float:
        return (self.peak - self.baseline) / MIB


def raw_status(gateway: GatewayProcess, request: bytes) -> int:
    """The status a raw request gets (for what no HTTP client would send)."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def blocks(gateway: GatewayProcess) -> int:
    """Files in the gateway's IPFS block store: content put on its node adds some."""
    return sum(1 for p in (gateway.state_dir / "ipfs" / "blocks").rglob("*.data") if p.is_file())


def nonces_of(gateway: GatewayProcess, address: str) -> int:
    with sqlite3.connect(f"file:{gateway.state_dir / 'gateway.sqlite'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT COUNT(*) FROM request_nonces WHERE signer = ?", (address.lower(),)
        ).fetchone()
    return int(row[0])


def npz_bomb(rows: int = 2_000_000, features: int = 64) -> bytes:
    """About 1 MB that inflates to rows x features float64 (1 GB): zeros, deflated."""
    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (rows, features)}
    )
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            chunk = bytes(8 * features * 20_000)
            for _ in range(rows // 20_000):
                member.write(chunk)
        y = io.BytesIO()
        np.lib.format.write_array(y, np.zeros(rows, dtype=np.int64))
        archive.writestr("y.npy", y.getvalue())
    return buffer.getvalue()


def big_csv(target_bytes: int = 30_000_000) -> bytes:
    """About 30 MB of CSV packed with values (one digit each: 14.8 M values, under the cap of
    16.7 M), the densest text a parser has to turn into numbers."""
    rows = np.random.default_rng(0).integers(0, 10, size=(1000, 64))
    block = "".join(",".join(map(str, row)) + f",{i % 10}\n" for i, row in enumerate(rows))
    data = block.encode()
    return data * (target_bytes // len(data))


FLOOD = """
import json, signal, sys, threading, httpx
url, clients = sys.argv[1], int(sys.argv[2])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
lock = threading.Lock()
def attack():
    with httpx.Client(timeout=120) as http:
        while not stop.is_set():
            r = http.get(url)
            line = json.dumps({"status": r.status_code, "message": r.json()["message"],
                               "retry_after": r.headers.get("retry-after", "0")})
            with lock:
                print(line, flush=True)
threads = [threading.Thread(target=attack) for _ in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
"""
"""20 clients (threads) downloading one URL in a loop until SIGTERM; one JSON line per answer."""


def publish(world: World, gateway: GatewayProcess, **policy: Any) -> dict[str, Any]:
    with GatewayClient(gateway.url, world.publisher) as client:
        return client.publish(request_for(world, **policy))


@pytest.fixture(scope="module")
def nobody() -> LocalAccount:
    """A fresh key holding no role."""
    account: LocalAccount = Account.create()
    return account


@pytest.fixture(scope="module")
def published(world: World, gateway: GatewayProcess) -> dict[str, Any]:
    return publish(world, gateway, round_length=500)


# -- I6: nesting, numbers, integers ------------------------------------------------------------
def test_a_99000_deep_json_body_is_refused_and_the_gateway_lives(
    world: World, gateway: GatewayProcess, nobody: LocalAccount
) -> None:
    # found: "[" * 99000 on POST /publications/{id}/signature, signed by a fresh key, SIGSEGV
    path = "/publications/" + "0" * 32 + "/signature"
    deep = b"[" * 99_000
    headers = _signature_headers(world, gateway, "POST", path, deep, account=nobody)
    headers["content-type"] = "application/json"
    request = httpx.Request("POST", gateway.url + path, headers=headers, content=deep)
    problem(send(request), 403)  # no role: refused before the body is read
    # a publisher's own deep body reaches the JSON parser: refused, not a crash
    for body, words in ((deep, "99000 bytes, above the limit"), (deep[:60_000], "deeper than")):
        for content_type in ("application/json", "application/ld+json", None):
            headers = _signature_headers(world, gateway, "POST", path, body)
            if content_type is not None:
                headers["content-type"] = content_type
            request = httpx.Request("POST", gateway.url + path, headers=headers, content=body)
            message = problem(send(request), 422)
            if content_type is not None:  # without one the body is not parsed as JSON at all
                assert f"body: {'JSON nests ' if words == 'deeper than' else ''}" in message
                assert words in message, message
    alive(gateway)
    # and the form fields parsed as JSON
    files, data = publication_form(world)
    for field in ("policy", "committee"):
        request = signed(
            world, gateway.url, world.publisher, "POST", "/tasks", files=files,
            data={**data, field: "[" * 99_000},
        )  # fmt: skip
        assert "Part exceeded maximum size" in problem(send(request), 400)  # form limits
        request = signed(
            world, gateway.url, world.publisher, "POST", "/tasks", files=files,
            data={**data, field: "[" * 10_000},
        )  # fmt: skip
        assert "deeper than 64 levels" in problem(send(request), 422, field)
    alive(gateway)


def _signature_headers(
    world: World,
    gateway: GatewayProcess,
    method: str,
    path: str,
    body: bytes,
    *,
    account: LocalAccount | None = None,
) -> dict[str, str]:
    """The signature headers of a raw body (the publisher's by default)."""
    audience = httpx.get(gateway.url + "/info", timeout=30).json()["gateway_id"]
    return sign_request(
        account or world.publisher,
        chain_id=world.chain.chain_id,
        ledger=world.deployment.ledger,
        audience=audience,
        method=method,
        path=path,
        body=body,
    )


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        ({"rounds": 2**32}, "policy.rounds", "TaskParams.maxRounds (uint32"),
        ({"round_length": 2**40}, "policy.round_length", "TaskParams.roundLength (uint32"),
        ({"score_window": 2**32}, "policy.score_window", "TaskParams.scoreWindow (uint32"),
        ({"num_byzantine": 70_000}, "policy.num_byzantine", "numByzantine (uint16"),
        ({"threshold": 1e9}, "policy.threshold", "less than or equal to 1000"),
        ({"threshold": -1e300}, "policy.threshold", "greater than or equal to -1000"),
        ({"quorum": True}, "policy.quorum", "valid integer"),
        ({"quorum": 2.0}, "policy.quorum", "valid integer"),
        ({"rounds": "3"}, "policy.rounds", "valid integer"),
    ],
)
def test_policy_values_outside_the_contracts_types_are_422_before_anything_is_stored(
    world: World, gateway: GatewayProcess, policy: dict[str, Any], field: str, words: str
) -> None:
    # found: 500 MismatchedABI, after the content was put on IPFS
    before = blocks(gateway)
    files, data = publication_form(world, **policy)
    response = send(signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                           data=data))  # fmt: skip
    assert words in problem(response, 422, field)
    assert blocks(gateway) == before


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" + "0" * 400]
)
def test_a_non_finite_threshold_is_refused(
    world: World, gateway: GatewayProcess, literal: str
) -> None:
    # found: a NaN threshold became SCORE_INVALID (int64 min): every update passed
    before = blocks(gateway)
    files, data = publication_form(world)
    text = json.dumps({"quorum": 2, "max_faulty_validators": 0, "threshold": 0.5})
    data = {**data, "policy": text.replace("0.5", literal)}
    response = send(signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                           data=data))  # fmt: skip
    message = problem(response, 422)
    assert response.json()["field"] in ("policy", "policy.threshold"), message
    assert blocks(gateway) == before


def test_integers_in_paths_queries_headers_and_forms_are_plain_digits_within_bounds(
    world: World, gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    http = httpx.Client(base_url=gateway.url, timeout=30)
    task = published["task_id"]
    # found: Last-Event-ID of 5000 digits gave 500 (the since parameter had a pattern)
    for value in ("9" * 5000, "1-" + "9" * 5000, "1.5-0", "٣-1", "-1-0", "1-2-3"):
        with http.stream("GET", "/events", headers={"Last-Event-ID": value.encode()}) as response:
            response.read()
            problem(response, 422, "last-event-id")
    # found: /tasks/1.0 was task 1
    for path in ("1.0", "+1", "1e0", "1_0", "%201", "%D9%A1", "0x1", "9" * 20, "-1", "0"):
        problem(http.get(f"/tasks/{path}"), 422, "task_id")
    assert http.get(f"/tasks/{task}").status_code == 200
    for params in (
        {"offset": "-1"},
        {"offset": str(10**30)},
        {"limit": "0"},
        {"limit": "1e2"},
        {"offset": "1.0"},
    ):
        problem(http.get("/tasks", params=params), 422, next(iter(params)))
    problem(http.get(f"/tasks/{task}/updates", params={"round": "1.0"}), 422, "round")
    problem(http.get(f"/tasks/{task}/rounds/4294967296"), 422, "round_number")
    problem(http.get("/events", params={"task_id": "9" * 30}), 422, "task_id")
    files, data = publication_form(world)
    for field, value in (("seed", "1.5"), ("seed", "-1"), ("expected_providers", "1e3")):
        request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                         data={**data, field: value})  # fmt: skip
        problem(send(request), 422, field)
    alive(gateway)


# -- I7: memory before authentication, uploads, bombs -------------------------------------------
def test_unsigned_large_uploads_in_parallel_cost_the_server_no_memory(
    gateway: GatewayProcess,
) -> None:
    # found: 16 unsigned 31 MiB uploads raised the RSS by about 1 GiB (847 MiB held after)
    body = b"\0" * (31 * MIB)
    outcomes: list[int | str] = []

    def upload() -> None:
        try:
            response = httpx.post(
                gateway.url + "/tasks",
                content=body,
                headers={"content-type": "multipart/form-data; boundary=x"},
                timeout=120,
            )
            outcomes.append(response.status_code)
        except httpx.HTTPError as exc:  # the server answered 401 and closed: fine
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=upload) for _ in range(16)]
    with PeakRss(gateway) as peak:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(o == 401 or isinstance(o, str) for o in outcomes), outcomes
    assert 401 in outcomes
    assert peak.above_mib < 48, f"the server grew by {peak.above_mib:.0f} MiB"
    alive(gateway)


def test_a_signer_without_the_role_is_refused_before_its_body_and_leaves_no_nonce(
    world: World, gateway: GatewayProcess, nobody: LocalAccount
) -> None:
    files, data = publication_form(world)
    files["weights"] = ("w.safetensors", b"\0" * (31 * MIB), "application/octet-stream")
    request = signed(world, gateway.url, nobody, "POST", "/tasks", files=files, data=data)
    with PeakRss(gateway) as peak:
        response = send(request)
    assert "does not hold PUBLISHER_ROLE" in problem(response, 403)
    assert peak.above_mib < 16
    assert nonces_of(gateway, nobody.address) == 0  # nothing stored (nor fsynced) for it
    before = nonces_of(gateway, world.publisher.address)
    files, data = publication_form(world, quorum=40)
    send(signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files, data=data))
    assert nonces_of(gateway, world.publisher.address) == before + 1


def test_uploads_beyond_the_cap_get_503_with_retry_after(
    world: World, gateway: GatewayProcess
) -> None:
    cap = 4  # max_concurrent_uploads by default
    release = threading.Event()
    started = threading.Semaphore(0)
    results: list[int | str] = []
    path = "/publications/" + "0" * 32 + "/signature"
    body = json.dumps({"signature": "0x" + "11" * 65}).encode()

    def slow_upload() -> None:
        def chunks() -> Iterator[bytes]:
            yield body[:10]
            started.release()
            release.wait(60)
            yield body[10:]

        headers = {
            **_signature_headers(world, gateway, "POST", path, body),
            "content-type": "application/json",
            "content-length": str(len(body)),
        }
        try:
            response = httpx.post(gateway.url + path, content=chunks(), headers=headers, timeout=90)
            results.append(response.status_code)
        except httpx.HTTPError as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=slow_upload) for _ in range(cap)]
    for t in threads:
        t.start()
    for _ in range(cap):
        assert started.acquire(timeout=30)
    try:
        # every slot holds a body being received: one more upload waits for none of them
        deadline = time.monotonic() + 30
        while True:
            extra = send(signed(world, gateway.url, world.publisher, "POST", path,
                                json_body={"signature": "0x" + "22" * 65}))  # fmt: skip
            if extra.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # the slow uploads' first bytes may not have arrived yet
        assert "uploads already" in problem(extra, 503)
        assert int(extra.headers["Retry-After"]) >= 1
        assert httpx.get(gateway.url + "/health", timeout=30).status_code == 200  # reads go on
    finally:
        release.set()
        for t in threads:
            t.join(90)
    assert results == [404] * cap, results  # they completed (no such publication)
    after = send(signed(world, gateway.url, world.publisher, "POST", path,
                        json_body={"signature": "0x" + "22" * 65}))  # fmt: skip
    problem(after, 404)  # the slots were given back


def test_an_npz_bomb_is_refused_from_its_headers(world: World, gateway: GatewayProcess) -> None:
    # found: 1 MB inflating to 2e6 x 64 float64 took 27 s and +1.6 GB before its 422
    files, data = publication_form(world)
    files["validation"] = ("validation.npz", npz_bomb(), "application/octet-stream")
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files, data=data)
    with PeakRss(gateway) as peak:
        response = send(request)
    message = problem(response, 422, "validation")
    assert "validation.npz: x has shape (2000000, 64) (128000000 values)" in message
    assert peak.above_mib < 48, f"the server grew by {peak.above_mib:.0f} MiB"
    alive(gateway)


def test_a_30_mb_csv_is_parsed_in_bounded_memory_off_the_event_loop(
    world: World, gateway: GatewayProcess
) -> None:
    # found: +553 MiB and /health stalled for 5 s
    files, data = publication_form(world)
    content = big_csv()
    files["validation"] = ("validation.csv", content, "text/csv")
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files, data=data)
    health: list[int] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=60) as http:
            while not stop.is_set():
                health.append(http.get(gateway.url + "/health").status_code)
                stop.wait(0.05)

    prober = threading.Thread(target=probe)
    with PeakRss(gateway) as peak:
        prober.start()
        try:
            response = send(request)
        finally:
            stop.set()
            prober.join()
    assert response.status_code == 202, response.text[:300]  # 30 MB of valid data: accepted
    # the features as float32 are the floor; the text and a float64 copy of the whole table
    # (the old way: +553 MiB) are not held on top. Measured: +225 MiB when this was fixed,
    # +261 to +286 MiB with the packages a fresh venv resolves on 2026-12-02 at the commit of
    # that fix and after it (the same code): the bound leaves room for the libraries' share
    samples = len(content.splitlines())
    floor = samples * 65 * 4 / MIB
    assert peak.above_mib < floor + 300, (peak.above_mib, floor)
    assert health and set(health) == {200}
    alive(gateway)


# -- I7: an unavailable CID ---------------------------------------------------------------------
def test_a_flood_of_an_unavailable_cid_does_not_slow_other_requests(
    world: World, gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    # found: 20 concurrent downloads of a recorded but unserved CID made an available 20 KB
    # download time out and /health take up to 8 s
    task_id = published["task_id"]
    spec = logreg_digits()
    served = encode(dict(state_dict_to_arrays(build(spec, seed=1))), spec=spec)
    served_cid, served_hash = world.node.put(served)  # on the members' node: a remote fetch
    ghost = encode(dict(state_dict_to_arrays(build(spec, seed=2))), spec=spec)
    ghost_cid = world.node.compute_cid(ghost)  # recorded on chain, stored nowhere
    for provider, (cid, digest) in zip(
        world.providers[:2],
        [(served_cid, served_hash), (ghost_cid, hashlib.sha256(ghost).digest())],
        strict=True,
    ):
        client = world.client(provider)
        client.join_task(task_id)
        client.submit_update(task_id, 1, digest, cid, 100)
    local_cid = published["params"]["initial_weights_cid"]
    http = httpx.Client(base_url=gateway.url, timeout=60)
    deadline = time.monotonic() + 60
    while http.get(f"/models/{ghost_cid}").status_code == 404:  # indexed yet?
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # the attackers run in a process of their own: 20 threads of this one would hold its GIL
    # and slow the probe below, not the server
    attack = subprocess.Popen(
        [sys.executable, "-c", FLOOD, f"{gateway.url}/models/{ghost_cid}", "20"],
        stdout=subprocess.PIPE,
        text=True,
    )
    latencies: list[float] = []
    downloads: list[int] = []
    try:
        time.sleep(1.0)  # the flood is on
        end = time.monotonic() + 15
        while time.monotonic() < end:
            started = time.perf_counter()
            assert http.get("/health").status_code == 200
            latencies.append(time.perf_counter() - started)
            for cid in (local_cid, served_cid):
                downloads.append(http.get(f"/models/{cid}").status_code)
            time.sleep(0.05)
    finally:
        attack.terminate()
        out, _ = attack.communicate(timeout=120)
    flood = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert set(downloads) == {200}, downloads
    # with the flaw /health took up to 8 s; without it a loaded CI machine answers within about
    # a tenth of a second (p95 109 ms once): a bound of 1 s tells the two apart
    p95 = float(np.percentile(latencies, 95))
    assert p95 < 1.0, f"/health p95 {p95 * 1000:.0f} ms during the flood"
    assert flood and {r["status"] for r in flood} == {504}, flood[:3]
    remembered = [r for r in flood if "its last fetch failed" in r["message"]]
    assert len(remembered) >= len(flood) - 20  # one fetch, the others answered from memory
    assert all(int(r["retry_after"]) >= 1 for r in flood)
    alive(gateway)


# -- the signed request and its parts -----------------------------------------------------------
def test_a_request_signed_for_another_gateway_is_refused(
    world: World, gateway: GatewayProcess
) -> None:
    other = GatewayProcess(world, world.root / "other-gateway", relayer="relayer2").start()
    try:
        ids = {httpx.get(g.url + "/info").json()["gateway_id"] for g in (gateway, other)}
        assert len(ids) == 2
        files, data = publication_form(world, quorum=40)
        for_other = signed(
            world, other.url, world.publisher, "POST", "/tasks", files=files, data=data
        )
        replayed = httpx.Request(
            "POST", gateway.url + "/tasks", headers=for_other.headers, content=for_other.content
        )
        assert "bad signature" in problem(send(replayed), 401, "X-Ledgerlearn-Signature")
        problem(send(for_other), 422, "policy.quorum")  # where it was meant to go
    finally:
        other.stop()


def test_addresses_must_carry_their_checksum(
    world: World, gateway: GatewayProcess, published: dict[str, Any]
) -> None:
    good = world.publisher.address
    flipped = good[:2] + "".join(
        c.swapcase() if c.isalpha() and i == next(j for j, d in enumerate(good[2:]) if d.isalpha())
        else c
        for i, c in enumerate(good[2:])
    )  # fmt: skip
    assert flipped.lower() == good.lower() and flipped != good
    http = httpx.Client(base_url=gateway.url, timeout=30)
    assert "EIP-55 checksum" in problem(http.get(f"/members/{flipped}"), 422, "account")
    assert http.get(f"/members/{good.lower()}").status_code == 200
    path = f"/tasks/{published['task_id']}/updates"
    problem(http.get(path, params={"provider": flipped}), 422, "provider")
    for fake in (flipped, "0x" + "٣" * 40, good[2:], good + "0", "0X" + good[2:].lower()):
        request = signed(world, gateway.url, world.publisher, "POST", "/tasks")
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"x-ledgerlearn-address"]
        headers.append((b"X-Ledgerlearn-Address", fake.encode()))
        forged = httpx.Request("POST", request.url, headers=headers, content=request.content)
        problem(send(forged), 401, "X-Ledgerlearn-Address")
    files, data = publication_form(world)
    committee = ",".join([flipped, *world.committee[1:]])
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                     data={**data, "committee": committee})  # fmt: skip
    assert "EIP-55 checksum" in problem(send(request), 422, "committee")


def test_errors_never_show_server_paths(world: World, gateway: GatewayProcess) -> None:
    state = str(gateway.state_dir)
    files, data = publication_form(world)
    cases = [
        ("validation.csv", b"1,2,0\n1,x,0\n", "validation.csv: line 2"),
        ("../../../etc/passwd.csv", b"a,b\n", "passwd.csv: a header line but no data lines"),
        ("v.npz", b"PK\x03\x04 not a zip", "v.npz: not a numpy .npz archive"),
        ("w.npz", npz_bomb(rows=20_000)[:5000], "w.npz: "),
    ]
    for name, content, expected in cases:
        files["validation"] = (name, content, "application/octet-stream")
        request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                         data=data)  # fmt: skip
        message = problem(send(request), 422, "validation")
        assert expected in message, message
        assert "/tmp" not in message and state not in message and "upload-" not in message


def test_405_names_the_allowed_methods(gateway: GatewayProcess) -> None:
    http = httpx.Client(base_url=gateway.url, timeout=30)
    for method, path, allowed in (
        ("DELETE", "/tasks", "GET, POST"),
        ("PUT", "/health", "GET"),
        ("POST", "/static/app.js", "GET, HEAD"),
        ("PATCH", "/publications/" + "0" * 32, "GET"),
    ):
        response = http.request(method, path)
        problem(response, 405)
        assert response.headers["Allow"] == allowed, (method, path, response.headers)


def test_attacker_variants_get_4xx(
    world: World, gateway: GatewayProcess, nobody: LocalAccount
) -> None:
    http = httpx.Client(base_url=gateway.url, timeout=60)
    # a huge header: refused by the HTTP parser, not a 5xx
    assert http.get("/tasks", headers={"X-Big": "a" * 70_000}).status_code in (400, 431)
    # a non-numeric or repeated Content-Length, a method no route knows, junk
    for head in (
        b"GET /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n",
        b"POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"BREW /tasks HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
    ):
        status = raw_status(gateway, head)
        assert 400 <= status < 500, (head[:40], status)
    # a signature header twice
    files, data = publication_form(world)
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files, data=data)
    headers = [*list(request.headers.multi_items()), ("X-Ledgerlearn-Nonce", "0x" + "00" * 32)]
    twice = httpx.Request("POST", request.url, headers=headers, content=request.content)
    assert "given twice" in problem(send(twice), 401)
    # thousands of multipart parts, many fields, a long field: 400/422, nothing parsed further
    many = [("f", (f"x{i}", b"1", "text/plain")) for i in range(3000)]
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=many)
    assert "Too many files" in problem(send(request), 400)
    fields = {f"k{i}": "v" for i in range(3000)}
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                     data={**data, **fields})  # fmt: skip
    assert "Too many fields" in problem(send(request), 400)
    request = signed(world, gateway.url, world.publisher, "POST", "/tasks", files=files,
                     data={**data, "policy": " " * 200_000})  # fmt: skip
    problem(send(request), 400)
    # JSON bodies: duplicate keys, extra fields, NaN, a huge one
    path = "/publications/" + "0" * 32 + "/signature"
    sig = "0x" + "11" * 65
    for body, words in (
        (f'{{"signature": "{sig}", "signature": "{sig}"}}'.encode(), "duplicate key"),
        (json.dumps({"signature": sig, "x": 1}).encode(), "x: Extra inputs"),
        (b'{"signature": NaN}', "NaN is not allowed"),
        (b'{"signature": "' + b"a" * 70_000 + b'"}', "above the limit"),
        (b'{"signature": "\\ud800"}', "surrogate"),
    ):
        request = httpx.Request(
            "POST", gateway.url + path, content=body,
            headers={**_signature_headers(world, gateway, "POST", path, body),
                     "content-type": "application/json"},
        )  # fmt: skip
        assert words in problem(send(request), 422)
    # paths with odd bytes, negative and huge numbers, unicode
    for odd in ("/tasks/%00", "/tasks/%ff", "/members/%E2%80%AE0x00", "/models/" + "a" * 300,
                "/tasks/1/rounds/-1", "/tasks/1/updates/0x" + "zz" * 32):  # fmt: skip
        assert 400 <= http.get(odd).status_code < 500, odd
    alive(gateway)


def test_the_api_cli_refuses_a_nan_threshold_before_contacting_the_gateway(
    tmp_path: Path,
) -> None:
    committee = ",".join(Account.create().address for _ in range(3))
    for value in ("nan", "inf", "-1e9"):
        result = subprocess.run(
            [
                *CLI, "api", "publish", "--gateway", "http://127.0.0.1:9",
                "--keystore", str(tmp_path / "missing.json"), "--preset", "logreg_digits",
                "--dataset", "digits", "--committee", committee, "--threshold", value,
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "--threshold" in result.stderr, result.stderr


def test_every_route_parses_strictly_and_every_write_names_its_role() -> None:
    # in-process: how the routes are declared (a new route cannot forget either)
    from fastapi.routing import APIRoute, iter_route_contexts

    from ledgerlearn_gateway.app import create_app
    from ledgerlearn_gateway.auth import ROLE_EXTRA
    from ledgerlearn_gateway.settings import GatewaySettings
    from ledgerlearn_gateway.strict_body import StrictRoute

    app = create_app(GatewaySettings(), None)
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        if route.body_field is not None:
            assert isinstance(route, StrictRoute), route.path
        if set(route.methods) - {"GET", "HEAD"}:
            assert (route.openapi_extra or {}).get(ROLE_EXTRA), (route.path, route.methods)
