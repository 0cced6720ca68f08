"""What every route module uses: the gateway, pagination, path parameters, lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query, Request

from api.errors import ApiError
from api.gateway import Gateway
from api.models import Page
from ledgerlearn.chain.index import TaskRecord

T = TypeVar("T")

HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
CID_PATTERN = r"^[A-Za-z0-9]{8,128}$"

TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The task's id.")]
RoundNumber = Annotated[int, Path(ge=1, le=2**32 - 1, description="The round (from 1).")]
UpdateHash = Annotated[
    str, Path(pattern=HASH_PATTERN, description="The update's content hash, 0x-hex.")
]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]


def gateway_of(request: Request) -> Gateway:
    """The running gateway (503 while it starts)."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise ApiError(503, "the gateway is starting")
    return gateway


def page(items: Sequence[T], offset: int, limit: int) -> Page[T]:
    """One page of ``items``."""
    return Page[T](
        items=list(items[offset : offset + limit]), total=len(items), offset=offset, limit=limit
    )


def task_or_404(gateway: Gateway, task_id: int) -> TaskRecord:
    """The indexed task (call under the lock)."""
    task = gateway.index.tasks.get(task_id)
    if task is None:
        raise ApiError(404, f"task {task_id} is not published on this chain")
    return task
