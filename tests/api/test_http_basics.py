from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.app import create_app
from registry.domain.references import check_character
from registry.settings import Settings
from tests.conftest import make_settings

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance", "errors"}
GOOD = "M-7K3Q-9XPD-" + check_character("7K3Q9XPD")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS
    assert (body["status"], body["code"], body["type"]) == (status, code, f"/problems/{code}")
    return body


class TestHealth:
    async def test_healthz(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def test_readyz_with_a_database(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert (response.status_code, response.json()) == (200, {"status": "ready", "database": "ok"})

    async def test_readyz_without_a_database_is_503_problem(self, settings: Settings, tmp_path: Path) -> None:
        # a folder where the database file should be cannot be opened as one
        url = (
            f"sqlite+aiosqlite:///{tmp_path}"
            if settings.is_sqlite
            else "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        )
        app = create_app(make_settings(url))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/readyz")
        body = assert_problem(response, 503, "service_unavailable")
        assert response.headers["retry-after"] == "5"
        assert "Traceback" not in response.text and "sqlalchemy" not in str(body).lower()


class TestProblems:
    async def test_a_valid_reference_comes_back_canonical(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/v1/references/{GOOD[2:].lower().replace('-', ' ')}")
        assert response.json() == {"reference": GOOD, "valid": True}

    async def test_a_misheard_reference_explains_itself_per_field(self, client: httpx.AsyncClient) -> None:
        wrong = GOOD[:-1] + ("B" if GOOD[-1] != "B" else "C")
        body = assert_problem(await client.get(f"/v1/references/{wrong}"), 422, "invalid_reference")
        assert body["errors"] == [{"field": "reference", "message": body["detail"]}]
        assert "check character" in str(body["detail"])

    async def test_unknown_route_is_a_404_problem(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")

    async def test_wrong_method_is_a_405_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/actions", json={})
        assert_problem(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "GET"

    async def test_problem_types_have_a_page(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/problems/invalid_reference")
        assert page.status_code == 200 and "This is not a valid mandate reference" in page.text
        assert (await client.get("/problems/made_up")).status_code == 404

    @pytest.mark.parametrize(
        "path",
        [
            "/v1/references/%00%01",
            "/v1/references/" + "X" * 5000,
            "/v1/references/%F0%9F%98%80",
            "/v1/references/M-%EF%BC%97K3Q-9XPD-4",
        ],
    )
    async def test_odd_input_is_never_a_500(self, client: httpx.AsyncClient, path: str) -> None:
        assert_problem(await client.get(path), 422, "invalid_reference")


class TestVocabulary:
    async def test_actions_in_order_with_labels(self, client: httpx.AsyncClient) -> None:
        items = (await client.get("/v1/actions")).json()["items"]
        assert [i["action"] for i in items] == [
            "information",
            "appointments",
            "orders",
            "billing",
            "changes",
            "termination",
        ]
        assert [i["action"] for i in items if i["high_risk"]] == ["changes", "termination"]
        assert items[-1]["label_nl"] == "het contract opzeggen"
