"""Delivery of webhooks: claimed like the e-mail outbox, signed per Standard Webhooks, sent with httpx.

A 2xx answer delivers. A 410 disables the endpoint at once. Anything else (another status, a redirect,
which is never followed, a timeout, a refused connection) is tried again after `webhook_retry_seconds`;
after the last wait the delivery is dead, the endpoint disabled and the organisation's contact told. A
target that resolves to a private or loopback address is refused unless `webhook_allow_private` is set.
Every try of one delivery carries the same `webhook-id`, so a receiver can drop a repeat.
"""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from registry.clock import Clock
from registry.db.engine import SessionFactory, session_scope
from registry.models import WebhookDelivery
from registry.repositories import OrganisationRepository, WebhookDeliveryRepository
from registry.services import ServiceContext, notifications, webhooks
from registry.settings import Settings

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
BATCH = 20


class WebhookWorker:
    def __init__(self, wiring: Any, name: str | None = None) -> None:
        self.wiring = wiring
        self.factory: SessionFactory = wiring.session_factory
        self.clock: Clock = wiring.clock
        self.settings: Settings = wiring.settings
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}-webhooks"

    async def run_once(self) -> int:
        now = self.clock.now()
        async with session_scope(self.factory) as session:
            batch = await WebhookDeliveryRepository(session).claim_due(self.name, now, now + LEASE, BATCH)
        if not batch:
            return 0
        async with httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds, follow_redirects=False
        ) as http:
            for delivery in batch:
                await self._deliver(http, delivery)
        return len(batch)

    async def _deliver(self, http: httpx.AsyncClient, delivery: WebhookDelivery) -> None:
        assert delivery.id is not None
        now = self.clock.now()
        async with session_scope(self.factory) as session:
            repo = WebhookDeliveryRepository(session)
            if not await repo.renew(delivery.id, self.name, now, now + LEASE):
                return
            endpoint = await repo.endpoint(delivery.endpoint_id)
            assert endpoint is not None
            secret = webhooks.secret_of(self.wiring.context(session), endpoint)
        if endpoint.status != "active":
            await self._finish(delivery, status="dead", last_error="the endpoint is disabled")
            return
        host = urlsplit(endpoint.url).hostname or ""
        if not self.settings.webhook_allow_private and await webhooks.private_address(host):
            await self._failed(delivery, None, "the target resolves to a private or loopback address")
            return
        headers = {
            "content-type": "application/json",
            "user-agent": "MandateRegistry-Webhooks/1",
            "webhook-id": delivery.public_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery.public_id, now, delivery.payload),
        }
        try:
            answer = await http.post(endpoint.url, content=delivery.payload.encode(), headers=headers)
        except httpx.HTTPError as exc:
            await self._failed(delivery, None, f"{exc.__class__.__name__}: {exc}"[:500])
            return
        if 200 <= answer.status_code < 300:
            await self._finish(
                delivery,
                status="delivered",
                delivered_at=self.clock.now(),
                last_status_code=answer.status_code,
                last_error=None,
            )
        elif answer.status_code == 410:
            await self._finish(delivery, status="dead", last_status_code=410, last_error="410 Gone")
            await self._disable(delivery.endpoint_id, "the receiver answered 410 Gone")
        else:
            reason = (
                "a redirect (not followed)"
                if 300 <= answer.status_code < 400
                else f"HTTP {answer.status_code}"
            )
            await self._failed(delivery, answer.status_code, reason)

    async def _failed(self, delivery: WebhookDelivery, status_code: int | None, error: str) -> None:
        waits = self.settings.webhook_retry_seconds
        if delivery.attempts > len(waits):
            await self._finish(delivery, status="dead", last_status_code=status_code, last_error=error)
            await self._disable(
                delivery.endpoint_id, f"no delivery succeeded for {len(waits) + 1} tries: {error}"
            )
            return
        wait = timedelta(seconds=waits[delivery.attempts - 1])
        await self._finish(
            delivery, next_attempt_at=self.clock.now() + wait, last_status_code=status_code, last_error=error
        )
        log.warning(
            "webhook %s try %d failed (%s); next in %s", delivery.public_id, delivery.attempts, error, wait
        )

    async def _finish(self, delivery: WebhookDelivery, **values: object) -> None:
        assert delivery.id is not None
        async with session_scope(self.factory) as session:
            await WebhookDeliveryRepository(session).finish(delivery.id, self.name, **values)

    async def _disable(self, endpoint_id: int, reason: str) -> None:
        async with session_scope(self.factory) as session:
            repo = WebhookDeliveryRepository(session)
            endpoint = await repo.endpoint(endpoint_id)
            if endpoint is None or endpoint.status != "active":
                return
            endpoint.status, endpoint.disabled_at, endpoint.disabled_reason = (
                "disabled",
                self.clock.now(),
                reason[:200],
            )
            organisation = await OrganisationRepository(session).by_id(endpoint.organisation_id)
            assert organisation is not None
            ctx: ServiceContext = self.wiring.context(session)
            await webhooks.disabled(ctx, organisation, endpoint, reason)
            await notifications.webhook_disabled(ctx, organisation, endpoint.url, reason)
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason)

    async def drain(self) -> int:
        total = 0
        while tried := await self.run_once():
            total += tried
        return total
