"""The fast lane of `POST /v1/verifications` (registry/api/lane.py): what it answers is what the full route
answers, and what it does not answer (handover) reaches the full route untouched.

These run the app with its lifespan, so that the lane is open, on a committed database of the engine under
test: the lane works on connections of its own and never sees a test's open transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from registry.api import lane as lane_module
from registry.api.lane import Lane, PostgresLane
from registry.app import create_app
from registry.db.engine import session_scope
from registry.domain.references import check_character
from registry.models import AuditEvent, MandateGuard, OutboxMessage
from registry.wiring import Wiring
from tests.api.test_metrics import scrape, value
from tests.cases import Case, new_case
from tests.conftest import Databases, make_settings

pytestmark = pytest.mark.committed

URL = "/v1/verifications"


@dataclass
class Lanes:
    """The app, and how many checks its lane answered and handed over."""

    client: httpx.AsyncClient
    wiring: Wiring
    lane: Lane
    answered: int = 0
    handed_over: int = 0


@pytest.fixture
async def lanes(databases: Databases) -> AsyncIterator[Lanes]:
    settings = make_settings(databases.new_migrated(), rate_limit="100000/minute")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        lane: Lane | None = app.state.lane
        assert lane is not None, "the lane is on by default, on SQLite and PostgreSQL"
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
            seen = Lanes(client, app.state.wiring, lane)
            _count(lane, seen)
            yield seen


def _count(lane: Lane, seen: Lanes) -> None:
    answer = lane.answer

    async def counted(*args: Any) -> bytes | None:
        given = await answer(*args)
        if given is None:
            seen.handed_over += 1
        else:
            seen.answered += 1
        return given

    lane.answer = counted  # type: ignore[method-assign, assignment]


async def case(wiring: Wiring, slug: str, scopes: tuple[str, ...] = ("verify",)) -> Case:
    return await new_case(wiring, slug, scopes=scopes, contact_email=f"security@{slug}.example")


async def post(lanes: Lanes, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await lanes.client.post(URL, json=body, headers={"Authorization": f"Bearer {key}", **headers})


def comparable(response: httpx.Response) -> tuple[int, list[str], list[str]]:
    """Status, the names of the headers, the keys of the body: what must not tell the two paths apart."""
    names = sorted(name for name in response.headers if name not in ("date", "server"))
    return response.status_code, names, sorted(response.json())


class TestSameAnswers:
    async def test_the_lane_answers_as_the_route_does(self, lanes: Lanes) -> None:
        one, two = await case(lanes.wiring, "lane-a"), await case(lanes.wiring, "lane-b")
        counted = {"result": "verified", "path": "lane"}
        before = value(await scrape(lanes.client), "registry_verifications_total", **counted)
        by_lane = await post(lanes, one.key, {"mandate_reference": one.reference, "code": one.code})
        assert (lanes.answered, lanes.handed_over) == (1, 0)
        assert value(await scrape(lanes.client), "registry_verifications_total", **counted) == before + 1
        body = {"mandate_reference": two.reference, "code": two.code}
        by_route = await post(lanes, two.key, body, **{"Idempotency-Key": "k1"})
        assert lanes.answered == 1  # an Idempotency-Key goes to the route, which keeps the answer
        assert by_lane.json()["result"] == by_route.json()["result"] == "verified"
        assert comparable(by_lane) == comparable(by_route)
        for name in ("x-content-type-options", "cache-control", "ratelimit-policy", "ratelimit"):
            assert name in by_lane.headers, name
        receipt = await lanes.client.get(
            f"{URL}/{by_lane.json()['verification_id']}", headers={"Authorization": f"Bearer {one.key}"}
        )
        assert receipt.content == by_lane.content  # the receipt is the answer, byte for byte

    async def test_a_code_works_once_and_failures_read_alike(self, lanes: Lanes) -> None:
        one = await case(lanes.wiring, "lane-once")
        body = {"mandate_reference": one.reference, "code": one.code}
        assert (await post(lanes, one.key, body)).json()["result"] == "verified"
        again = await post(lanes, one.key, body)
        nobody = await post(lanes, one.key, {"mandate_reference": _nobody(), "code": one.code})
        assert again.json()["result"] == nobody.json()["result"] == "not_verified"
        assert comparable(again) == comparable(nobody)
        assert lanes.answered == 3


class TestHandover:
    async def test_what_the_lane_does_not_answer_the_route_answers(self, lanes: Lanes) -> None:
        one = await case(lanes.wiring, "lane-ho")
        scoped = await case(lanes.wiring, "lane-scope", scopes=("mandates:read",))
        good = {"mandate_reference": one.reference, "code": one.code}
        unknown = await post(lanes, "mrk_" + "x" * 32, good)
        assert unknown.status_code == 401
        assert (await post(lanes, scoped.key, good)).status_code == 403
        bad = await post(lanes, one.key, {"mandate_reference": one.reference, "code": "12a45678"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_code"
        odd = await lanes.client.post(
            f"{URL}?customer_ref=1", json=good, headers={"Authorization": f"Bearer {one.key}"}
        )
        assert odd.status_code == 422
        assert lanes.answered == 0
        first = await post(lanes, one.key, good, **{"Idempotency-Key": "once"})
        replay = await post(lanes, one.key, good, **{"Idempotency-Key": "once"})
        assert replay.headers["idempotent-replayed"] == "true" and replay.content == first.content
        assert lanes.answered == 0

    async def test_a_lock_is_made_by_the_route_with_its_e_mail(self, lanes: Lanes) -> None:
        one = await case(lanes.wiring, "lane-lock")
        wrong = f"{(int(one.code) + 1) % 10**8:08d}"
        for _ in range(5):
            answer = await post(lanes, one.key, {"mandate_reference": one.reference, "code": wrong})
            assert answer.json()["result"] == "not_verified"
        assert (lanes.answered, lanes.handed_over) == (4, 1)  # the fifth locks: the route's work
        right = await post(lanes, one.key, {"mandate_reference": one.reference, "code": one.code})
        assert right.json()["result"] == "not_verified"  # locked: even the right code fails
        async with session_scope(lanes.wiring.session_factory) as session:
            locked = await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.chain) == f"mandate:{one.reference}")
                .where(col(AuditEvent.kind) == "verification.locked")
            )
            mails = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.template) == "mandate_locked")
            )
        assert (locked, mails) == (1, 1)

    async def test_the_keys_alert_at_20_failures_is_the_routes(self, lanes: Lanes) -> None:
        one = await case(lanes.wiring, "lane-alert")
        for _ in range(20):
            await post(lanes, one.key, {"mandate_reference": _nobody(), "code": "00000000"})
        assert (lanes.answered, lanes.handed_over) == (19, 1)
        assert await _failure_alerts(lanes) == 1

    async def test_a_check_that_waits_too_long_for_a_connection_is_the_routes(
        self, lanes: Lanes, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """PostgreSQL's lane lets as many checks at a time as it has connections; one that waits longer
        than the limit (the database is away, say) goes to the route, which answers it all the same."""
        if not isinstance(lanes.lane, PostgresLane):
            pytest.skip("PostgreSQL's lane")
        one = await case(lanes.wiring, "lane-busy")
        monkeypatch.setattr(lane_module, "POOL_TIMEOUT", 0.05)
        taken = lanes.wiring.settings.db_pool_size
        for _ in range(taken):  # every turn held, as by checks that do not finish
            await lanes.lane.turns.acquire()
        try:
            answer = await post(lanes, one.key, {"mandate_reference": one.reference, "code": one.code})
        finally:
            for _ in range(taken):
                lanes.lane.turns.release()
        assert answer.json()["result"] == "verified"
        assert (lanes.answered, lanes.handed_over) == (0, 1)
        again = await post(lanes, one.key, {"mandate_reference": _nobody(), "code": one.code})
        assert again.json()["result"] == "not_verified" and lanes.answered == 1  # the lane is back


class TestWaitingForALock:
    async def test_a_failure_committed_while_the_check_waited_is_counted(self, lanes: Lanes) -> None:
        """PostgreSQL's lane locks and reads in one statement, whose snapshot is taken before it waits for
        a guard. Another check's failure, committed while it waited, must count all the same: here it
        is the 9th of the day, so this check's failure is the 10th, and the mandate is hard-locked."""
        settings = lanes.wiring.settings
        if settings.is_sqlite:
            pytest.skip("SQLite's lane takes the write lock before it reads anything")
        one = await case(lanes.wiring, "lane-wait")
        wrong = f"{(int(one.code) + 1) % 10**8:08d}"
        url = _postgres_url(lanes)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
            await other.execute(
                "INSERT INTO mandate_guard (mandate_id, streak) VALUES (%s, 0)", (one.mandate_id,)
            )
            for hours in range(1, 9):  # 8 failures earlier today
                await other.execute(
                    "INSERT INTO mandate_failure (mandate_id, failed_at) "
                    "VALUES (%s, now() - make_interval(hours => %s))",
                    (one.mandate_id, hours),
                )
            async with other.transaction():  # another check of the mandate, holding its guard
                await other.execute(
                    "UPDATE mandate_guard SET streak = 1 WHERE mandate_id = %s", (one.mandate_id,)
                )
                await other.execute(
                    "INSERT INTO mandate_failure (mandate_id, failed_at) VALUES (%s, now())",
                    (one.mandate_id,),
                )
                check = asyncio.create_task(
                    post(lanes, one.key, {"mandate_reference": one.reference, "code": wrong})
                )
                await _waiting_for_a_lock(url)
            answer = await check
        assert answer.json()["result"] == "not_verified"
        assert lanes.handed_over == 1  # the lane saw the 10th failure coming: a hard lock is the route's
        async with session_scope(lanes.wiring.session_factory) as session:
            guard = await session.get(MandateGuard, one.mandate_id)
            assert guard is not None
            assert guard.hard_locked_at is not None
            assert guard.streak == 2

    async def test_a_key_failure_committed_while_the_check_waited_is_counted(self, lanes: Lanes) -> None:
        """PostgreSQL's lane counts the key's failure and checks its budget in one statement. Another
        check's failure of the same key, committed while this one waited for the minute's bucket, must
        count: it is the 19th of the hour, so this one is the 20th, the alert, which is the route's."""
        settings = lanes.wiring.settings
        if settings.is_sqlite:
            pytest.skip("SQLite's lane takes the write lock before it reads anything")
        one = await case(lanes.wiring, "lane-bucket")
        minute = lanes.wiring.clock.now().replace(second=0, microsecond=0)
        url = _postgres_url(lanes)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as other:
            cursor = await other.execute(
                "SELECT k.id FROM api_key k JOIN organisation o ON o.id = k.organisation_id "
                "WHERE o.slug = 'lane-bucket'"
            )
            (key_id,) = await cursor.fetchone() or (None,)
            await other.execute(
                "INSERT INTO api_key_failures (api_key_id, minute, count) VALUES (%s, %s, 18)",
                (key_id, minute),
            )
            async with other.transaction():  # another check of the key, holding this minute's bucket
                await other.execute(
                    "UPDATE api_key_failures SET count = 19 WHERE api_key_id = %s AND minute = %s",
                    (key_id, minute),
                )
                check = asyncio.create_task(
                    post(lanes, one.key, {"mandate_reference": _nobody(), "code": "00000000"})
                )
                await _waiting_for_a_lock(url)
            answer = await check
        assert answer.json()["result"] == "not_verified"
        assert lanes.handed_over == 1  # the lane saw the 20th failure: the alert is the route's
        assert await _failure_alerts(lanes) == 1


async def _failure_alerts(lanes: Lanes) -> int:
    async with session_scope(lanes.wiring.session_factory) as session:
        alerts = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(col(AuditEvent.kind) == "api_key.failure_alert")
        )
    return int(alerts or 0)


def _postgres_url(lanes: Lanes) -> str:
    """The test database as libpq takes it, for a connection of the test's own."""
    url = make_url(lanes.wiring.settings.database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def _waiting_for_a_lock(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
        for _ in range(500):
            cursor = await watcher.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = await cursor.fetchone()
            if row is not None and row[0] > 0:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the check never waited for a lock")


def _nobody() -> str:
    return "M-3479-BCDF-" + check_character("3479BCDF")
