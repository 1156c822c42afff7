"""One table maps registry errors to HTTP (registry/http/statuses.py), and the spec's error answers are
derived from the exceptions each route can raise: every error a route really answers is documented
there, with its problem code."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from registry import errors
from registry.api.errors import responses
from registry.http.statuses import status_of, status_of_class
from registry.models import Organisation
from registry.services import ServiceContext, api_keys
from registry.web.errors import registry_error


async def test_the_answers_carry_codes_that_their_route_documents(
    client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation
) -> None:
    _, key = await api_keys.create(ctx, "energie-bv", "crm", ["mandates:read"])
    auth = {"Authorization": f"Bearer {key}"}
    spec = (await client.get("/openapi.json")).json()
    cases = [
        ("get", "/v1/mandates/{reference}", "/v1/mandates/M-7K3Q-9XPD-Q", auth, 404, "mandate_not_found"),
        ("get", "/v1/mandates/{reference}", "/v1/mandates/M-7K3Q-9XPD-4", auth, 422, "invalid_reference"),
        ("get", "/v1/mandates/{reference}", "/v1/mandates/M-7K3Q-9XPD-Q", {}, 401, "unauthorized"),
        ("post", "/v1/verifications", "/v1/verifications", auth, 403, "forbidden"),
    ]
    for method, template, path, headers, status, code in cases:
        answer = await client.request(method, path, headers=headers, json={"code": "12345678"})
        assert (answer.status_code, answer.json()["code"]) == (status, code), path
        documented = spec["paths"][template][method]["responses"][str(status)]["description"]
        assert f"`{code}`" in documented, (template, status, documented)


def test_a_status_is_the_most_specific_class_s() -> None:
    assert status_of(errors.IdempotencyKeyReused("again")) == 422  # an InvalidInput, not a Conflict
    assert status_of(errors.MandateNotFound("no")) == 404
    assert status_of_class(errors.ConfigurationError) == 500
    assert status_of(errors.RegistryError("anything else")) == 500


def test_documented_answers_group_codes_by_status() -> None:
    documented = responses(errors.MandateNotFound, errors.RequestNotFound, errors.RateLimited, 400)
    assert sorted(documented) == [400, 404, 429]
    assert "`mandate_not_found`, `mandate_request_not_found`" in documented[404]["description"]
    assert "`code`" not in documented[400]["description"]  # no exception stands for a malformed body


@pytest.mark.parametrize("status", [401, 403, 404, 409, 422, 429, 500])
def test_every_status_of_the_table_has_a_description(status: int) -> None:
    assert responses(status)[status]["description"]


class TestPagesShareTheTable:
    """Pages map errors through the same table, each status to a page of its own: a sign-in that ended,
    a limit or our own fault never reads as "check what you filled in"."""

    @pytest.mark.parametrize(
        ("error", "status", "heading"),
        [
            (errors.NotAuthenticated("gone"), 401, "Log opnieuw in"),
            (errors.RateLimited("slow down", 60), 429, "Te vaak geprobeerd"),
            (errors.ConfigurationError("no key"), 500, "Er ging bij ons iets mis"),
            (errors.InvalidInput("bad"), 422, "Er klopt iets niet"),
            (errors.MandateNotFound("no"), 404, "Pagina niet gevonden"),
        ],
    )
    async def test_each_status_has_its_page(
        self, error: errors.RegistryError, status: int, heading: str
    ) -> None:
        request = Request({"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""})
        page = await registry_error(request, error)
        assert page.status_code == status
        assert heading in bytes(page.body).decode()
        if status == 429:
            assert page.headers["Retry-After"] == "60"
