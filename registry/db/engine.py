"""Engine and sessions. SQLite gets WAL, synchronous=FULL, foreign keys and write-ahead `BEGIN IMMEDIATE`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from registry.errors import ConfigurationError
from registry.settings import Settings

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",
)

SessionFactory = async_sessionmaker[AsyncSession]
READ_ONLY = "registry_read_only"  # execution option: a reading transaction, one consistent snapshot


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so that BEGIN IMMEDIATE below is the only BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        # WAL gives a read transaction a consistent snapshot without taking the write lock.
        connection.exec_driver_sql("BEGIN")
        return
    # Take the write lock up front: a deferred transaction that later writes can fail at once with
    # SQLITE_BUSY when another connection committed in between, and no busy timeout helps then.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        _check_sqlite_path(url.database)
        if url.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)  # one connection, or every one is a new empty DB
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_pre_ping", False)
    return create_async_engine(url, connect_args={"connect_timeout": 5}, **kwargs)


def _check_sqlite_path(database: str | None) -> None:
    if database in (None, "", ":memory:"):
        return
    folder = Path(str(database)).expanduser().resolve().parent
    if not folder.is_dir():
        raise ConfigurationError(
            f"the folder {folder} of the SQLite database does not exist: create it "
            "or point REGISTRY_DATABASE_URL elsewhere"
        )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def session_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """One unit of work for the CLI and the worker: commit on success, roll back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def snapshot_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A read-only unit of work that sees one consistent state of the database from its first read on:
    REPEATABLE READ on PostgreSQL, a deferred WAL read transaction on SQLite (no write lock taken)."""
    async with factory() as session:
        options: dict[str, Any] = {READ_ONLY: True}
        if session.get_bind().dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        await session.connection(execution_options=options)
        yield session  # closing the session ends the transaction; what was read stays readable


@asynccontextmanager
async def read_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A short reading unit of work that takes no write lock (SQLite: deferred BEGIN) and asks for no
    isolation level, for reads repeated often, such as the live status streams."""
    async with factory() as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database cannot answer a trivial query. Takes no lock."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{READ_ONLY: True})
        await connection.execute(text("SELECT 1"))
