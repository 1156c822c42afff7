"""The fast lane of `POST /v1/verifications`: the hot path without the framework's weight.

A check through the full stack (dependencies, ORM session, authentication through the ORM) costs about
3 ms of Python; the database work is a fraction of that. The lane answers the common case itself, on a
connection of its own, with the verification service's own rules (`verifications.check_with`):

    authenticate, lock and read (1 round trip) → decide → write and COMMIT (1 round trip)

on PostgreSQL, each round trip one sync of libpq's pipeline mode, of statements prepared on the server
(`rawsql.prepared_batch`); SQLite runs the same statements on the event loop, one check at a time.

Whatever it does not answer goes, untouched, to the full route: a body that does not parse, a key that
is unknown, revoked or lacks the scope, a spent request budget, an `Idempotency-Key`, a query string, a
database error, and every check whose outcome sets off more than its receipt (a lock, an alert, the
holder's notice). The lane then rolls back what it did, so the full route starts from scratch and
answers exactly as it always does, errors included. The answer of the lane is the route's, byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from starlette.types import Message, Receive, Scope, Send

from registry.crypto.security import keyed_hash
from registry.db import rawsql
from registry.db.engine import SQLITE_PRAGMAS
from registry.db.rawsql import Call, Result
from registry.errors import RegistryError
from registry.http import metrics
from registry.http.asgi import HttpMiddleware
from registry.schemas import VerificationRequest
from registry.services import api_keys, verifications

if TYPE_CHECKING:
    from registry.wiring import Wiring

log = logging.getLogger(__name__)

PATH = "/v1/verifications"
MAX_BODY = 4096
_BEGIN, _ROLLBACK = rawsql.Statement("BEGIN"), rawsql.Statement("ROLLBACK")
HEADERS = [(b"content-type", b"application/json")]
POOL_TIMEOUT = 2.0  # no connection within 2 s (the database is away?): the route answers, or says 503
BUSY_PAUSES = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.05)  # SQLite: waits for the write lock


class Lane:
    """The lane's connections and its one operation; `PostgresLane` and `SqliteLane` run the statements."""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring

    @classmethod
    async def open(cls, wiring: Wiring) -> Lane | None:
        settings = wiring.settings
        if not settings.verification_lane:
            return None
        if settings.is_sqlite:
            return SqliteLane.connect(wiring)
        return await PostgresLane.connect(wiring)

    async def close(self) -> None:
        raise NotImplementedError

    async def answer(self, secret: str, body: bytes, state: dict[str, Any]) -> bytes | None:
        """The answer to a check, or None: then the full route answers it (nothing was kept)."""
        if not secret.startswith(api_keys.KEY_PREFIX):
            return None
        try:
            request = VerificationRequest.model_validate_json(body)
            cleaned = verifications.clean(
                verifications.Check(
                    **request.model_dump(exclude={"action"}),
                    action=request.action.value if request.action else None,
                )
            )
        except (ValidationError, RegistryError):
            return None
        keys, budget, now = self.wiring.keys, self.wiring.budget, self.wiring.clock.now()
        key_hash = keyed_hash(keys, "api-key", secret)

        async def admit(row: tuple[Any, ...] | None) -> verifications.Who:
            """A live key with the scope `verify` and budget left; else the full route says why not."""
            if row is None:
                raise verifications.NotAdmitted()
            key_id, prefix, scopes, last_used_at, revoked_at, organisation_id, slug, active, _ = row
            if revoked_at is not None or not active or "verify" not in rawsql.json_of(scopes):
                raise verifications.NotAdmitted()
            spent = await budget.spend(key_id, prefix)
            if spent is not None:
                state["rate_limit"] = spent
                if not spent.allowed:
                    raise verifications.NotAdmitted()
            touch = api_keys.due_for_touch(rawsql.time_of(last_used_at), now)  # at most once a minute
            return verifications.Who(key_id, key_hash, organisation_id, slug, touch=touch)

        try:
            return await self._check(admit, now, key_hash, cleaned)
        except Exception:
            log.debug("the fast lane hands a check to the full route", exc_info=True)
            return None

    async def _check(
        self, admit: verifications.Admit, now: datetime, key_hash: str, cleaned: Any
    ) -> bytes | None:
        """Run the check in a transaction of its own and commit it; raise (all undone) to hand it over."""
        raise NotImplementedError


