"""Fixtures: settings -> migrated database (once) -> connection in a rolled-back transaction per test ->
service context / app -> httpx client. The clock is frozen and e-mail goes to an in-memory sender.

The suite runs on SQLite by default and on PostgreSQL when REGISTRY_TEST_DATABASE_URL names one, for
example `postgresql+psycopg://postgres@127.0.0.1:5432/postgres`: each run then makes throwaway databases
on that server and drops them afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from registry import migrations
from registry.app import create_app
from registry.clock import FrozenClock
from registry.db.engine import create_engine
from registry.email.render import Mailer, Renderer
from registry.email.senders import InMemorySender
from registry.http.ratelimit import RequestBudget
from registry.models import Holder, Organisation
from registry.services import ServiceContext, holders, organisations
from registry.settings import Settings, new_key
from registry.wiring import Wiring

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
TEST_DATABASE_URL = os.environ.get("REGISTRY_TEST_DATABASE_URL", "")


class Databases:
    """Makes empty databases of the engine under test and removes them at the end of the run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    def new(self) -> str:
        if not TEST_DATABASE_URL:
            return f"sqlite+aiosqlite:///{self.tmp / f'{uuid.uuid4().hex}.db'}"
        name = f"registry_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    def new_migrated(self) -> str:
        url = self.new()
        migrations.upgrade(url)
        return url

    def drop_all(self) -> None:
        if not self.created:
            return
        with psycopg.connect(self._admin_dsn(), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @staticmethod
    def _admin_dsn() -> str:
        url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.drop_all()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "email_backend": "memory",
        "hmac_key": new_key(),
        "encryption_key": new_key(),
        "worker_in_process": False,
        "base_url": "https://registry.test",
        "email_from": "Mandate Registry <no-reply@registry.test>",
        "outbox_retry_base_seconds": 30.0,
        # Counted in real time, not by the frozen clock: tests of other things must not run into it.
        # tests/api/test_rate_limits.py sets its own.
        "rate_limit": "100000/minute",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def settings(databases: Databases) -> Settings:
    return make_settings(databases.new_migrated())


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose outer transaction is rolled back after the test, whatever the test commits."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def sender() -> InMemorySender:
    return InMemorySender()


@pytest.fixture
def wiring(
    settings: Settings,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    sender: InMemorySender,
) -> Wiring:
    return Wiring(
        settings=settings,
        keys=settings.keys(),
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        sender=sender,
        mailer=Mailer(Renderer(), settings.email_from, settings.base_url),
        budget=RequestBudget(settings.rate_limit, settings.rate_limit_storage),
    )


@pytest.fixture
def ctx(session: AsyncSession, wiring: Wiring) -> ServiceContext:
    return wiring.context(session)


@pytest.fixture
async def client(settings: Settings, wiring: Wiring) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, wiring=wiring)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # as a real server would answer
    async with httpx.AsyncClient(transport=transport, base_url="https://registry.test") as client:
        yield client


@pytest.fixture
async def organisation(ctx: ServiceContext) -> Organisation:
    return await organisations.create(ctx, "energie-bv", "Energie BV")


@pytest.fixture
async def holder(ctx: ServiceContext) -> Holder:
    return await holders.get_or_create_verified(ctx, "Anna.de.Vries@Example.NL", "nl")
