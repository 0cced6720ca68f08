"""Publishing a task through the gateway: prepare -> sign -> submit, without the publisher's key.

1. **prepare** (``POST /tasks``, signed by the publisher, who must hold PUBLISHER_ROLE): the
   gateway checks the model spec, the initial weights, the validation data, the policy and the
   committee (each problem a 422 naming the field), splits the validation data into one
   fragment per committee member encrypted to that member's registered key, puts the spec,
   the weights and the fragments on its IPFS node, checks the parameters against the contract
   (a call from the publisher's address) and returns the EIP-712 typed data of
   ``PublishTask(publisher, params, nonce, deadline)`` to sign. Stored in SQLite.
2. **sign**: the publisher signs the typed data with its own key, locally (the CLI checks
   first that the parameters are the ones it asked for).
3. **submit** (``POST /publications/{id}/signature``): the gateway checks the signature
   recovers the publisher, then relays ``publishTaskFor`` with its own key. The signed
   transaction is written to the outbox before it is broadcast, under the intent
   ``publish:<id>``: a retried submit, or a restart of the gateway, resumes that transaction,
   never a second one; and the contract's per-publisher nonce refuses any second use of the
   signature.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from web3.exceptions import Web3Exception

from ledgerlearn import strict_json
from ledgerlearn.addresses import AddressError, parse_address
from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.publisher import Publisher, UnservableContentError
from ledgerlearn.aggregation import AggregationConfigError
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.core.task_params import TaskParams, TaskParamsView
from ledgerlearn.data import AmbiguousHeaderError, DataError, load_file
from ledgerlearn.errors import (
    AgentError,
    ChainError,
    ContractError,
    ModelSpecError,
    StorageError,
    WeightsError,
)
from ledgerlearn.flows.policy import Policy
from ledgerlearn.limits import MAX_DATA_VALUES
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import decode
from ledgerlearn_gateway.database import Database
from ledgerlearn_gateway.errors import ApiError
from ledgerlearn_gateway.events import jsonable
from ledgerlearn_gateway.models import Publication
from ledgerlearn_gateway.signing import recover_signer

DATA_SUFFIXES = (".npz", ".csv")
MAX_FIELD_BYTES = 16 * 1024
"""Largest policy or committee text (a policy is a few hundred bytes, 32 addresses 1.4 KB)."""
MAX_COMMITTEE = 32


@dataclass(frozen=True)
class Upload:
    """The files and fields of a prepare request (the validation file copied to disk)."""

    spec: bytes
    validation: Path
    validation_name: str
    policy: str
    committee: str
    weights: bytes | None
    seed: int
    expected_providers: int | None
    validation_header: bool | None = None


def _policy(text: str) -> Policy:
    try:
        raw = strict_json.loads(text, max_bytes=MAX_FIELD_BYTES)
    except ValueError as exc:
        raise ApiError(422, f"policy is not acceptable JSON: {exc}", field="policy") from None
    if not isinstance(raw, dict):
        raise ApiError(422, "policy must be a JSON object", field="policy")
    try:
        return Policy.model_validate(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in first["loc"]) or next(
            (name for name in Policy.model_fields if message.startswith(name)), ""
        )  # a check across fields names its field first in the message
        field = f"policy.{where}" if where else "policy"
        raise ApiError(422, f"{field}: {message}", field=field) from exc


def _committee(text: str, client: LedgerClient) -> list[str]:
    text = text.strip()
    if len(text) > MAX_FIELD_BYTES:
        raise ApiError(422, f"committee: longer than {MAX_FIELD_BYTES} bytes", field="committee")
    if text.startswith("["):
        try:
            parts = strict_json.loads(text, max_bytes=MAX_FIELD_BYTES)
        except ValueError as exc:
            raise ApiError(
                422, f"committee is not an acceptable JSON list: {exc}", field="committee"
            ) from None
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise ApiError(422, "committee must list addresses", field="committee")
    else:
        parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ApiError(422, "committee: give the validators' addresses", field="committee")
    if len(parts) > MAX_COMMITTEE:
        raise ApiError(
            422, f"committee: {len(parts)} members, at most {MAX_COMMITTEE}", field="committee"
        )
    members: list[str] = []
    for part in parts:
        try:
            members.append(parse_address(part))
        except AddressError as exc:
            raise ApiError(422, f"committee: {exc}", field="committee") from None
    if len(set(members)) != len(members):
        raise ApiError(422, "committee: an address appears twice", field="committee")
    for member in members:
        if not client.has_role("VALIDATOR", member):
            raise ApiError(
                422, f"committee: {member} does not hold VALIDATOR_ROLE", field="committee"
            )
    return members


class Publications:
    """Prepared publications, stored in the gateway's database."""

    def __init__(
        self, db: Database, participant: Participant, prepare_ttl_s: int, receipt_wait_s: float
    ) -> None:
        self.receipt_wait_s = receipt_wait_s
        self.db = db
        self.participant = participant
        self.client = participant.client
        self.prepare_ttl_s = prepare_ttl_s

    # -- prepare -------------------------------------------------------------------------
    def prepare(self, publisher: str, upload: Upload) -> Publication:
        """Check the inputs, put the content on IPFS, return the typed data to sign.

        Every check (the inputs, the sizes, the contract's own as a call from the publisher)
        comes before the content goes on IPFS: a refused publication stores nothing.
        """
        try:
            return self._prepare(publisher, upload)
        except ChainError as exc:  # the node unreachable or refusing: not the client's fault
            raise ApiError(
                503,
                f"the chain node cannot be used now ({type(exc).__name__}); retry later",
                headers={"Retry-After": "5"},
            ) from exc
        except StorageError as exc:
            raise ApiError(
                503,
                f"the gateway's IPFS node cannot store the content now: {exc}",
                headers={"Retry-After": "5"},
            ) from exc

    def _prepare(self, publisher: str, upload: Upload) -> Publication:
        if self.client.deployment.vetting is not None:
            # the drawn members' fragments are encrypted to them and posted after the draw, by
            # the publisher itself (postFragments): a relayed publisher only signs, once
            raise ApiError(
                409,
                "this consortium draws each task's committee from its validator pool and the "
                "gateway cannot post the drawn members' validation fragments for you: publish "
                "from the publisher's host with `ledgerlearn publish --draw-size N`",
            )
        try:
            spec = ModelSpec.from_json(upload.spec)
        except ModelSpecError as exc:
            raise ApiError(422, f"spec: {exc}", field="spec") from exc
        policy = _policy(upload.policy)
        committee = _committee(upload.committee, self.client)
        try:
            policy.check_committee(len(committee), upload.expected_providers)
        except AggregationConfigError as exc:
            raise ApiError(
                422, f"policy.aggregation_rule: {exc}", field="policy.aggregation_rule"
            ) from exc
        except AgentError as exc:
            raise ApiError(422, f"policy: {exc}", field="policy.quorum") from exc
        weights = None
        if upload.weights is not None:
            try:
                weights = dict(decode(upload.weights, spec))
            except WeightsError as exc:
                raise ApiError(422, f"weights: {exc}", field="weights") from exc
        validation = self._validation(upload, spec)
        publisher_agent = Publisher(self.participant)
        try:
            prepared = publisher_agent.build(
                spec,
                validation,
                committee,
                policy,
                initial_weights=weights,  # type: ignore[arg-type]
                seed=upload.seed,
                expected_providers=upload.expected_providers,
            )
        except UnservableContentError as exc:
            raise ApiError(422, f"{exc.field}: {exc}", field=exc.field) from exc
        except AgentError as exc:  # a member without a registered encryption key
            raise ApiError(422, f"committee: {exc}", field="committee") from exc
        except DataError as exc:
            raise ApiError(422, f"validation: {exc}", field="validation") from exc
        try:
            self.client.check_publish(prepared.params, publisher)
        except ContractError as exc:
            raise ApiError(
                422, f"the contract refuses these parameters: {exc}", field="policy"
            ) from exc
        except (Web3Exception, ValueError, TypeError, OverflowError) as exc:  # not encodable
            raise ApiError(
                422,
                f"the contract cannot take these parameters: {type(exc).__name__}: {exc}",
                field="policy",
            ) from exc
        params = publisher_agent.store(prepared)
        nonce = self.client.publish_nonce(publisher)
        deadline = int(time.time()) + self.prepare_ttl_s
        typed = jsonable(self.client.publish_typed_data(params, publisher, nonce, deadline))
        publication = Publication(
            id=secrets.token_hex(16),
            publisher=publisher,
            status="prepared",
            params=params.to_view(),
            typed_data=typed,
            deadline=deadline,
            tx_hash=None,
            task_id=None,
            error=None,
        )
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO publications (id, publisher, created, deadline, params, typed_data,"
                " status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    publication.id,
                    publisher,
                    time.time(),
                    deadline,
                    publication.params.model_dump_json(),
                    json.dumps(typed),
                    "prepared",
                ),
            )
        return publication

    def _validation(self, upload: Upload, spec: ModelSpec) -> Any:
        name = upload.validation_name
        suffix = Path(name).suffix.lower()
        if suffix not in DATA_SUFFIXES or upload.validation.suffix.lower() != suffix:
            raise ApiError(
                422,
                f"validation: file {name!r} must be .npz (arrays x, y) or .csv (label last)",
                field="validation",
            )
        try:
            data = load_file(
                upload.validation,
                num_classes=spec.num_classes,
                input_shape=spec.input_shape,
                name=name,
                label=name,
                max_values=MAX_DATA_VALUES,
                header=upload.validation_header,
            )
            data.check_matches(spec)
        except AmbiguousHeaderError as exc:
            message = exc.asking("set the form field validation_header to true or false")
            raise ApiError(422, f"validation: {message}", field="validation_header") from exc
        except DataError as exc:
            raise ApiError(422, f"validation: {exc}", field="validation") from exc
        return data

    # -- read ----------------------------------------------------------------------------
    def get(self, publication_id: str) -> Publication:
        """A publication, its status brought up to date with the chain."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, publisher, deadline, params, typed_data, status, tx_hash, task_id,"
                " error FROM publications WHERE id = ?",
                (publication_id,),
            ).fetchone()
        if row is None:
            raise ApiError(404, f"no publication {publication_id}")
        publication = Publication(
            id=row[0],
            publisher=row[1],
            deadline=row[2],
            params=TaskParamsView.model_validate_json(row[3]),
            typed_data=strict_json.loads(row[4]),
            status=row[5],
            tx_hash=row[6],
            task_id=row[7],
            error=row[8],
        )
        return self._refresh(publication)

    def _refresh(self, publication: Publication) -> Publication:
        if publication.status == "prepared" and time.time() > publication.deadline:
            return self._update(publication, status="expired")
        if publication.status != "submitted" or publication.tx_hash is None:
            return publication
        status = self.client.intent_status(self._key(publication.id))
        if status == "mined":
            receipt = self.client.chain.w3.eth.get_transaction_receipt(publication.tx_hash)  # type: ignore[arg-type]
            return self._update(
                publication, status="published", task_id=self.client.task_id_from(receipt)
            )
        if status == "failed":
            return self._update(
                publication, status="failed", error="the relayed transaction reverted"
            )
        return publication

    def _update(self, publication: Publication, **changes: Any) -> Publication:
        updated = publication.model_copy(update=changes)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE publications SET status = ?, tx_hash = ?, task_id = ?, error = ? "
                "WHERE id = ?",
                (updated.status, updated.tx_hash, updated.task_id, updated.error, updated.id),
            )
        return updated

    @staticmethod
    def _key(publication_id: str) -> str:
        return f"publish:{publication_id}"

    # -- submit --------------------------------------------------------------------------
    def submit(self, publication_id: str, signer: str, signature_hex: str) -> Publication:
        """Relay a signed publication; returns it published, or submitted when its block has
        not come within ``receipt_wait_s``."""
        publication = self.get(publication_id)
        if signer != publication.publisher:
            raise ApiError(
                403,
                f"publication {publication_id} belongs to {publication.publisher}, not {signer}",
            )
        if publication.status in ("published", "failed", "expired"):
            raise ApiError(409, f"publication {publication_id} is already {publication.status}")
        signature = bytes.fromhex(signature_hex[2:])
        try:
            recovered = recover_signer(publication.typed_data, signature)
        except ValueError as exc:
            raise ApiError(422, f"signature: {exc}", field="signature") from exc
        if recovered != publication.publisher:
            raise ApiError(
                422,
                f"signature: it recovers {recovered}, not the publisher {publication.publisher} "
                "(signed other data, another chain or another contract?)",
                field="signature",
            )
        params = TaskParams.from_view(publication.params)
        try:
            tx_hash = self.client.broadcast_publish_task_for(
                params,
                publication.publisher,
                publication.deadline,
                signature,
                key=self._key(publication.id),
            )
        except ContractError as exc:
            raise ApiError(409, f"the contract refuses the publication: {exc}") from exc
        except ChainError as exc:
            raise ApiError(
                503,
                f"the chain node cannot take the publication now ({type(exc).__name__}); "
                "retry: the same signature resumes it",
                headers={"Retry-After": "5"},
            ) from exc
        publication = self._update(
            publication, status="submitted", tx_hash="0x" + tx_hash.removeprefix("0x")
        )
        waited = time.monotonic() + self.receipt_wait_s
        while publication.status == "submitted" and time.monotonic() < waited:
            time.sleep(0.2)
            publication = self._refresh(publication)
        return publication
