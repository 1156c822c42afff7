"""Statements sent in batches on the request's own connection, for the hot path (the verification).

The ORM costs about a millisecond of Python per statement and every statement is a network round trip;
a check needs about fifteen. Here a batch of plain SQL goes to the driver in one go: on PostgreSQL in
psycopg's pipeline mode, one round trip for the whole batch; on SQLite one statement after another on the
connection's thread, where a round trip costs no network. The statements run inside the session's
transaction, so they commit or roll back with the rest of the request's unit of work. The fast lane
(`registry/api/lane.py`), on connections of its own, sends its batches leaner still: `prepared_batch`.

SQL is written once with `:name` parameters. Times are aware UTC datetimes in and out, whatever the engine
keeps; JSON columns come back parsed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from psycopg import OperationalError, pq
from psycopg.adapt import Transformer
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_NUMBER = re.compile(r"\$(\d+)")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a DateTime on SQLite, so text sorts as time


@dataclass(frozen=True)
class Statement:
    sql: str


@functools.cache
def _pyformat(sql: str) -> str:
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


@dataclass(frozen=True)
class Result:
    rows: list[tuple[Any, ...]]

    def one(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


Call = tuple[Statement, dict[str, Any]]


async def batch(session: AsyncSession, calls: Sequence[Call]) -> list[Result]:
    """Run `calls` in order in the session's transaction; the rows of each (RETURNING rows for writes)."""
    assert not any(type(s) is _Combined for s, _ in calls), "a combined statement is prepared_batch's"
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the ORM holds back must be visible to these statements
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        return await pipeline(raw, calls)
    return [Result(await raw.execute_fetchall(s.sql, sqlite_params(p))) for s, p in calls]


async def pipeline(connection: Any, calls: Sequence[Call]) -> list[Result]:
    """PostgreSQL: `calls` in psycopg's pipeline mode, one round trip; psycopg prepares a statement once
    it has run a few times on a connection."""
    cursors = []
    async with connection.pipeline():
        for statement, params in calls:
            cursor = connection.cursor()
            await cursor.execute(_pyformat(statement.sql), params)
            cursors.append(cursor)
    return [Result(await c.fetchall() if _has_rows(c) else []) for c in cursors]


class BatchFailed(Exception):
    """A statement of a `prepared_batch` failed; the rest of the batch did not run."""

    def __init__(self, sqlstate: str | None, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate


# Per connection: the statements it has prepared, by SQL and the Python types of the parameters.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[tuple[str, tuple[type, ...]], bytes]]
_PREPARED = weakref.WeakKeyDictionary()
_NAMES = itertools.count()
_MISSING_STATEMENT = "26000"  # invalid_sql_statement_name: the server forgot it (DISCARD ALL, say)


async def prepared_batch(connection: Any, calls: Sequence[Call]) -> list[Result]:
    """PostgreSQL, the leanest way: `calls` in one round trip of libpq's pipeline mode, each a statement
    the connection prepared on the server the first time it met it (in the same round trip; BEGIN and
    COMMIT too), its values sent as text. No cursor and no query text to build, quote or parse:
    psycopg's own pipeline costs about twice the app CPU of this, and a simple query of `EXECUTE`s costs
    the server a parse and an expression per value (docs/performance.md). A statement's parameter types
    are declared from the values of its first use (text and NULL are left to the server to infer), and
    another mix of types is another statement. The batch stops at the first failing statement
    (BatchFailed); the transaction, if one was open, is then aborted."""
    known = _PREPARED.setdefault(connection, {})
    steps: list[_Step] = []
    for statement, params in calls:
        if type(statement) is _Combined:
            sql, values = statement.sql, params[_VALUES]
        else:
            sql, order = _numbered(statement.sql)
            values = [params[name] for name in order]
        kinds = tuple(map(type, values))
        texts = [  # the common types inline: some forty values per check
            None
            if value is None
            else value.encode()
            if kind is str
            else str(value).encode()
            if kind is int
            else _time_text(value)
            if kind is datetime
            else _text(value)
            for value, kind in zip(values, kinds, strict=True)
        ]
        name = known.get((sql, kinds))
        if name is None:
            name = f"registry_{next(_NAMES)}".encode()
            steps.append(_Step(name, (sql, kinds), sql.encode(), [_oid(value) for value in values]))
        steps.append(_Step(name, texts=texts))
    results = await _pipelined(connection.pgconn, steps)
    failed = None
    for step, result in zip(steps, results, strict=True):
        if result.status == pq.ExecStatus.FATAL_ERROR and failed is None:
            failed = result
        elif step.key is not None and result.status == pq.ExecStatus.COMMAND_OK:
            known[step.key] = step.name  # prepared: it stays, whatever became of the transaction
    if failed is not None:
        field = failed.error_field(pq.DiagnosticField.SQLSTATE)
        sqlstate = field.decode() if field else None
        if sqlstate == _MISSING_STATEMENT:
            known.clear()
        raise BatchFailed(sqlstate, failed.error_message.decode("utf-8", "replace").strip())
    loader = Transformer(connection)
    rows = []
    for step, result in zip(steps, results, strict=True):
        if step.key is not None:
            continue  # the statement prepared, not a call
        if result.status == pq.ExecStatus.TUPLES_OK:
            loader.set_pgresult(result)
            rows.append(Result(loader.load_rows(0, result.ntuples, tuple)))
        else:
            rows.append(Result([]))
    return rows


@dataclass(slots=True)
class _Step:
    """One message of a pipeline: a statement to prepare (its `key` among the connection's, its SQL and
    parameter types), or the execution of a prepared one (its values as text)."""

    name: bytes
    key: tuple[str, tuple[type, ...]] | None = None
    sql: bytes = b""
    types: list[int] | None = None
    texts: list[bytes | None] | None = None


async def _pipelined(pgconn: Any, steps: Sequence[_Step]) -> list[Any]:
    """Send the steps in pipeline mode and wait for one result each: what psycopg's generators and
    `wait` do, without their timer, generator and bookkeeping at every wait (a check waits twice). Its
    own connections have no notifications to collect. A step after a failed one gets a result whose
    status is PIPELINE_ABORTED."""
    pgconn.enter_pipeline_mode()
    for step in steps:
        if step.key is None:
            pgconn.send_query_prepared(step.name, step.texts)
        else:
            pgconn.send_prepare(step.name, step.sql, step.types)
    pgconn.pipeline_sync()
    loop = asyncio.get_running_loop()
    fd = pgconn.socket
    while pgconn.flush():  # the batch did not fit in the socket's buffer at once
        await _ready(loop.add_writer, loop.remove_writer, fd)
    results: list[Any] = []
    while True:
        pgconn.consume_input()
        while not pgconn.is_busy():
            result = pgconn.get_result()
            if result is None:
                if pgconn.status == pq.ConnStatus.BAD:  # else libpq answers None for ever
                    raise OperationalError("the connection to the database was lost")
                continue  # the end of one step's results
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                pgconn.exit_pipeline_mode()
                return results
            results.append(result)
        await _ready(loop.add_reader, loop.remove_reader, fd)


async def _ready(add: Callable[..., Any], remove: Callable[[int], Any], fd: int) -> None:
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    add(fd, _wake, ready)
    try:
        await ready
    finally:
        remove(fd)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def _shift(match: re.Match[str], by: int) -> str:
    return f"${int(match.group(1)) + by}"


@functools.cache
def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters as `$1`, `$2`...; and the names in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    assert "$" not in sql, "positional parameters are ours"
    return _PARAM.sub(number, sql), tuple(order)


_OIDS = {bool: 16, int: 20, datetime: 1184}  # boolean, bigint, timestamptz; 0: the server infers


def _oid(value: Any) -> int:
    if value is None or isinstance(value, str):
        return 0
    for kind, oid in _OIDS.items():
        if isinstance(value, kind):
            return oid
    raise TypeError(f"no parameter type for {type(value).__name__}")


def _text(value: Any) -> bytes:
    """A value the common cases of `prepared_batch` do not cover, as PostgreSQL's text for its type."""
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, datetime):
        return _time_text(value)
    raise TypeError(f"no parameter type for {type(value).__name__}")


