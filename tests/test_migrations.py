from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlmodel import SQLModel

from registry import migrations
from registry.db import create_engine
from tests.conftest import Databases, make_settings


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _state(connection: Connection) -> tuple[str | None, set[str]]:
    return migrations.current_revision(connection), set(inspect(connection).get_table_names())


class TestMigrations:
    async def test_empty_database_upgrades_to_head_with_no_pending_diff(self, databases: Databases) -> None:
        url = databases.new()
        migrations.upgrade(url)
        engine = create_engine(make_settings(url))
        try:
            async with engine.connect() as connection:
                revision, tables = await connection.run_sync(_state)
                diff = await connection.run_sync(_diff)
        finally:
            await engine.dispose()
        assert revision == migrations.head_revision()
        assert set(SQLModel.metadata.tables) <= tables
        assert diff == []

    async def test_upgrade_twice_is_harmless(self, databases: Databases) -> None:
        url = databases.new_migrated()
        migrations.upgrade(url)
        engine = create_engine(make_settings(url))
        try:
            async with engine.connect() as connection:
                revision, _ = await connection.run_sync(_state)
        finally:
            await engine.dispose()
        assert revision == migrations.head_revision()

    def test_every_constraint_is_named(self) -> None:
        for table in SQLModel.metadata.tables.values():
            names = [c.name for c in table.constraints] + [i.name for i in table.indexes]
            assert all(names), f"unnamed constraint on {table.name}"
