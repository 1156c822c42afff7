"""One transaction per request: committed once, after the route and before the answer; else rolled back."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from registry.api import errors
from registry.api.deps import Context
from registry.errors import MandateNotChangeable
from registry.models import Organisation
from registry.services import organisations
from registry.wiring import Wiring


def app_for(wiring: Wiring) -> FastAPI:
    app = FastAPI()
    app.state.wiring = wiring
    errors.install(app)

    @app.post("/ok", operation_id="ok")
    async def ok(ctx: Context) -> dict[str, str]:
        await organisations.create(ctx, "committed", "Committed BV")
        return {"status": "done"}

    @app.post("/fails", operation_id="fails")
    async def fails(ctx: Context) -> dict[str, str]:
        await organisations.create(ctx, "rolled-back", "Rolled Back BV")
        raise MandateNotChangeable("refused after a write")

    @app.post("/commit-fails", operation_id="commitFails")
    async def commit_fails(ctx: Context) -> dict[str, str]:
        # Not flushed here: the duplicate only fails at the commit, which must come before the answer.
        ctx.session.add(Organisation(slug="twice", display_name="A", created_at=ctx.clock.now()))
        ctx.session.add(Organisation(slug="twice", display_name="B", created_at=ctx.clock.now()))
        return {"status": "done"}

    return app


@pytest.fixture
async def api(wiring: Wiring) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(wiring)), base_url="http://t")


async def slugs(wiring: Wiring) -> list[str]:
    async with wiring.session_factory() as session:
        rows = await session.execute(select(col(Organisation.slug)).order_by(col(Organisation.slug)))
        return list(rows.scalars())


class TestUnitOfWork:
    async def test_success_commits(self, api: httpx.AsyncClient, wiring: Wiring) -> None:
        assert (await api.post("/ok")).status_code == 200
        assert await slugs(wiring) == ["committed"]

    async def test_an_error_rolls_back_the_write_and_its_audit_event(
        self, api: httpx.AsyncClient, wiring: Wiring
    ) -> None:
        response = await api.post("/fails")
        assert (response.status_code, response.json()["code"]) == (409, "mandate_not_changeable")
        assert await slugs(wiring) == []

    async def test_a_failing_commit_is_never_a_200(self, api: httpx.AsyncClient, wiring: Wiring) -> None:
        response = await api.post("/commit-fails")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert "twice" not in await slugs(wiring)
