"""Tasks, their rounds, updates, dag, model spec, global model and metric curve; publishing
(prepare)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import IO, Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Status
from ledgerlearn.errors import ModelSpecError
from ledgerlearn.flows.policy import FlowName
from ledgerlearn.flows.registry import FLOW_NAMES, FLOWS
from ledgerlearn.limits import MAX_SPEC_BYTES
from ledgerlearn.model.spec import ModelSpec
from ledgerlearn_gateway.auth import (
    ROLE_EXTRA,
    address_scheme,
    nonce_scheme,
    require_role,
    signature_scheme,
    timestamp_scheme,
)
from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.models import (
    DagView,
    GlobalModel,
    MetricCurve,
    Page,
    Publication,
    RoundDetail,
    RoundView,
    TaskDetail,
    TaskSummary,
    UpdateView,
)
from ledgerlearn_gateway.publications import DATA_SUFFIXES, MAX_FIELD_BYTES, Upload
from ledgerlearn_gateway.routes.common import (
    ADDRESS_SCHEMA,
    DIGITS_ONLY,
    EIP55,
    GatewayDep,
    Limit,
    Offset,
    RoundNumber,
    TaskId,
    UpdateHash,
    gateway_of,
    page,
    task_or_404,
)
from ledgerlearn_gateway.routes.content import fetch
from ledgerlearn_gateway.strict_body import StrictRoute
from ledgerlearn_gateway.views import (
    dag_view,
    hexed,
    metric_curve,
    round_detail,
    round_view,
    task_detail,
    task_summary,
    update_view,
)

router = APIRouter(prefix="/tasks", tags=["tasks"], route_class=StrictRoute)
FORM_LIMITS = {"max_fields": 8, "max_files": 3, "max_part_size": MAX_FIELD_BYTES}
"""A prepare request has 5 fields and 3 files; a field is at most a few KB."""
SIGNED = [
    Depends(address_scheme),
    Depends(timestamp_scheme),
    Depends(nonce_scheme),
    Depends(signature_scheme),
]


async def _publisher(request: Request) -> str:
    return await require_role("PUBLISHER", lambda: gateway_of(request).has_role)(request)


@router.get("", response_model=Page[TaskSummary], responses=error_responses(422))
def list_tasks(
    gateway: GatewayDep,
    offset: Offset = 0,
    limit: Limit = 50,
    flow: Annotated[FlowName | None, Query()] = None,
    closed: Annotated[bool | None, Query()] = None,
) -> Page[TaskSummary]:
    """Every task published on the chain, newest first."""
    with gateway.lock:
        tasks = sorted(gateway.index.tasks.values(), key=lambda t: -t.task_id)
        if flow is not None:
            tasks = [t for t in tasks if t.flow is FLOW_NAMES[flow]]
        if closed is not None:
            tasks = [t for t in tasks if t.closed == closed]
        return page([task_summary(t) for t in tasks], offset, limit)


@router.post(
    "",
    status_code=202,
    response_model=Publication,
    dependencies=SIGNED,
    responses=error_responses(400, 401, 403, 409, 413, 422, 503),
    openapi_extra={ROLE_EXTRA: "PUBLISHER"},
    form_limits=FORM_LIMITS,  # type: ignore[arg-type]
)
async def prepare_publication(
    request: Request,
    gateway: GatewayDep,
    publisher: Annotated[str, Depends(_publisher)],
    spec: Annotated[UploadFile, File(description="The model spec (JSON).")],
    validation: Annotated[
        UploadFile, File(description="Validation data: .npz (arrays x, y) or .csv (label last).")
    ],
    policy: Annotated[
        str,
        Form(
            description='The policy as JSON, e.g. {"quorum": 3, "max_faulty_validators": 1, '
            '"rounds": 3, "aggregation_rule": "median"}.'
        ),
    ],
    committee: Annotated[
        str, Form(description="The validators' addresses, comma separated (or a JSON list).")
    ],
    weights: Annotated[
        UploadFile | None, File(description="Initial weights (.safetensors); default: seeded.")
    ] = None,
    seed: Annotated[int, Form(ge=0, le=2**31 - 1), DIGITS_ONLY] = 0,
    expected_providers: Annotated[int | None, Form(ge=1, le=10_000), DIGITS_ONLY] = None,
    validation_header: Annotated[
        bool | None,
        Form(
            description="A .csv validation file: whether line 1 names the columns (default: "
            "detected; a line reading 0,1,...,n-1 or 1,...,n must be said)."
        ),
    ] = None,
) -> JSONResponse:
    """Prepare a publication (step 1 of 3): put the task's content on IPFS and return the
    EIP-712 typed data the publisher signs. Signed by the publisher (PUBLISHER_ROLE)."""
    publications = gateway.publications
    if publications is None:
        raise ApiError(503, "this gateway has no relayer key: it cannot relay publications")
    max_weights = gateway.settings.storage.max_get_bytes
    name = _file_name(validation.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ApiError(
            422,
            f"validation: file {name!r} must be .npz (arrays x, y) or .csv (label last)",
            field="validation",
        )
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        copy = Path(tmp) / f"validation{suffix}"
        await anyio.to_thread.run_sync(_copy, validation.file, copy)
        upload = Upload(
            spec=await _read_capped(spec, MAX_SPEC_BYTES, "spec"),
            validation=copy,
            validation_name=name,
            policy=policy,
            committee=committee,
            weights=await _read_capped(weights, max_weights, "weights") if weights else None,
            seed=seed,
            expected_providers=expected_providers,
            validation_header=validation_header,
        )
        # parsing, splitting, encrypting: a worker thread, never the event loop, and only
        # max_concurrent_prepares at once
        publication = await anyio.to_thread.run_sync(
            publications.prepare, publisher, upload, limiter=request.app.state.prepares
        )
    return JSONResponse(
        publication.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/publications/{publication.id}"},
    )


def _file_name(raw: str | None) -> str:
    """An uploaded file's name as messages show it: its last part, printable, short."""
    name = Path((raw or "validation").replace("\\", "/")).name
    name = "".join(c if c.isprintable() else "?" for c in name)[:100]
    return name or "validation"


