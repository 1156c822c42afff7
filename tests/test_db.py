from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.db.engine import create_engine, create_session_factory, ping, session_scope, snapshot_scope
from registry.models import Organisation
from registry.settings import Settings
from tests.conftest import NOW, Databases, make_settings


class TestSQLitePragmas:
    async def test_wal_full_sync_and_foreign_keys(self, settings: Settings, engine: AsyncEngine) -> None:
        if not settings.is_sqlite:
            pytest.skip("SQLite pragmas")
        async with engine.connect() as connection:
            values = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            ]
        assert values == ["wal", 2, 1]


class TestSnapshots:
    async def test_a_snapshot_reads_one_state_while_others_commit(self, databases: Databases) -> None:
        settings = make_settings(databases.new_migrated())
        engine = create_engine(settings)
        factory = create_session_factory(engine)
        try:
            async with snapshot_scope(factory) as reader:
                before = await reader.scalar(select(func.count()).select_from(Organisation))
                async with session_scope(factory) as writer:
                    writer.add(Organisation(slug="later", display_name="Later", created_at=NOW))
                after = await reader.scalar(select(func.count()).select_from(Organisation))
            assert (before, after) == (0, 0)
        finally:
            await engine.dispose()

    async def test_reading_does_not_wait_for_a_writer_on_sqlite(self, databases: Databases) -> None:
        settings = make_settings(databases.new_migrated(), db_pool_size=2)
        if not settings.is_sqlite:
            pytest.skip("SQLite's write lock")
        engine = create_engine(settings)
        factory = create_session_factory(engine)
        try:
            async with session_scope(factory) as writer:
                writer.add(Organisation(slug="held", display_name="Held", created_at=NOW))
                await writer.flush()  # the write lock is held until this block ends
                async with snapshot_scope(factory) as reader:
                    count = await asyncio.wait_for(
                        reader.scalar(select(func.count()).select_from(Organisation)), timeout=5
                    )
                assert count == 0
                await asyncio.wait_for(ping(engine), timeout=5)
        finally:
            await engine.dispose()
