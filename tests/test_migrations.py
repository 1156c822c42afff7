from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlmodel import SQLModel

from registry import migrations
from registry.db.engine import create_engine
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


async def test_upgrading_keeps_the_rows_of_a_database_in_use(databases: Databases) -> None:
    """0002 rebuilds the mandate table on SQLite (a column became nullable): no row may be lost and no
    reference to it broken."""
    url = databases.new()
    migrations.upgrade(url, "0001")
    engine = create_engine(make_settings(url))
    now = "2026-01-01 00:00:00"
    rows = [
        f"INSERT INTO organisation (id, slug, display_name, active, default_language, created_at) "
        f"VALUES (1, 'a', 'A', true, 'nl', '{now}')",
        f"INSERT INTO holder (id, email, language, created_at) VALUES (1, 'a@example.nl', 'nl', '{now}')",
        "INSERT INTO mandate (id, reference, holder_id, organisation_id, proxy_name, proxy_relation, scope, "
        "valid_from, valid_until, basis, status, binding, notify_checks, created_at, updated_at) VALUES "
        f"(1, 'M-1', 1, 1, 'Jan', 'partner', '[]', '{now}', '2027-01-01', 'web', 'active', 'unconfirmed', "
        f"false, '{now}', '{now}')",
        "INSERT INTO call_code (mandate_id, code_hash, created_at, expires_at) "
        f"VALUES (1, 'x', '{now}', '{now}')",
    ]
    try:
        async with engine.begin() as connection:
            for row in rows:
                await connection.execute(text(row))
    finally:
        await engine.dispose()
    migrations.upgrade(url)
    engine = create_engine(make_settings(url))
    try:
        async with engine.connect() as connection:
            mandates = (await connection.execute(text("SELECT reference, holder_id FROM mandate"))).all()
            codes = (await connection.execute(text("SELECT mandate_id FROM call_code"))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in mandates] == [("M-1", 1)]
    assert [tuple(r) for r in codes] == [(1,)]