def _time_text(value: datetime) -> bytes:
    assert value.tzinfo is not None, "times are aware"
    return value.isoformat().encode()


def _has_rows(cursor: Any) -> bool:
    return cursor.pgresult is not None and cursor.pgresult.status == pq.ExecStatus.TUPLES_OK


class _Combined(Statement):
    """The statement `combined` makes: its SQL is numbered (`$1`...) already, its values a list."""


_VALUES = "values"


def combined(calls: Sequence[Call], *, one_row: Sequence[tuple[int, str]] = ()) -> Call:
    """PostgreSQL, for `prepared_batch`: writes that depend on nothing but locks already held, as one
    statement of data-modifying CTEs (one statement's work for the server instead of one each; each CTE
    runs once and to completion, read or not). `one_row` names writes that must touch exactly one row,
    or the statement fails (`registry_assert`, migration 0006) with the reason given; only those are
    counted. No two writes may touch the same row."""
    statement, orders = _combined(tuple(s for s, _ in calls), tuple(one_row))
    flat = [params[name] for (_, params), order in zip(calls, orders, strict=True) for name in order]
    return statement, {_VALUES: flat + [reason for _, reason in one_row]}


@functools.cache
def _combined(
    statements: tuple[Statement, ...], one_row: tuple[tuple[int, str], ...]
) -> tuple[_Combined, tuple[tuple[str, ...], ...]]:
    """The statement for these writes (made once per shape), and each write's parameter names in order."""
    asserted = dict(one_row)
    parts, orders, count = [], [], 0
    for n, statement in enumerate(statements):
        sql, order = _numbered(statement.sql)
        if n in asserted and " RETURNING " not in sql:
            sql += " RETURNING 1"
        sql = _NUMBER.sub(functools.partial(_shift, by=count), sql)
        parts.append(f"w{n} AS ({sql})")
        orders.append(order)
        count += len(order)
    checks = [
        f"registry_assert((SELECT count(*) FROM w{n}) = 1, ${count + k + 1})" for k, n in enumerate(asserted)
    ]
    return _Combined(f"WITH {', '.join(parts)} SELECT {', '.join(checks) or 'true'}"), tuple(orders)


def sqlite_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.astimezone(UTC).strftime(SQLITE_TIME) if isinstance(value, datetime) else value
        for name, value in params.items()
    }


T = TypeVar("T")


def attach(session: AsyncSession, row: T) -> T:
    """Put a row object made from a plain statement's row into the session as loaded (persistent, clean);
    the object the session already holds for that row wins."""
    mapper = inspect(type(row))
    identity = mapper.identity_key_from_instance(row)
    held = session.identity_map.get(identity)
    if held is not None:
        return cast(T, held)
    make_transient_to_detached(row)
    session.add(row)
    return row


def time_of(value: Any) -> datetime | None:
    """A time column as an aware UTC datetime (SQLite gives text, PostgreSQL an aware datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def json_of(value: Any) -> Any:
    """A JSON column as Python (SQLite gives text, PostgreSQL's driver parses it)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
