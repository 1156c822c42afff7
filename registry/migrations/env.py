"""Alembic environment: async engines, batch mode on SQLite so ALTERs work there too."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection, event
from sqlmodel import SQLModel

from registry.db.engine import create_engine
from registry.models import UTCDateTime  # registers the tables too
from registry.settings import Settings

target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our aware-UTC type as the DateTime it stores, so that revisions import nothing of ours."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")


def _sqlite_foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    # SQLite changes a column by copying its table; with foreign keys on, dropping the old copy deletes
    # (or refuses to delete) the rows that refer to it. SQLite's own recipe: keys off, check after.
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


async def _run_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(Settings(database_url=url, db_pool_size=1))
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys_off)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_online())
    else:  # called from async code (tests, an embedding app): migrate on a thread with a loop of its own
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _run_online()).result()