class PostgresLane(Lane):
    """A pool of its own; two round trips: lock and read, then write and commit."""

    def __init__(self, wiring: Wiring, pool: AsyncConnectionPool[Any]) -> None:
        super().__init__(wiring)
        self.pool = pool
        # Checks queue here for one of the pool's connections, not in the pool: its queue (a condition
        # and a timer task per waiting check) cost more than a check's statements under load.
        self.turns = asyncio.Semaphore(wiring.settings.db_pool_size)

    @classmethod
    async def connect(cls, wiring: Wiring) -> PostgresLane:
        settings = wiring.settings
        url = make_url(settings.database_url).set(drivername="postgresql")
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url.render_as_string(hide_password=False),
            min_size=settings.db_pool_size,
            max_size=settings.db_pool_size,
            kwargs={"autocommit": True, "connect_timeout": 5},
            timeout=POOL_TIMEOUT,
            open=False,
            name="verification-lane",
        )
        await pool.open(wait=False)
        return cls(wiring, pool)

    async def close(self) -> None:
        await self.pool.close()

    async def _check(
        self, admit: verifications.Admit, now: datetime, key_hash: str, cleaned: Any
    ) -> bytes | None:
        if self.turns.locked():
            async with asyncio.timeout(POOL_TIMEOUT):
                await self.turns.acquire()
        else:
            await self.turns.acquire()
        try:
            return await self._check_on_a_connection(admit, now, key_hash, cleaned)
        finally:
            self.turns.release()

    async def _check_on_a_connection(
        self, admit: verifications.Admit, now: datetime, key_hash: str, cleaned: Any
    ) -> bytes:
        # getconn/putconn rather than `connection()`: its `async with` would try to commit what the check
        # has already committed or rolled back. putconn rolls back what is left open, if anything.
        connection = await self.pool.getconn()
        began = False

        async def run(calls: Sequence[Call]) -> list[Result]:
            nonlocal began
            if began:
                return await rawsql.prepared_batch(connection, calls)
            began = True
            return (await rawsql.prepared_batch(connection, [(_BEGIN, {}), *calls]))[1:]

        try:
            outcome = await verifications.check_with(  # commits, when it returns
                run, self.wiring.keys, now, key_hash, cleaned, admit,
                touch=False, savepoint=False, postgres_lane=True,
            )  # fmt: skip
        except BaseException:
            with contextlib.suppress(Exception):  # if the connection is gone, the pool replaces it
                await rawsql.prepared_batch(connection, [(_ROLLBACK, {})])
            raise
        finally:
            await self.pool.putconn(connection)
        return outcome.body.encode()


class SqliteLane(Lane):
    """One connection, used on the event loop itself, one check at a time: a statement costs SQLite
    microseconds, where a hop to a driver thread costs more than the statement. It never blocks the loop
    waiting for the write lock (busy timeout 0): it retries on a timer, then hands the check over."""

    def __init__(self, wiring: Wiring, connection: sqlite3.Connection) -> None:
        super().__init__(wiring)
        self.connection = connection
        self.turn = asyncio.Lock()

    @classmethod
    def connect(cls, wiring: Wiring) -> SqliteLane:
        path = make_url(wiring.settings.database_url).database or ":memory:"
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (*SQLITE_PRAGMAS, "PRAGMA busy_timeout=0"):
            connection.execute(pragma)
        return cls(wiring, connection)

    async def close(self) -> None:
        self.connection.close()

    async def _run(self, calls: Sequence[Call]) -> list[Result]:
        execute = self.connection.execute
        return [Result(execute(s.sql, rawsql.sqlite_params(p)).fetchall()) for s, p in calls]

    async def _check(
        self, admit: verifications.Admit, now: datetime, key_hash: str, cleaned: Any
    ) -> bytes | None:
        async with self.turn:
            await self._begin()
            try:
                outcome = await verifications.check_with(
                    self._run, self.wiring.keys, now, key_hash, cleaned, admit, touch=False, savepoint=False
                )
                if outcome.sets_off:
                    raise verifications.Handover()
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            return outcome.body.encode()

    async def _begin(self) -> None:
        """Take the write lock without blocking the event loop: when another process (or the full
        route's connection) holds it, wait a little and try again; after about 0.1 s hand the check
        over to the full route, which waits for the lock on its own thread."""
        for pause in BUSY_PAUSES:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as busy:
                if "locked" not in str(busy) and "busy" not in str(busy):
                    raise
                await asyncio.sleep(pause)
        raise verifications.Handover()


class VerificationLane(HttpMiddleware):
    """ASGI middleware: checks that the lane can answer are answered here; the rest pass through."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane: Lane | None = getattr(scope.get("app") and scope["app"].state, "lane", None)
        if lane is None or scope["method"] != "POST" or scope["path"] != PATH or scope["query_string"]:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        scheme, _, secret = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        length = headers.get(b"content-length", b"")
        if (
            b"idempotency-key" in headers
            or scheme.lower() != "bearer"
            or not length.isdigit()
            or int(length) > MAX_BODY
            or headers.get(b"content-type", b"").split(b";")[0].strip() != b"application/json"
        ):
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(receive)
        state = scope.setdefault("state", {})
        answer = await lane.answer(secret.strip(), body, state)
        if answer is None:
            await self.app(scope, receive, send)
            return
        state["route"] = PATH
        metrics.verification(answer.decode(), "lane")
        length_header = (b"content-length", str(len(answer)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [*HEADERS, length_header]})
        await send({"type": "http.response.body", "body": answer})


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that gives it again (for the full route) before the rest."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, again
