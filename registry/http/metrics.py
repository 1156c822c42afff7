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

import functools
import os
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import Message, Receive, Scope, Send

from registry.db.engine import SessionFactory, read_scope
from registry.http.asgi import HttpMiddleware, on_start
from registry.repositories import OutboxRepository, WebhookDeliveryRepository

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


def verification(body: str, path: str) -> None:
    """Count a check by the result its answer starts with."""
    result = "verified" if body.startswith('{"result":"verified"') else "not_verified"
    _child(VERIFICATIONS, result, path).inc()


@functools.lru_cache(maxsize=1024)
def _child(counter: Counter, *values: str) -> Counter:
    """The counter's series for these label values, looked up once (`labels` is a few µs per call, and
    every request counts one or two)."""
    return counter.labels(*values)


class _Shared(Collector):
    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def collect(self) -> Iterable[Metric]:
        for name, text in SHARED.items():
            yield GaugeMetricFamily(name, text, value=self.values[name])


SHARED = {
    "registry_outbox_backlog": "E-mails waiting to be sent.",
    "registry_outbox_oldest_age_seconds": "Age of the oldest e-mail waiting to be sent.",
    "registry_outbox_dead": "E-mails given up after every try.",
    "registry_webhook_deliveries_failing": "Webhook deliveries that failed, to be tried again.",
    "registry_webhook_deliveries_dead": "Webhook deliveries given up after every try.",
}


async def exposition(sessions: SessionFactory, now: datetime) -> bytes:
    """The text to answer a scrape with: this process's (or every process's) counters, then the database's
    gauges."""
    async with read_scope(sessions) as session:
        mail, hooks = OutboxRepository(session), WebhookDeliveryRepository(session)
        pending, oldest = await mail.backlog()
        values = {
            "registry_outbox_backlog": pending,
            "registry_outbox_oldest_age_seconds": (now - oldest).total_seconds() if oldest else 0.0,
            "registry_outbox_dead": await mail.count("dead"),
            "registry_webhook_deliveries_failing": await hooks.count("pending", tried=True),
            "registry_webhook_deliveries_dead": await hooks.count("dead"),
        }
    shared = CollectorRegistry()
    shared.register(_Shared(values))
    return generate_latest(_counters()) + generate_latest(shared)


def _counters() -> CollectorRegistry:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return PROCESS
    every = CollectorRegistry()
    multiprocess.MultiProcessCollector(every, path=folder)  # type: ignore[no-untyped-call]
    return every


class CountRequests(HttpMiddleware):
    """ASGI middleware: each HTTP answer by method, route template (never the raw path, which would let
    anyone make new series) and status."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500  # an app that fails before answering: ServerErrorMiddleware answers 500

        def seen(message: Message) -> None:
            nonlocal status
            status = message["status"]

        try:
            await self.app(scope, receive, on_start(send, seen))
        finally:
            _child(REQUESTS, scope["method"], _template(scope), str(status)).inc()


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
