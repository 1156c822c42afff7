"""POST /v1/verifications over HTTP: keys, scopes, input rules, atomicity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from registry.db import rawsql
from registry.domain.references import check_character
from registry.models import Mandate, MandateGuard
from registry.repositories import check_sql
from registry.services import ServiceContext, api_keys, codes
from registry.services import verifications as service
from tests.api.test_http_basics import assert_problem


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def post(
    client: httpx.AsyncClient, secret: str | None, body: dict[str, Any], **kw: Any
) -> httpx.Response:
    headers = bearer(secret) if secret else {}
    return await client.post("/v1/verifications", json=body, headers=headers, **kw)


class TestKeys:
    async def test_missing_unknown_and_revoked_keys_are_401(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, mandate: Mandate
    ) -> None:
        body = {"mandate_reference": mandate.reference, "code": "00000000"}
        revoked_key, revoked = await api_keys.create(ctx, "energie-bv", "old", ["verify"])
        await api_keys.revoke(ctx, revoked_key.id or 0)
        for secret in (None, "mrk_" + "x" * 32, revoked, key[:-1], "Basic abc"):
            response = await post(client, secret, body)
            assert_problem(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await post(client, key, body)).status_code == 200

    async def test_a_key_in_the_query_string_is_refused(
        self, client: httpx.AsyncClient, key: str, mandate: Mandate
    ) -> None:
        body = {"mandate_reference": mandate.reference, "code": "00000000"}
        for query in ({"api_key": key}, {"x": key}, {"access_token": "anything"}):
            response = await post(client, key, body, params=query)
            problem = assert_problem(response, 401, "unauthorized")
            assert "URL" in str(problem["detail"])

    async def test_a_key_without_the_scope_is_403(
        self, client: httpx.AsyncClient, ctx: ServiceContext, mandate: Mandate
    ) -> None:
        _, reader = await api_keys.create(ctx, "energie-bv", "reader", ["mandates:read"])
        response = await post(client, reader, {"mandate_reference": mandate.reference, "code": "00000000"})
        assert_problem(response, 403, "forbidden")

    async def test_use_is_recorded(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, mandate: Mandate
    ) -> None:
        await post(client, key, {"mandate_reference": mandate.reference, "code": "00000000"})
        [listed] = await api_keys.list_for(ctx, "energie-bv")
        await ctx.session.refresh(listed)
        assert listed.last_used_at is not None


class TestBudget:
    async def test_429_with_retry_after_for_that_key_only(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, mandate: Mandate
    ) -> None:
        body = {"mandate_reference": mandate.reference, "code": "00000000"}
        _, other = await api_keys.create(ctx, "energie-bv", "other", ["verify"])
        nobody = "M-3479-BCDF-" + check_character("3479BCDF")
        caller = await api_keys.authenticate(ctx, key)
        for _ in range(100):
            await service.verify(ctx, caller, service.Check(code="00000000", mandate_reference=nobody))
        response = await post(client, key, body)
        assert_problem(response, 429, "rate_limited")
        assert 0 < int(response.headers["retry-after"]) <= 3600
        assert (await post(client, other, body)).status_code == 200


class TestInput:
    @pytest.mark.parametrize("code", ["４８２９１３３７", "٤٨٢٩١٣٣٧", 48291337, "4829133", "48291337 ", None])
    async def test_odd_codes_are_422_before_any_secret(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, mandate: Mandate, code: object
    ) -> None:
        response = await post(client, key, {"mandate_reference": mandate.reference, "code": code})
        if code == "48291337 ":  # a trailing space is stripped: a normal (wrong) code
            assert response.status_code == 200
            return
        # a string the service refuses is `invalid_code`; a number or null fails the schema first
        problem = assert_problem(response, 422, "invalid_code" if isinstance(code, str) else "invalid_input")
        assert [e["field"] for e in problem["errors"]] == ["code"]
        assert await ctx.session.get(MandateGuard, mandate.id) is None

    async def test_server_owned_fields_cannot_be_set(
        self, client: httpx.AsyncClient, key: str, mandate: Mandate
    ) -> None:
        body = {
            "mandate_reference": mandate.reference,
            "code": "00000000",
            "result": "verified",
            "organisation_id": 2,
            "binding": "organisation_confirmed",
        }
        problem = assert_problem(await post(client, key, body), 422, "invalid_input")
        fields = {e["field"] for e in problem["errors"]}
        assert fields == {"result", "organisation_id", "binding"}

    async def test_a_misheard_reference_is_422_without_a_lookup(
        self, client: httpx.AsyncClient, key: str, mandate: Mandate
    ) -> None:
        wrong = mandate.reference[:-1] + ("B" if mandate.reference[-1] != "B" else "C")
        problem = assert_problem(
            await post(client, key, {"mandate_reference": wrong, "code": "00000000"}),
            422,
            "invalid_reference",
        )
        assert [e["field"] for e in problem["errors"]] == ["mandate_reference"]


class TestAtomicity:
    async def test_a_failure_after_the_code_was_used_leaves_it_unused(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        key: str,
        mandate: Mandate,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        issued = await codes.issue(ctx, mandate)
        move_head = check_sql.move_head

        def failing_move(chain: str, *args: Any) -> rawsql.Call:
            # the audit head's write fails in the database, after the statement that spent the code
            _, params = move_head(chain, *args)
            return rawsql.Statement("UPDATE injected_missing_table SET count = :count"), params

        monkeypatch.setattr(check_sql, "move_head", failing_move)
        body = {"mandate_reference": mandate.reference, "code": issued.code}
        response = await post(client, key, body)
        assert_problem(response, 500, "internal_error")
        assert "injected" not in response.text
        monkeypatch.undo()
        assert (await post(client, key, body)).json()["result"] == "verified"
        assert (await post(client, key, body)).json()["result"] == "not_verified"
