"""The outbox against a real SMTP server on loopback, with committed transactions on a fresh database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.db.engine import session_scope
from registry.models import AuditEvent, OutboxMessage
from registry.services import holders, mandates, organisations
from registry.settings import Settings
from registry.wiring import Wiring
from tests.conftest import NOW, Databases, make_settings
from tests.smtp import SMTPServer, free_port

pytestmark = pytest.mark.committed


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_settings(databases: Databases, smtp: SMTPServer) -> Settings:
    return make_settings(
        databases.new_migrated(), email_backend="smtp", smtp_port=smtp.port, outbox_batch_size=3
    )


@pytest.fixture
async def wiring(smtp_settings: Settings) -> AsyncIterator[Wiring]:
    wiring = Wiring.build(smtp_settings, clock=FrozenClock(NOW))
    yield wiring
    await wiring.engine.dispose()


async def grant(wiring: Wiring, email: str, language: str, proxy_email: str | None = None) -> str:
    async with session_scope(wiring.session_factory) as session:
        ctx = wiring.context(session)
        if not await organisations.list_all(ctx):
            await organisations.create(ctx, "energie-bv", "Energie BV")
        holder = await holders.get_or_create_verified(ctx, email, language)
        proxy = mandates.Proxy(name="Jan de Vries", relation="partner", email=proxy_email)
        draft = mandates.Draft(organisation="energie-bv", proxy=proxy, scope=["information", "termination"])
        return (await mandates.grant(ctx, holder, draft)).reference


async def outbox(wiring: Wiring) -> list[OutboxMessage]:
    async with session_scope(wiring.session_factory) as session:
        return list((await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).scalars())


class TestDelivery:
    async def test_committed_messages_arrive_with_headers_in_both_languages(
        self, wiring: Wiring, smtp: SMTPServer
    ) -> None:
        reference = await grant(wiring, "anna@example.nl", "nl")
        await grant(wiring, "emma@example.com", "en")
        assert await wiring.worker().drain() == 2
        by_to = {m["To"]: m for m in smtp.inbox.messages}
        assert set(by_to) == {"anna@example.nl", "emma@example.com"}
        queued = {m.recipient: m for m in await outbox(wiring)}

        nl = by_to["anna@example.nl"]
        assert nl["Subject"] == "U heeft Jan de Vries gemachtigd bij Energie BV"
        assert nl["From"] == "Mandate Registry <no-reply@registry.test>"
        assert nl["Message-ID"] == queued["anna@example.nl"].message_id
        assert nl["Content-Language"] == "nl"
        assert nl["Auto-Submitted"] == "auto-generated"
        assert nl.get_content_type() == "multipart/alternative"
        text = nl.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = nl.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert reference in text and reference in html
        assert "28 november 2026" in text and "het contract opzeggen" in text
        assert '<html lang="nl">' in html and "Let op:" in html

        en = by_to["emma@example.com"]
        assert en["Subject"] == "You have authorised Jan de Vries at Energie BV"
        assert "28 November 2026" in en.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert '<html lang="en">' in en.get_body(("html",)).get_content()  # type: ignore[union-attr]

        assert {m.status for m in queued.values()} == {"sent"}
        assert all(m.body_text is None and m.body_html is None for m in queued.values())

    async def test_smtp_down_keeps_the_message_until_the_server_is_back(self, databases: Databases) -> None:
        port = free_port()
        settings = make_settings(databases.new_migrated(), email_backend="smtp", smtp_port=port)
        clock = FrozenClock(NOW)
        wiring = Wiring.build(settings, clock=clock)
        try:
            await grant(wiring, "anna@example.nl", "nl")
            assert await wiring.worker().drain() == 1
            [message] = await outbox(wiring)
            assert (message.status, message.attempts) == ("pending", 1)
            assert "SMTP unavailable" in (message.last_error or "")
            assert message.next_attempt_at > NOW and message.body_text

            assert await wiring.worker().drain() == 0  # not due yet: no hammering
            server = SMTPServer(port).start()
            try:
                clock.advance(timedelta(seconds=settings.outbox_retry_base_seconds))
                assert await wiring.worker().drain() == 1
                assert [m["To"] for m in server.inbox.messages] == ["anna@example.nl"]
            finally:
                server.stop()
            [message] = await outbox(wiring)
            assert (message.status, message.attempts, message.last_error) == ("sent", 2, None)
        finally:
            await wiring.engine.dispose()

    async def test_a_message_is_dead_after_the_last_try(self, databases: Databases) -> None:
        settings = make_settings(
            databases.new_migrated(), email_backend="smtp", smtp_port=free_port(), outbox_max_attempts=3
        )
        clock = FrozenClock(NOW)
        wiring = Wiring.build(settings, clock=clock)
        try:
            await grant(wiring, "anna@example.nl", "nl")
            for _ in range(3):
                assert await wiring.worker().drain() == 1
                clock.advance(timedelta(seconds=settings.outbox_retry_max_seconds))
            assert await wiring.worker().drain() == 0
            [message] = await outbox(wiring)
            assert (message.status, message.attempts) == ("dead", 3)
        finally:
            await wiring.engine.dispose()

    async def test_a_rolled_back_change_leaves_no_message(self, wiring: Wiring, smtp: SMTPServer) -> None:
        with pytest.raises(RuntimeError):
            async with session_scope(wiring.session_factory) as session:
                ctx = wiring.context(session)
                await organisations.create(ctx, "energie-bv", "Energie BV")
                holder = await holders.get_or_create_verified(ctx, "anna@example.nl")
                draft = mandates.Draft(
                    organisation="energie-bv",
                    scope=["information"],
                    proxy=mandates.Proxy(name="Jan", relation="partner", email="j@example.nl"),
                )
                await mandates.grant(ctx, holder, draft)
                assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
                raise RuntimeError("the request failed after the grant")
        assert await outbox(wiring) == []
        async with session_scope(wiring.session_factory) as session:
            assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0
        assert await wiring.worker().drain() == 0
        assert smtp.inbox.messages == []

    async def test_two_workers_deliver_each_message_once(
        self, wiring: Wiring, smtp_settings: Settings, smtp: SMTPServer
    ) -> None:
        for n in range(12):
            await grant(wiring, f"holder{n}@example.nl", "nl", proxy_email=f"proxy{n}@example.nl")
        other = Wiring.build(smtp_settings, clock=wiring.clock)
        try:
            delivered = await asyncio.gather(wiring.worker("one").drain(), other.worker("two").drain())
        finally:
            await other.engine.dispose()
        assert sum(delivered) == 24 and all(delivered), delivered
        ids = Counter(m["Message-ID"] for m in smtp.inbox.messages)
        assert len(ids) == 24 and set(ids.values()) == {1}
        assert {m.status for m in await outbox(wiring)} == {"sent"}


class TestFailures:
    async def test_an_expired_claim_is_not_sent_twice(self, wiring: Wiring, smtp: SMTPServer) -> None:
        for n in range(3):
            await grant(wiring, f"holder{n}@example.nl", "nl")
        slow = wiring.worker("slow")
        batch = await slow.claim()
        assert len(batch) == 3
        assert isinstance(wiring.clock, FrozenClock)
        # The slow worker stalls past its lease; another worker takes the messages over and sends them.
        wiring.clock.advance(timedelta(seconds=wiring.settings.outbox_lease_seconds + 1))
        assert await wiring.worker("fast").drain() == 3
        for message in batch:
            await slow.deliver(message)
        assert Counter(m["Message-ID"] for m in smtp.inbox.messages) == Counter(
            {m.message_id: 1 for m in await outbox(wiring)}
        )

    async def test_an_unknown_recipient_is_dead_at_once(self, wiring: Wiring, smtp: SMTPServer) -> None:
        smtp.inbox.unknown.add("gone@example.nl")
        await grant(wiring, "gone@example.nl", "nl")
        assert await wiring.worker().drain() == 1
        [message] = await outbox(wiring)
        assert (message.status, message.attempts) == ("dead", 1)
        assert "550" in (message.last_error or "")

    async def test_an_unexpected_error_is_retried_not_stuck(self, databases: Databases) -> None:
        class Broken:
            async def send(self, message: object) -> None:
                raise UnicodeEncodeError("ascii", "é", 0, 1, "cannot encode")

        clock = FrozenClock(NOW)
        wiring = Wiring.build(make_settings(databases.new_migrated()), clock=clock, sender=Broken())
        try:
            await grant(wiring, "anna@example.nl", "nl")
            assert await wiring.worker().drain() == 1
            [message] = await outbox(wiring)
            assert (message.status, message.attempts, message.claimed_by) == ("pending", 1, None)
            assert "UnicodeEncodeError" in (message.last_error or "")
        finally:
            await wiring.engine.dispose()
