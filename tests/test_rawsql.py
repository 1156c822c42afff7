"""`rawsql.prepared_batch`, the fast lane's way to PostgreSQL: values go as text to statements prepared on
the server, in one round trip of libpq's pipeline mode, so what goes in must come out unchanged, a
failure must stop the batch with its SQLSTATE, a connection whose prepared statements are gone (or were
never made, the batch having failed first) must recover, and a lost connection must end the wait.
`rawsql.combined` makes one statement of several writes: each write must get its own values, and an
asserted write that touches no row must fail the statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy.engine import make_url

from registry.db import rawsql
from registry.db.rawsql import BatchFailed, Statement
from tests.conftest import Databases

ECHO = Statement("SELECT :text, :number, :flag, :moment, :nothing")


@pytest.fixture
async def connection(databases: Databases) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(_dsn(databases.new()), autocommit=True) as connection:
        yield connection


@pytest.fixture
async def migrated(databases: Databases) -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection to a migrated database (`registry_assert` is a migration's)."""
    dsn = _dsn(databases.new_migrated())
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
        yield connection


def _dsn(url: str) -> str:
    if url.startswith("sqlite"):
        pytest.skip("PostgreSQL's fast lane")
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "text",
    ["plain", "O'Brien", "back\\slash", "'; DROP TABLE x; --", "ünïcødé 🙂", "$1 :text %s", ""],
)
async def test_values_come_back_as_they_went(connection: psycopg.AsyncConnection, text: str) -> None:
    moment = datetime(2026, 11, 28, 21, 5, 7, 123456, tzinfo=timezone(timedelta(hours=1)))
    params = {"text": text, "number": -(2**40), "flag": True, "moment": moment, "nothing": None}
    (result,) = await rawsql.prepared_batch(connection, [(ECHO, params)])
    assert result.rows == [(text, -(2**40), True, moment, None)]  # aware times compare as instants


async def test_a_batch_stops_at_its_first_failure(connection: psycopg.AsyncConnection) -> None:
    await connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
    insert = Statement("INSERT INTO t (id) VALUES (:id)")
    with pytest.raises(BatchFailed) as failed:
        await rawsql.prepared_batch(
            connection,
            [(Statement("BEGIN"), {}), (insert, {"id": 1}), (insert, {"id": 1}), (insert, {"id": 2})],
        )
    assert failed.value.sqlstate == "23505"  # unique_violation
    await rawsql.prepared_batch(connection, [(Statement("ROLLBACK"), {})])
    cursor = await connection.execute("SELECT count(*) FROM t")
    assert await cursor.fetchone() == (0,)


async def test_forgotten_statements_are_prepared_again(connection: psycopg.AsyncConnection) -> None:
    params = {"text": "x", "number": 1, "flag": False, "moment": datetime.now(UTC), "nothing": None}
    await rawsql.prepared_batch(connection, [(ECHO, params)])
    await connection.execute("DEALLOCATE ALL")  # as DISCARD ALL or a pooler would
    with pytest.raises(BatchFailed) as failed:
        await rawsql.prepared_batch(connection, [(ECHO, params)])
    assert failed.value.sqlstate == "26000"
    (result,) = await rawsql.prepared_batch(connection, [(ECHO, params)])
    assert result.rows[0][0] == "x"


async def test_a_statement_whose_preparing_a_failure_cut_short_is_prepared_later(
    connection: psycopg.AsyncConnection,
) -> None:
    failing = Statement("SELECT 1 / :zero")
    params = {"text": "x", "number": 1, "flag": False, "moment": datetime.now(UTC), "nothing": None}
    with pytest.raises(BatchFailed) as failed:
        await rawsql.prepared_batch(connection, [(failing, {"zero": 0}), (ECHO, params)])
    assert failed.value.sqlstate == "22012"  # division_by_zero; ECHO was not prepared after it
    (result,) = await rawsql.prepared_batch(connection, [(ECHO, params)])
    assert result.rows[0][0] == "x"
    cursor = await connection.execute("SELECT count(*) FROM pg_prepared_statements")
    assert await cursor.fetchone() == (2,)


async def test_another_mix_of_types_is_another_statement(connection: psycopg.AsyncConnection) -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    values = {"text": None, "number": None, "flag": None, "moment": None, "nothing": None}
    (empty,) = await rawsql.prepared_batch(connection, [(ECHO, values)])
    (full,) = await rawsql.prepared_batch(connection, [(ECHO, {**values, "moment": later, "number": 3})])
    assert empty.rows == [(None, None, None, None, None)]
    assert full.rows == [(None, 3, None, later, None)]


async def test_combined_writes_get_their_own_values(migrated: psycopg.AsyncConnection) -> None:
    await migrated.execute("CREATE TABLE t (id int PRIMARY KEY, label text, at timestamptz)")
    await migrated.execute("INSERT INTO t (id, label) VALUES (1, 'old')")
    insert = Statement("INSERT INTO t (id, label, at) VALUES (:id, :label, :at)")
    rename = Statement("UPDATE t SET label = :label WHERE id = :id")
    at = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)
    writes = [(insert, {"id": 2, "label": "two", "at": at}), (rename, {"label": "one", "id": 1})]
    await rawsql.prepared_batch(migrated, [rawsql.combined(writes, one_row=[(1, "no such row")])])
    cursor = await migrated.execute("SELECT id, label, at FROM t ORDER BY id")
    assert await cursor.fetchall() == [(1, "one", None), (2, "two", at)]

    missing = [(insert, {"id": 3, "label": "three", "at": at}), (rename, {"label": "x", "id": 9})]
    with pytest.raises(BatchFailed, match="no such row") as failed:
        await rawsql.prepared_batch(migrated, [rawsql.combined(missing, one_row=[(1, "no such row")])])
    assert failed.value.sqlstate == "P0001"
    cursor = await migrated.execute("SELECT count(*) FROM t")
    assert await cursor.fetchone() == (2,)  # the statement failed whole: the insert is undone too


class _LostConnection:
    """What libpq's connection looks like once the server is gone and its error has been collected:
    not busy, no more results, status BAD."""

    status = psycopg.pq.ConnStatus.BAD
    socket = -1
    spins = 0

    def enter_pipeline_mode(self) -> None: ...

    def pipeline_sync(self) -> None: ...

    def flush(self) -> int:
        return 0

    def consume_input(self) -> None: ...

    def is_busy(self) -> bool:
        return False

    def get_result(self) -> None:
        self.spins += 1
        assert self.spins < 1000, "waiting for ever on a lost connection"


async def test_a_lost_connection_ends_the_wait() -> None:
    with pytest.raises(psycopg.OperationalError, match="lost"):
        await rawsql._pipelined(_LostConnection(), [])