def _copy(source: IO[bytes], dest: Path) -> None:
    source.seek(0)
    with dest.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)


async def _read_capped(upload: UploadFile, limit: int, field: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(422, f"{field}: larger than {limit} bytes", field=field)
    return data


@router.get("/{task_id}", response_model=TaskDetail, responses=error_responses(404, 422))
def get_task(gateway: GatewayDep, task_id: TaskId) -> TaskDetail:
    """One task."""
    with gateway.lock:
        return task_detail(task_or_404(gateway, task_id))


def _in_rounds(gateway: Gateway, task_id: int) -> TaskRecord:
    """The task, if its flow learns in rounds (a flow learns in rounds or through a graph)."""
    task = task_or_404(gateway, task_id)
    strategy = FLOWS[task.flow]
    if not strategy.has_rounds:
        raise ApiError(
            409, f"task {task_id} is a {strategy.name} task: it has no rounds (see its /dag)"
        )
    return task


def _result_metric(gateway: Gateway, task: TaskRecord, digest: bytes | None) -> float | None:
    if gateway.evaluator is None or digest is None:
        return None
    return gateway.evaluator.results.get((task.task_id, digest))


@router.get(
    "/{task_id}/rounds", response_model=Page[RoundView], responses=error_responses(404, 409, 422)
)
def list_rounds(
    gateway: GatewayDep, task_id: TaskId, offset: Offset = 0, limit: Limit = 50
) -> Page[RoundView]:
    """The rounds of a federation task, in order."""
    with gateway.lock:
        task = _in_rounds(gateway, task_id)
        views = [
            round_view(task, r, gateway.head, _result_metric(gateway, task, r.result_hash))
            for _, r in sorted(task.rounds.items())
        ]
        return page(views, offset, limit)


@router.get(
    "/{task_id}/rounds/{round_number}",
    response_model=RoundDetail,
    responses=error_responses(404, 409, 422),
)
def get_round(gateway: GatewayDep, task_id: TaskId, round_number: RoundNumber) -> RoundDetail:
    """A round with every update, every validator's score and the decision."""
    with gateway.lock:
        task = _in_rounds(gateway, task_id)
        record = task.rounds.get(round_number)
        if record is None:
            raise ApiError(404, f"task {task_id} has no round {round_number} (yet)")
        metric = _result_metric(gateway, task, record.result_hash)
        return round_detail(task, record, gateway.head, metric)


@router.get(
    "/{task_id}/updates", response_model=Page[UpdateView], responses=error_responses(404, 422)
)
def list_updates(
    gateway: GatewayDep,
    task_id: TaskId,
    offset: Offset = 0,
    limit: Limit = 50,
    status: Annotated[Literal["pending", "accepted", "rejected"] | None, Query()] = None,
    round: Annotated[
        int | None,
        Query(
            ge=1,
            le=2**32 - 1,
            description="Only the updates of this federation round (dag updates have none).",
        ),
        DIGITS_ONLY,
    ] = None,
    provider: Annotated[
        str | None,
        Query(json_schema_extra=ADDRESS_SCHEMA, description="Only this provider's updates."),
        EIP55,
    ] = None,
) -> Page[UpdateView]:
    """The updates of a task in submission order, with their scores and decisions."""
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        records = sorted(task.updates.values(), key=lambda u: u.block_number)
        if status is not None:
            wanted = Status[status.upper()]
            records = [u for u in records if u.status is wanted]
        if round is not None:
            records = [u for u in records if u.round == round]
        if provider is not None:
            records = [u for u in records if u.provider.lower() == provider.lower()]
        return page([update_view(task, u) for u in records], offset, limit)


@router.get(
    "/{task_id}/updates/{update}", response_model=UpdateView, responses=error_responses(404, 422)
)
def get_update(gateway: GatewayDep, task_id: TaskId, update: UpdateHash) -> UpdateView:
    """One update."""
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        record = task.updates.get(bytes.fromhex(update[2:]))
        if record is None:
            raise ApiError(404, f"task {task_id} has no update {update}")
        return update_view(task, record)


@router.get("/{task_id}/dag", response_model=DagView, responses=error_responses(404, 409, 422))
def get_dag(gateway: GatewayDep, task_id: TaskId) -> DagView:
    """The graph of a dag task: the initial weights, every update and whom it built on."""
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        strategy = FLOWS[task.flow]
        if not strategy.has_graph:  # it learns in rounds
            raise ApiError(409, f"task {task_id} is a {strategy.name} task: see its /rounds")
        return dag_view(task)


@router.get(
    "/{task_id}/spec",
    response_model=ModelSpec,
    response_model_exclude_none=True,
    responses=error_responses(404, 422, 502, 503, 504),
)
async def get_task_spec(gateway: GatewayDep, task_id: TaskId, response: Response) -> ModelSpec:
    """The task's model spec, parsed: its canonical form (see `/schemas/model-spec.v1.json`).
    The bytes the chain names, checked against their hash, are at `/content/{cid}`
    (X-Content-Cid)."""

    def params() -> tuple[str, bytes]:
        with gateway.lock:
            p = task_or_404(gateway, task_id).params
            return p.model_spec_cid, p.model_spec_hash

    cid, digest = await anyio.to_thread.run_sync(params)
    raw = await fetch(gateway, cid, digest)
    try:
        spec = await anyio.to_thread.run_sync(ModelSpec.from_json, raw)
    except ModelSpecError as exc:
        raise ApiError(502, f"task {task_id}'s model spec ({cid}) is not valid: {exc}") from None
    response.headers["X-Content-Cid"] = cid
    response.headers["X-Content-Sha256"] = "0x" + digest.hex()
    return spec


@router.get("/{task_id}/model", response_model=GlobalModel, responses=error_responses(404, 422))
def get_global_model(gateway: GatewayDep, task_id: TaskId) -> GlobalModel:
    """The task's current global model. Federation: the last finalized round's result or,
    before that, the initial weights. Dag: the consensus model (the robust aggregate of the
    best recent tips) the gateway last computed, recomputable by anyone with `ledgerlearn dag
    consensus`; the initial weights while the gateway has computed none."""
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        strategy = FLOWS[task.flow]
        if strategy.has_graph:
            return _consensus_model(gateway, task)
        finalized = [r for _, r in sorted(task.rounds.items()) if r.result_hash is not None]
        if finalized:
            last = finalized[-1]
            assert last.result_hash is not None
            digest, number, source = last.result_hash, last.round, f"result of round {last.round}"
        else:
            digest, number = task.params.initial_weights_hash, None
            source = "initial weights"
        cid = task.cid_of(digest) or ""
        return GlobalModel(
            task_id=task_id,
            flow=strategy.name,
            round=number,
            content_hash=hexed(digest),
            cid=cid,
            source=source,
            download=f"/models/{cid}",
        )


def _consensus_model(gateway: Gateway, task: TaskRecord) -> GlobalModel:
    version = gateway.consensus.latest(task.task_id) if gateway.consensus else None
    if version is None:
        if gateway.consensus is None:
            why = "orchestration is off: this gateway computes no consensus model"
        elif task.task_id in gateway.consensus.failed:
            why = f"the gateway could not compute it: {gateway.consensus.failed[task.task_id]}"
        else:
            why = "the gateway has not computed it yet"
        cid = task.params.initial_weights_cid
        return GlobalModel(
            task_id=task.task_id,
            flow=FLOWS[task.flow].name,
            round=None,
            content_hash=hexed(task.params.initial_weights_hash),
            cid=cid,
            source=f"initial weights ({why}; `ledgerlearn dag consensus` computes it)",
            download=f"/models/{cid}",
        )
    failure = gateway.consensus.failed.get(task.task_id) if gateway.consensus else None
    stale = f" (stale: the gateway could not compute a newer one: {failure})" if failure else ""
    return GlobalModel(
        task_id=task.task_id,
        flow=FLOWS[task.flow].name,
        round=None,
        block=version.block,
        content_hash=hexed(version.content_hash),
        cid=version.cid,
        source=(
            f"consensus model: {RULE_NAMES.get(task.params.aggregation_rule, '?')} of the best "
            f"{len(version.tips)} tip(s) of {version.accepted} accepted updates, "
            f"as of block {version.block}{stale}"
        ),
        tips=[hexed(t) for t in version.tips],
        download=f"/models/{version.cid}",
    )


@router.get("/{task_id}/metrics", response_model=MetricCurve, responses=error_responses(404, 422))
def get_metric_curve(gateway: GatewayDep, task_id: TaskId) -> MetricCurve:
    """The metric of the task's global model over time (the accuracy curve): per round
    (federation) or per consensus model, by block (dag), saying where the values come from:
    the gateway's held-out set, or the committee's scores."""
    with gateway.lock:
        task = task_or_404(gateway, task_id)
        ev = gateway.evaluator
        return metric_curve(
            task,
            ev.results if ev else {},
            ev.description if ev else None,
            ev.unfit.get(task_id) if ev else None,
            gateway.consensus.history(task_id) if gateway.consensus else None,
        )
