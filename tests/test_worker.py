"""The background worker on a committed database: delivery and sealing, with two workers at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func
from sqlmodel import select

from registry.clock import FrozenClock
from registry.db.engine import session_scope
from registry.models import AuditEvent, AuditSeal
from registry.services import audit
from registry.wiring import Wiring
from registry.worker.background import BackgroundWorker
from tests.conftest import NOW, Databases, make_settings

pytestmark = pytest.mark.committed


async def count(wiring: Wiring, model: type[AuditEvent] | type[AuditSeal]) -> int:
    async with session_scope(wiring.session_factory) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_two_workers_seal_every_event_once(databases: Databases) -> None:
    settings = make_settings(databases.new_migrated())
    one = Wiring.build(settings, clock=FrozenClock(NOW))
    two = Wiring.build(settings, clock=FrozenClock(NOW))
    try:
        for batch in range(4):
            async with session_scope(one.session_factory) as session:
                ctx = one.context(session)
                for n in range(25):
                    await audit.record(ctx, f"mandate:M-{batch}-{n % 5}", "test.event", "test", {"n": n})
            await asyncio.gather(
                BackgroundWorker(one, "one").run_round(), BackgroundWorker(two, "two").run_round()
            )
        assert await count(one, AuditEvent) == await count(one, AuditSeal) == 100
        async with session_scope(one.session_factory) as session:
            report = await audit.verify(one.context(session))
        assert report.ok, report.problem
    finally:
        await one.engine.dispose()
        await two.engine.dispose()
