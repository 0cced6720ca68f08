"""Request bodies parsed strictly: every JSON body goes through :mod:`ledgerlearn.strict_json`.

FastAPI parses a JSON body with ``Request.json``, which is ``json.loads``: unbounded nesting
(a body of 99000 ``[`` overflows the C stack once py-evm raised the recursion limit), ``NaN``
and duplicate keys. Every router of the gateway uses :class:`StrictRoute`, whose requests
parse JSON with :func:`ledgerlearn.strict_json.loads` under :data:`MAX_JSON_BODY_BYTES`: a
refused body is a 422 naming ``body`` and the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from ledgerlearn import strict_json
from ledgerlearn_gateway.errors import ApiError

MAX_JSON_BODY_BYTES = 64 * 1024
"""Largest JSON body (the gateway's JSON bodies are a few hundred bytes)."""


class StrictRequest(Request):
    """A request whose JSON body is parsed by :func:`ledgerlearn.strict_json.loads`."""

    async def json(self) -> Any:
        """The parsed body; 422 naming ``body`` when it is refused."""
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = strict_json.loads(body, max_bytes=MAX_JSON_BODY_BYTES)
            except ValueError as exc:
                raise ApiError(422, f"body: {exc}", field="body") from None
        return self._json


class StrictRoute(APIRoute):
    """A route whose handler sees a :class:`StrictRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictRequest(request.scope, request.receive))

        return strict_handler
