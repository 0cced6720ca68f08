"""What every route module uses: the gateway, pagination, path parameters, lookups."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator, BeforeValidator

from ledgerlearn.addresses import parse_address
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn_gateway.errors import ApiError
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.models import Page

T = TypeVar("T")

HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
CID_PATTERN = r"^[A-Za-z0-9]{8,128}$"
_DECIMAL = re.compile(r"[0-9]{1,19}")


def _decimal(raw: Any) -> Any:
    """A path, query, header or form integer: ASCII digits only (no sign, point, exponent,
    underscore, spaces or other scripts' digits), at most 19 of them."""
    if isinstance(raw, str):
        if not _DECIMAL.fullmatch(raw):
            raise ValueError(f"{raw[:30]!r} is not a decimal integer of at most 19 digits")
        return int(raw)
    return raw


def _address(raw: str) -> str:
    return parse_address(raw)


DIGITS_ONLY = BeforeValidator(_decimal)
"""After a ``Path``/``Query``/``Header``/``Form`` in an ``Annotated`` int: the value is sent
as digits only (``1.0``, ``+1``, ``1e3``, ``1_0`` are refused). After the parameter, so that
its bounds stay in the OpenAPI schema."""
EIP55 = AfterValidator(_address)
"""After a ``Path``/``Query`` in an ``Annotated`` str: an address, 0x and 40 hex digits, a
mixed-case one with its right checksum (returned checksummed)."""

TaskId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The task's id."), DIGITS_ONLY]
RoundNumber = Annotated[
    int, Path(ge=1, le=2**32 - 1, description="The round (from 1)."), DIGITS_ONLY
]
UpdateHash = Annotated[
    str, Path(pattern=HASH_PATTERN, description="The update's content hash, 0x-hex.")
]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip."), DIGITS_ONLY]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page."), DIGITS_ONLY]
ADDRESS_SCHEMA = {"pattern": r"^0x(?:[0-9a-f]{40}|[0-9A-F]{40})$"}
"""An address in OpenAPI: the forms any client can produce (EIP-55 mixed case, also
accepted, has a checksum a pattern cannot express: :data:`EIP55` checks it)."""
AccountPath = Annotated[
    str,
    Path(
        json_schema_extra=ADDRESS_SCHEMA,
        description="An address: 0x and 40 hex digits, lower or upper case, or mixed case "
        "with its EIP-55 checksum.",
    ),
    EIP55,
]


def gateway_of(request: Request) -> Gateway:
    """The running gateway (503 while it starts)."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise ApiError(503, "the gateway is starting")
    return gateway


GatewayDep = Annotated[Gateway, Depends(gateway_of)]
"""A route's parameter for the running gateway (503 while it starts)."""


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
