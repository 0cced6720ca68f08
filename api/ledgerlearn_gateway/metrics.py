"""The gateway's metrics in Prometheus's format: ``GET /metrics``.

:class:`CountRequests` counts every HTTP request by its route's template (``/tasks/{task_id}``,
never the raw path: a client cannot create series) and status, rejections by the signature
middleware included; :class:`GatewayCollector` reads the rest from the running gateway at
scrape time: event-stream subscribers, how far the index is behind the chain, what the keeper
did and how often it failed, downloads by result, the relayer's balance and the IPFS node's
peers and failed fetches. Calls that may be slow (the chain's latest block, the balance, the
peers) are :class:`~ledgerlearn.agents.metrics.Reading` s: a scrape waits for them a bounded
time, else serves their last value.

``/metrics`` is open (Prometheus does not sign requests) unless ``gateway.metrics_open`` is off;
then only a member's signed request reads it, as any closed read
(:mod:`ledgerlearn_gateway.auth`). This module and :mod:`ledgerlearn.agents.metrics` are the only
ones that import ``prometheus_client``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerlearn.agents.metrics import Reading
from ledgerlearn_gateway.auth import METRICS_PATH
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.routes.common import GatewayDep

__all__ = ["GATEWAY_SERIES", "CountRequests", "GatewayCollector", "RequestCounts", "install"]

UNMATCHED = "unmatched"
"""The ``route`` label of a request no route answers (404 without a route)."""

GATEWAY_SERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ledgerlearn_http_requests": ("counter", ("route", "status")),
    "ledgerlearn_sse_subscribers": ("gauge", ()),
    "ledgerlearn_chain_head_block": ("gauge", ()),
    "ledgerlearn_index_lag_blocks": ("gauge", ()),
    "ledgerlearn_keeper_actions": ("counter", ()),
    "ledgerlearn_keeper_errors": ("counter", ()),
    "ledgerlearn_downloads": ("counter", ("result",)),
    "ledgerlearn_relayer_balance_wei": ("gauge", ()),
    "ledgerlearn_ipfs_peers": ("gauge", ()),
    "ledgerlearn_fetch_failures": ("counter", ("cause",)),
}
"""Every series the gateway exposes: name (a counter's samples add ``_total``) -> (type,
labels)."""


class RequestCounts:
    """HTTP requests by (route template, status); written on the event loop only."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, route: str, status: int) -> None:
        """Count one request."""
        key = (route, str(status))
        self.counts[key] = self.counts.get(key, 0) + 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        """A copy (taken in one step: safe from a scrape's thread)."""
        return dict(self.counts)


class CountRequests:
    """Counts every HTTP request by route template and status (pure ASGI; outermost, so the
    signature middleware's 401/403/413 count too). A request that ends in an exception
    counts as 500."""

    def __init__(
        self, app: ASGIApp, *, counts: RequestCounts, routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self.counts = counts
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._template(scope)
        status = 500

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            self.counts.add(route, status)

    def _template(self, scope: Scope) -> str:
        """The path template of the route answering ``scope`` (also for a wrong method: the
        router's 405), else :data:`UNMATCHED`."""
        partial = None
        for context in iter_route_contexts(self.routes()):
            match = context.matches(scope)[0]
            if match is Match.FULL:
                return context.path_format or UNMATCHED
            if match is Match.PARTIAL and partial is None:
                partial = context.path_format
        return partial or UNMATCHED


class GatewayCollector(Collector):
    """The gateway's series (:data:`GATEWAY_SERIES`), read at scrape time."""

    def __init__(
        self,
        gateway: Gateway,
        counts: RequestCounts,
        *,
        max_age_s: float = 5.0,
        wait_s: float = 0.5,
    ) -> None:
        self.gateway = gateway
        self.counts = counts
        timing = {"max_age_s": max_age_s, "wait_s": wait_s}
        client = gateway.client
        self._chain_head = Reading(client.block_number, **timing)
        relayer = gateway.relayer_address
        self._balance = None if relayer is None else Reading(client.balance, **timing)
        node = gateway.node
        self._peers = Reading(lambda: len(node.connected_peers()), **timing)

    def collect(self) -> Iterator[Metric]:
        """The gateway's series."""
        g = self.gateway
        requests = CounterMetricFamily(
            "ledgerlearn_http_requests",
            "HTTP requests by route template and status.",
            labels=["route", "status"],
        )
        for (route, status), count in sorted(self.counts.snapshot().items()):
            requests.add_metric([route, status], count)
        yield requests
        yield GaugeMetricFamily(
            "ledgerlearn_sse_subscribers", "Open event streams (GET /events).", g.hub.subscribers
        )
        head = g.head
        yield GaugeMetricFamily(
            "ledgerlearn_chain_head_block", "The latest block the gateway's index has seen.", head
        )
        latest = self._chain_head.value()
        if latest is not None and head >= 0:
            yield GaugeMetricFamily(
                "ledgerlearn_index_lag_blocks",
                "Blocks the chain's latest block is ahead of the gateway's index.",
                max(0.0, latest - head),
            )
        state = g.orchestration.state
        yield CounterMetricFamily(
            "ledgerlearn_keeper_actions",
            "Transactions the gateway's keeper sent (settlements, proposals, closings).",
            state.actions,
        )
        yield CounterMetricFamily(
            "ledgerlearn_keeper_errors",
            "Keeper steps that failed (a race with another keeper is not one).",
            state.errors,
        )
        downloads = CounterMetricFamily(
            "ledgerlearn_downloads",
            "Model downloads (GET /models/{cid}) by result: ok, remembered (a recent failure "
            "answered at once), busy, unavailable, too_large, hash_mismatch, failed.",
            labels=["result"],
        )
        for result, count in dict(g.downloads.results).items():
            downloads.add_metric([result], count)
        yield downloads
        if self._balance is not None:
            balance = self._balance.value()
            if balance is not None:
                yield GaugeMetricFamily(
                    "ledgerlearn_relayer_balance_wei",
                    "The relayer's balance, in wei (it pays relayed publications and the "
                    "keeper's transactions).",
                    balance,
                )
        peers = self._peers.value()
        if peers is not None:
            yield GaugeMetricFamily(
                "ledgerlearn_ipfs_peers", "IPFS peers the gateway's node is connected to.", peers
            )
        failures = CounterMetricFamily(
            "ledgerlearn_fetch_failures",
            "Content fetches of the gateway's node that failed, by cause (decode: verified "
            "content that is not a valid spec or model).",
            labels=["cause"],
        )
        for cause, count in {**g.node.failures, "decode": g.reader.decode_failures}.items():
            failures.add_metric([cause], count)
        yield failures


router = APIRouter(tags=["health"])


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request, gateway: GatewayDep) -> Response:
    """The gateway's metrics in Prometheus's text format."""
    state = request.app.state
    registry: CollectorRegistry | None = getattr(state, "metrics_registry", None)
    if registry is None or getattr(state, "metrics_gateway", None) is not gateway:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(GatewayCollector(gateway, state.request_counts))
        state.metrics_registry, state.metrics_gateway = registry, gateway
    body = await anyio.to_thread.run_sync(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Count the app's requests (outermost middleware: call after the others are added) and
    serve ``GET /metrics``."""
    counts = RequestCounts()
    app.state.request_counts = counts
    app.add_middleware(CountRequests, counts=counts, routes=lambda: app.router.routes)
    app.include_router(router)
