"""A client of the gateway that signs its requests with the caller's own key.

:class:`GatewayClient` is what ``ledgerlearn api ...`` uses: reads are plain GETs; writes carry
the signature headers of :mod:`ledgerlearn_gateway.signing`. :meth:`GatewayClient.publish`
runs the whole prepare -> sign -> submit exchange, and checks before signing that the typed
data the gateway returned is the publication asked for (publisher, chain, contract, committee,
policy, model spec and, when given, initial weights), so a gateway cannot obtain a signature
for something else.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from ledgerlearn import strict_json
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.vetting import vote_typed_data
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.flows.policy import Policy
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import decode, encode
from ledgerlearn_gateway.signing import sign_request


class GatewayError(LedgerlearnError):
    """The gateway refused a request or could not be reached; carries its error body."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class PublicationRequest:
    """What a publisher asks the gateway to publish."""

    spec: bytes
    validation: bytes
    validation_name: str
    policy: Policy
    committee: list[str]
    weights: bytes | None = None
    seed: int = 0
    expected_providers: int | None = None
    validation_header: bool | None = None
    """Whether a .csv validation file's line 1 is a header (None: the gateway detects it)."""


class GatewayClient:
    """Talks to one gateway as ``account`` (None: reads only)."""

    def __init__(
        self, base_url: str, account: LocalAccount | None = None, *, timeout_s: float = 120.0
    ) -> None:
        self.account = account
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._info: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """The gateway's chain id, contracts, id (the audience signatures name) and limits
        (``GET /info``), fetched once."""
        if self._info is None:
            self._info = self.get("/info")
        return self._info

    def request(
        self, method: str, path: str, *, signed: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send a request (signed by the account when ``signed``); raw response."""
        request = self.http.build_request(method, path, **kwargs)
        if signed:
            if self.account is None:
                raise GatewayError("this request must be signed: give a keystore")
            body = request.read()
            info = self.info
            headers = sign_request(
                self.account,
                chain_id=int(info["chain_id"]),
                ledger=str(info["ledger"]),
                audience=str(info["gateway_id"]),
                method=method,
                path=request.url.raw_path.decode("ascii"),
                body=body,
            )
            request.headers.update(headers)
        try:
            return self.http.send(request)
        except httpx.HTTPError as exc:
            raise GatewayError(f"cannot reach the gateway at {self.http.base_url}: {exc}") from exc

    def call(self, method: str, path: str, *, signed: bool = False, **kwargs: Any) -> Any:
        """Send a request; the JSON answer, or :class:`GatewayError` with the error body."""
        response = self.request(method, path, signed=signed, **kwargs)
        if response.status_code >= 400:
            raise _error(response)
        return _json(response)

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (unsigned unless the gateway closed its reads)."""
        signed = self._info is not None and not self._info.get("open_reads", True)
        query = {k: v for k, v in params.items() if v is not None}
        return self.call("GET", path, signed=signed, params=query or None)

    # -- publication ---------------------------------------------------------------------
    def prepare(self, request: PublicationRequest) -> dict[str, Any]:
        """Step 1: upload the task's content; the prepared publication (typed data to sign)."""
        files: dict[str, tuple[str, bytes, str]] = {
            "spec": ("spec.json", request.spec, "application/json"),
            "validation": (request.validation_name, request.validation, "application/octet-stream"),
        }
        if request.weights is not None:
            files["weights"] = ("weights.safetensors", request.weights, "application/octet-stream")
        data = {
            "policy": request.policy.model_dump_json(),
            "committee": ",".join(request.committee),
            "seed": str(request.seed),
        }
        if request.expected_providers is not None:
            data["expected_providers"] = str(request.expected_providers)
        if request.validation_header is not None:
            data["validation_header"] = "true" if request.validation_header else "false"
        result: dict[str, Any] = self.call("POST", "/tasks", signed=True, files=files, data=data)
        return result

    def check_typed_data(self, request: PublicationRequest, publication: dict[str, Any]) -> None:
        """Refuse to sign typed data that is not the publication asked for."""
        assert self.account is not None
        typed = publication["typed_data"]
        message, domain = typed["message"], typed["domain"]
        params = message["params"]
        spec = ModelSpec.from_json(request.spec)
        policy = request.policy
        expected: dict[str, Any] = {
            "publisher": self.account.address,
            "chainId": int(self.info["chain_id"]),
            "verifyingContract": to_checksum_address(self.info["ledger"]),
            "primaryType": "PublishTask",
            "committee": [to_checksum_address(m) for m in request.committee],
            "modelSpecHash": "0x" + hashlib.sha256(spec.to_json()).hexdigest(),
            **policy.typed_data_fields(),
        }
        if request.weights is not None:
            canonical = encode(dict(decode(request.weights, spec)), spec=spec)
            expected["initialWeightsHash"] = "0x" + hashlib.sha256(canonical).hexdigest()
        found: dict[str, Any] = {
            "publisher": to_checksum_address(message["publisher"]),
            "chainId": int(domain["chainId"]),
            "verifyingContract": to_checksum_address(domain["verifyingContract"]),
            "primaryType": typed["primaryType"],
            "committee": [to_checksum_address(m) for m in params["committee"]],
        }
        for key in expected:
            if key not in found:
                found[key] = params[key]
        wrong = [
            f"{k}: asked {expected[k]!r}, got {found[k]!r}"
            for k in expected
            if str(found[k]).lower() != str(expected[k]).lower()
        ]
        if len(params["fragmentCids"]) != len(request.committee):
            wrong.append("fragmentCids: not one per committee member")
        if wrong:
            raise GatewayError(
                "refusing to sign: the gateway prepared another publication ("
                + "; ".join(wrong)
                + ")"
            )

    def submit(self, publication_id: str, typed_data: dict[str, Any]) -> dict[str, Any]:
        """Step 3: sign the typed data locally and send the signature for relaying."""
        assert self.account is not None
        signature = LedgerClient.sign_typed_data(self.account, typed_data)
        result: dict[str, Any] = self.call(
            "POST",
            f"/publications/{publication_id}/signature",
            signed=True,
            json={"signature": "0x" + signature.hex()},
        )
        return result

    # -- vetting -------------------------------------------------------------------------
    def vote(
        self, task_id: int, approve: bool, reason: str, *, valid_s: int = 600
    ) -> dict[str, Any]:
        """Vote on a task this account was drawn to vet: sign the vote locally (EIP-712, void
        after ``valid_s`` seconds) for the gateway to relay; the vote as recorded."""
        assert self.account is not None
        vetting = self.info.get("vetting")
        if not vetting:
            raise GatewayError("this gateway's deployment has no vetting (a laboratory)")
        deadline = int(time.time()) + valid_s
        typed = vote_typed_data(
            int(self.info["chain_id"]),
            to_checksum_address(vetting),
            task_id,
            approve,
            reason,
            self.account.address,
            deadline,
        )
        signature = LedgerClient.sign_typed_data(self.account, typed)
        body = {
            "approve": approve,
            "reason": reason,
            "deadline": deadline,
            "signature": "0x" + signature.hex(),
        }
        result: dict[str, Any] = self.call(
            "POST", f"/tasks/{task_id}/vetting/votes", signed=True, json=body
        )
        return result

    def publish(self, request: PublicationRequest, *, wait_s: float = 120.0) -> dict[str, Any]:
        """Prepare, check, sign and submit; waits for the task id up to ``wait_s``."""
        publication = self.prepare(request)
        self.check_typed_data(request, publication)
        result = self.submit(publication["id"], publication["typed_data"])
        deadline = time.monotonic() + wait_s
        while result["status"] == "submitted" and time.monotonic() < deadline:
            time.sleep(1.0)
            result = self.get(f"/publications/{publication['id']}")
        if result["status"] != "published":
            raise GatewayError(
                f"publication {publication['id']} is {result['status']}"
                + (f": {result['error']}" if result.get("error") else "")
            )
        return result


MAX_ANSWER_BYTES = 64 * 2**20
"""Largest JSON answer accepted from a gateway."""


def _json(response: httpx.Response) -> Any:
    """A gateway's JSON answer, parsed strictly (a gateway is not trusted either)."""
    try:
        return strict_json.loads(response.content, max_bytes=MAX_ANSWER_BYTES)
    except ValueError as exc:
        raise GatewayError(
            f"the gateway answered {response.status_code} with unacceptable JSON: {exc}",
            response.status_code,
        ) from None


def _error(response: httpx.Response) -> GatewayError:
    try:
        body = strict_json.loads(response.content, max_bytes=MAX_ANSWER_BYTES)
        message = str(body.get("message") or body)[:1000]
        field = body.get("field")
    except (ValueError, AttributeError):
        message, field = response.text[:300], None
    return GatewayError(f"{response.status_code}: {message}", response.status_code, field)
