"""Delivery of the durable outbox.

Messages are written by services in the transaction of the change that causes them (`Mailer.queue`).
A worker claims due messages in a short transaction of its own (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`; SQLite has one writer at a time), sends them outside any transaction, and
records the outcome only while its claim still holds. A worker that dies mid-send leaves a claim that
expires after `outbox_lease_seconds`, after which another worker tries again: delivery is at least once,
and each message keeps one Message-ID across tries so that mail systems can drop a duplicate.
"""

from __future__ import annotations

import logging
import random
import socket
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from registry.clock import Clock
from registry.db.engine import SessionFactory, session_scope
from registry.email.senders import DeliveryError, EmailSender
from registry.models import OutboxMessage
from registry.repositories import OutboxRepository
from registry.settings import Settings

log = logging.getLogger(__name__)


def build_email(message: OutboxMessage, sender_address: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender_address
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text or "")
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    email["Content-Language"] = message.language  # after the body: set_content drops Content-* headers
    return email


class OutboxWorker:
    def __init__(
        self,
        factory: SessionFactory,
        sender: EmailSender,
        clock: Clock,
        settings: Settings,
        name: str | None = None,
    ) -> None:
        self.factory = factory
        self.sender = sender
        self.clock = clock
        self.settings = settings
        self.name = name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"

    async def run_once(self) -> int:
        """Claim and deliver one batch of due messages; return how many were claimed."""
        batch = await self.claim()
        for message in batch:
            await self.deliver(message)
        return len(batch)

    def _lease(self) -> tuple[datetime, datetime]:
        now = self.clock.now()
        return now, now + timedelta(seconds=self.settings.outbox_lease_seconds)

    async def claim(self) -> list[OutboxMessage]:
        now, until = self._lease()
        async with session_scope(self.factory) as session:
            return await OutboxRepository(session).claim_due(
                self.name, now, until, self.settings.outbox_batch_size
            )

    async def deliver(self, message: OutboxMessage) -> None:
        """Send one claimed message, after renewing the claim: a batch may take longer than one lease,
        and a message whose claim ran out may already be with another worker."""
        assert message.id is not None
        now, until = self._lease()
        async with session_scope(self.factory) as session:
            renewed = await OutboxRepository(session).renew(message.id, self.name, now, until)
        if not renewed:
            log.info("outbox message %s: claim expired before sending; left to another round", message.id)
            return
        try:
            await self.sender.send(build_email(message, self.settings.email_from))
        except DeliveryError as exc:
            await self._failed(message, str(exc), permanent=exc.permanent)
            return
        except Exception as exc:  # a bug or an odd message must not block the queue or retry forever
            log.exception("outbox message %s: unexpected error while sending", message.id)
            await self._failed(message, f"{exc.__class__.__name__}: {exc}", permanent=False)
            return
        await self._sent(message.id)

    async def drain(self) -> int:
        """Deliver until nothing is due (tests and the CLI)."""
        total = 0
        while tried := await self.run_once():
            total += tried
        return total

    async def _sent(self, message_id: int) -> None:
        async with session_scope(self.factory) as session:
            # Bodies carry links with tokens; once delivered they are not kept.
            await OutboxRepository(session).finish(
                message_id,
                self.name,
                status="sent",
                sent_at=self.clock.now(),
                body_text=None,
                body_html=None,
                last_error=None,
            )
        log.info("outbox message %s sent", message_id)

    async def _failed(self, message: OutboxMessage, error: str, *, permanent: bool) -> None:
        assert message.id is not None
        dead = permanent or message.attempts >= self.settings.outbox_max_attempts
        values: dict[str, object] = {"last_error": error[:500]}
        if dead:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = self.clock.now() + self.retry_delay(message.attempts)
        async with session_scope(self.factory) as session:
            await OutboxRepository(session).finish(message.id, self.name, **values)
        log.warning(
            "outbox message %s (%s) attempt %d failed%s: %s",
            message.id,
            message.template,
            message.attempts,
            " for good" if dead else "",
            error,
        )

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter in the upper half: base * 2^(n-1), capped."""
        s = self.settings
        ceiling = min(s.outbox_retry_base_seconds * 2 ** (attempts - 1), s.outbox_retry_max_seconds)
        return timedelta(seconds=ceiling * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not a secret
