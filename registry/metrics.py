"""Prometheus metrics, served at `/metrics`.

What this process did is counted here: HTTP requests by route template and status, checks by result and by
the path that answered them (the fast lane or the route), mandates locked by wrong codes. What all
processes share is read from the database at each scrape, so every replica reports the same: the outbox's
backlog and the age of its oldest message, dead messages, and webhook deliveries that are failing or were
given up.

With several worker processes in one container (`serve --workers N`), set `PROMETHEUS_MULTIPROC_DIR` to an
empty folder: the counters of all of them are then added up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.db import READ_ONLY
from registry.rawsql import time_of

PROCESS = CollectorRegistry()
REQUESTS = Counter(
    "registry_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=PROCESS,
)
VERIFICATIONS = Counter(
    "registry_verifications",
    "Checks answered, by result and by the path that answered (lane or route).",
    ["result", "path"],
    registry=PROCESS,
)
LOCKS = Counter(
    "registry_verification_locks",
    "Mandates locked by wrong codes: soft (15 minutes) or hard (until the holder unlocks).",
    ["kind"],
    registry=PROCESS,
)

_BACKLOG = text(
    "SELECT (SELECT count(*) FROM outbox_message WHERE status = 'pending'), "
    "(SELECT min(created_at) FROM outbox_message WHERE status = 'pending'), "
    "(SELECT count(*) FROM outbox_message WHERE status = 'dead'), "
    "(SELECT count(*) FROM webhook_delivery WHERE status = 'pending' AND attempts > 0), "
    "(SELECT count(*) FROM webhook_delivery WHERE status = 'dead')"
)


def verification(body: str, path: str) -> None:
    """Count a check by the result its answer starts with."""
    result = "verified" if body.startswith('{"result":"verified"') else "not_verified"
    VERIFICATIONS.labels(result=result, path=path).inc()


class _Shared(Collector):
    def __init__(self, values: tuple[int, datetime | None, int, int, int], now: datetime) -> None:
        self.values, self.now = values, now

    def collect(self) -> Iterable[Metric]:
        pending, oldest, dead, failing, given_up = self.values
        yield GaugeMetricFamily("registry_outbox_backlog", "E-mails waiting to be sent.", value=pending)
        age = (self.now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "registry_outbox_oldest_age_seconds", "Age of the oldest e-mail waiting to be sent.", value=age
        )
        yield GaugeMetricFamily("registry_outbox_dead", "E-mails given up after every try.", value=dead)
        failing_help = "Webhook deliveries that failed, to be tried again."
        yield GaugeMetricFamily("registry_webhook_deliveries_failing", failing_help, value=failing)
        yield GaugeMetricFamily(
            "registry_webhook_deliveries_dead", "Webhook deliveries given up after every try.", value=given_up
        )


async def exposition(engine: AsyncEngine, now: datetime) -> bytes:
    """The text to answer a scrape with: this process's (or every process's) counters, then the database's
    gauges."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{READ_ONLY: True})
        row = (await connection.execute(_BACKLOG)).one()
    shared = CollectorRegistry()
    shared.register(_Shared((int(row[0]), time_of(row[1]), int(row[2]), int(row[3]), int(row[4])), now))
    return generate_latest(_counters()) + generate_latest(shared)


def _counters() -> CollectorRegistry:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return PROCESS
    every = CollectorRegistry()
    multiprocess.MultiProcessCollector(every, path=folder)  # type: ignore[no-untyped-call]
    return every


class CountRequests:
    """ASGI middleware: each HTTP answer by method, route template (never the raw path, which would let
    anyone make new series) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            REQUESTS.labels(method=scope["method"], route=_template(scope), status=str(status)).inc()


def _template(scope: Scope) -> str:
    """The matched route's path with its parameters as `{name}`; `other` when no route matched."""
    if scope.get("route") is None:
        return str(scope.get("state", {}).get("route", "other"))
    path = str(scope["path"])
    for name, value in (scope.get("path_params") or {}).items():
        given = str(value)
        if given and path.endswith("/" + given):
            path = path[: -len(given)] + "{" + name + "}"
        elif given:
            path = path.replace("/" + given + "/", "/{" + name + "}/", 1)
    return path
