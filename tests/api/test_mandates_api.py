"""Looking up an organisation's mandates, its customer confirmation, and Idempotency-Key on checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from registry.clock import FrozenClock
from registry.models import Holder, Mandate
from registry.services import ServiceContext, api_keys, codes, mandates, organisations

PROXY = mandates.Proxy("Jan de Vries", "partner")


@pytest.fixture
async def key(ctx: ServiceContext, organisation: Any) -> str:
    return (await api_keys.create(ctx, "energie-bv", "crm", ["verify", "mandates:read", "mandates:write"]))[1]


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def grant(ctx: ServiceContext, holder: Holder, customer: str = "KL-1", **changes: Any) -> Mandate:
    draft = mandates.Draft(
        "energie-bv", PROXY, ["information", "billing"], customer_reference=customer, **changes
    )
    return await mandates.grant(ctx, holder, draft)


class TestLookup:
    async def test_pages_with_a_cursor_filters_and_tells_nothing_about_the_holder(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock, key: str, holder: Holder
    ) -> None:
        made = [await grant(ctx, holder) for _ in range(3)]
        other = await grant(ctx, holder, customer="KL-2")
        await mandates.revoke(ctx, holder, made[1].reference)
        await organisations.create(ctx, "telecom-nl", "Telecom NL")
        await mandates.grant(
            ctx, holder, mandates.Draft("telecom-nl", PROXY, ["information"], customer_reference="KL-1")
        )
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"customer_reference": "KL-1", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/mandates", params=params, headers=auth(key))).json()
            seen += [m["reference"] for m in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [m.reference for m in made]
        revoked = (await client.get("/v1/mandates", params={"status": "revoked"}, headers=auth(key))).json()
        assert [m["reference"] for m in revoked["items"]] == [made[1].reference]
        one = await client.get(f"/v1/mandates/{other.reference.lower()}", headers=auth(key))
        assert one.status_code == 200
        body = one.json()
        assert set(body) == {
            "reference",
            "customer_reference",
            "proxy_name",
            "relation",
            "scope",
            "valid_from",
            "valid_until",
            "status",
            "basis",
            "binding",
        }
        assert holder.email not in one.text
        clock.advance(timedelta(days=366))
        assert (await client.get(f"/v1/mandates/{other.reference}", headers=auth(key))).json()[
            "status"
        ] == "expired"

    async def test_bad_cursor_status_and_scope_are_explained(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        bad = await client.get("/v1/mandates", params={"cursor": "not-a-cursor"}, headers=auth(key))
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
        assert (
            await client.get("/v1/mandates", params={"status": "pending"}, headers=auth(key))
        ).status_code == 422
        verify_only = (await api_keys.create(ctx, "energie-bv", "v", ["verify"]))[1]
        assert (await client.get("/v1/mandates", headers=auth(verify_only))).status_code == 403

    async def test_a_parameter_given_twice_is_refused(self, client: httpx.AsyncClient, key: str) -> None:
        twice = await client.get(
            "/v1/mandates",
            params=[("customer_reference", "KL-1"), ("customer_reference", "KL-2"), ("limit", "5")],
            headers=auth(key),
        )
        assert twice.status_code == 422
        assert [e["field"] for e in twice.json()["errors"]] == ["customer_reference"]
        once = await client.get("/v1/mandates", params={"customer_reference": "KL-1"}, headers=auth(key))
        assert once.status_code == 200


class TestCustomerConfirmation:
    async def test_checks_answer_organisation_confirmed_until_withdrawn(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder)
        url = f"/v1/mandates/{mandate.reference}/customer-confirmation"

        async def binding_of_a_check() -> str:
            code = (await codes.issue(ctx, mandate)).code
            answer = await client.post(
                "/v1/verifications",
                json={"mandate_reference": mandate.reference, "code": code},
                headers=auth(key),
            )
            return str(answer.json()["binding"])

        assert await binding_of_a_check() == "unconfirmed"
        confirmed = await client.post(url, headers=auth(key))
        assert confirmed.status_code == 200 and confirmed.json()["binding"] == "organisation_confirmed"
        assert await binding_of_a_check() == "organisation_confirmed"
        withdrawn = await client.delete(url, headers=auth(key))
        assert withdrawn.json()["binding"] == "unconfirmed"
        assert await binding_of_a_check() == "unconfirmed"
        reader = (await api_keys.create(ctx, "energie-bv", "reader", ["mandates:read"]))[1]
        assert (await client.post(url, headers=auth(reader))).status_code == 403


class TestIdempotentChecks:
    async def test_a_retried_check_gets_the_same_receipt_and_spends_nothing_more(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder)
        code = (await codes.issue(ctx, mandate)).code
        body = {"mandate_reference": mandate.reference, "code": code}
        first = await client.post(
            "/v1/verifications", json=body, headers=auth(key, **{"Idempotency-Key": "c-1"})
        )
        again = await client.post(
            "/v1/verifications", json=body, headers=auth(key, **{"Idempotency-Key": "c-1"})
        )
        assert first.json()["result"] == "verified"
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
        fresh = await client.post(
            "/v1/verifications", json=body, headers=auth(key, **{"Idempotency-Key": "c-2"})
        )
        assert fresh.json()["result"] == "not_verified"  # a new key is a new check: the code was used
