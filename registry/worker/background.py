"""The background worker: each round it delivers due outbox messages and webhooks, tells holders about
mandates that end within 14 days, tells organisations about mandates that ended (`mandate.expired`),
marks oral-mandate requests whose 24 hours are over, forgets idempotency keys older than 24 hours, and
seals new audit events.

`serve` runs one in-process by default; `mandate-registry worker` runs it alone. Any number may run at
once: outbox claims and the seal head's lock keep them from doing the same work twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from registry.db.engine import session_scope
from registry.services import audit, idempotency, mandate_requests, mandates, verifications
from registry.wiring import Wiring
from registry.worker.webhook_delivery import WebhookWorker

log = logging.getLogger(__name__)


class BackgroundWorker:
    def __init__(self, wiring: Wiring, name: str | None = None) -> None:
        self.wiring = wiring
        self.delivery = wiring.worker(name)
        self.webhooks = WebhookWorker(wiring, name and f"{name}-webhooks")

    async def run_round(self) -> int:
        """One round of every job; returns how many outbox messages were tried."""
        tried = await self.delivery.run_once()
        tried += await self.webhooks.run_once()
        async with session_scope(self.wiring.session_factory) as session:
            await mandates.remind_expiring(self.wiring.context(session))
        async with session_scope(self.wiring.session_factory) as session:
            await mandate_requests.lapse_due(self.wiring.context(session))
            await mandates.expire_due(self.wiring.context(session))
            await idempotency.forget_old(self.wiring.context(session))
            await verifications.forget_old_failures(self.wiring.context(session))
        async with session_scope(self.wiring.session_factory) as session:
            await audit.seal(self.wiring.context(session))
        return tried

    async def run_forever(self, stop: asyncio.Event) -> None:
        settings = self.wiring.settings
        log.info("background worker %s started", self.delivery.name)
        while not stop.is_set():
            try:
                tried = await self.run_round()
            except Exception:  # the database or the SMTP server may be down for a while; keep going
                log.exception("worker round failed; trying again in %.0f s", settings.outbox_poll_seconds)
                tried = 0
            if tried < settings.outbox_batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.outbox_poll_seconds)
        log.info("background worker %s stopped", self.delivery.name)
