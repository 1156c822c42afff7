"""FastAPI's own validation errors go through the same problem+json mapping, with dotted field paths."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from registry.api import errors
from tests.api.test_http_basics import assert_problem


class ProxyIn(BaseModel):
    name: str = Field(min_length=1)
    relation: str


class GrantIn(BaseModel):
    proxy: ProxyIn
    scope: list[str]


def app_with_a_body_route() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.post("/things", operation_id="createThing")
    async def create(body: GrantIn, limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    return app


async def post(path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_with_a_body_route())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(path, **kwargs)  # type: ignore[arg-type]


class TestRequestValidation:
    async def test_every_bad_field_is_named(self) -> None:
        response = await post("/things?limit=many", json={"proxy": {"name": ""}, "scope": "information"})
        body = assert_problem(response, 422, "invalid_input")
        problems = body["errors"]
        assert isinstance(problems, list)
        fields = {e["field"] for e in problems}
        assert fields == {"limit", "proxy.name", "proxy.relation", "scope"}

    async def test_broken_json_is_a_problem_not_a_500(self) -> None:
        response = await post("/things", content=b'{"proxy": ', headers={"content-type": "application/json"})
        body = assert_problem(response, 422, "invalid_input")
        assert body["errors"] == [
            {"field": "body", "message": "The body is not valid JSON at character 10: Expecting value."}
        ]  # the body and the position, not the position as a field name
        assert body["detail"] == "The body is not valid JSON at character 10: Expecting value."
