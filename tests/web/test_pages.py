"""The holder's pages in-process: forms, CSRF and origin checks, other holders' data, languages."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select

from registry.models import Organisation, OutboxMessage
from registry.services import ServiceContext, api_keys, holders, mandates
from tests.web.conftest import csrf_of, post_form, sign_in

GRANT = {
    "organisation": "energie-bv",
    "proxy_name": "Jan de Vries",
    "relation": "partner",
    "scope": ["information", "termination"],
    "valid_until-day": "30",
    "valid_until-month": "6",
    "valid_until-year": "2027",
}


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation) -> str:
    await sign_in(client, ctx, "anna@example.nl")
    return csrf_of(await client.get("/mandates"))


async def grant(client: httpx.AsyncClient, csrf: str, **changes: object) -> httpx.Response:
    form = {**GRANT, **changes, "csrf_token": csrf}
    review = await client.post("/mandates/new", data=form)
    assert review.status_code == 200, review.text
    return await client.post("/mandates/new/confirm", data=form)


class TestGrant:
    async def test_missing_and_malformed_input_is_explained_and_kept(
        self, client: httpx.AsyncClient, signed_in: str
    ) -> None:
        page = await client.post(
            "/mandates/new",
            data={
                "csrf_token": signed_in,
                "proxy_name": "Jan de Vries",
                "proxy_email": "jan at home",
                "valid_until-day": "31",
                "valid_until-month": "12",
                "valid_until-year": "27",
            },
        )
        assert page.status_code == 422
        for field in ("organisation", "proxy_relation", "proxy_email", "scope", "valid_until"):
            assert f'id="{field}-error"' in page.text, field
        assert 'value="Jan de Vries"' in page.text
        assert 'value="jan at home"' in page.text
        assert "Kies minstens één ding" in page.text  # Dutch by default

    async def test_review_then_confirm(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        review = await client.post("/mandates/new", data={**GRANT, "csrf_token": signed_in})
        assert "Controleer uw machtiging" in review.text
        assert "Let op: Jan de Vries kan dan uw contract opzeggen." in review.text
        assert "contactgegevens wijzigen." not in review.text  # only what the chosen options allow
        holder = await holders.find(ctx, "anna@example.nl")
        assert holder is not None
        assert await mandates.list_for_holder(ctx, holder) == []  # nothing granted by the review
        done = await client.post("/mandates/new/confirm", data={**GRANT, "csrf_token": signed_in})
        assert done.status_code == 303
        detail = await client.get(done.headers["location"])
        assert "De machtiging werkt nu" in detail.text
        assert "30 juni 2027" in detail.text

    async def test_a_call_code_that_verifies(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        done = await grant(client, signed_in)
        reference = done.headers["location"].split("/")[2].split("?")[0]
        page = await client.post(f"/mandates/{reference}/code", data={"csrf_token": signed_in, "valid": "1h"})
        code = re.search(r'class="code"[^>]*>(\d{4} \d{4})<', page.text)
        assert code, page.text
        _, key = await api_keys.create(ctx, "energie-bv", "crm", ["verify"])
        answer = await client.post(
            "/v1/verifications",
            headers={"Authorization": f"Bearer {key}"},
            json={"mandate_reference": reference, "code": code.group(1)},
        )
        assert answer.json()["result"] == "verified"


class TestProtection:
    async def test_a_form_without_a_csrf_token_is_refused(
        self, client: httpx.AsyncClient, signed_in: str
    ) -> None:
        assert (await client.post("/mandates/new", data=GRANT)).status_code == 403
        assert (await client.post("/mandates/new", data={**GRANT, "csrf_token": "forged"})).status_code == 403

    @pytest.mark.parametrize(
        "headers",
        [
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "https://evil.example"},
            {"Sec-Fetch-Site": "same-site"},
        ],
    )
    async def test_a_form_from_another_site_is_refused(
        self, client: httpx.AsyncClient, signed_in: str, headers: dict[str, str]
    ) -> None:
        response = await client.post(
            "/mandates/new", data={**GRANT, "csrf_token": signed_in}, headers=headers
        )
        assert response.status_code == 403

    async def test_another_holders_mandate_is_404_everywhere(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        stranger = await holders.get_or_create_verified(ctx, "someone@example.org")
        theirs = await mandates.grant(
            ctx,
            stranger,
            mandates.Draft(
                organisation="energie-bv", proxy=mandates.Proxy("X", "other"), scope=["information"]
            ),
        )
        ref = theirs.reference
        assert (await client.get(f"/mandates/{ref}")).status_code == 404
        assert (await client.get(f"/mandates/{ref}/revoke")).status_code == 404
        for action in ("code", "revoke", "unlock", "change", "notices", "invite"):
            response = await client.post(f"/mandates/{ref}/{action}", data={"csrf_token": signed_in})
            assert response.status_code == 404, action
        assert mandates.effective_status(theirs, ctx.clock.now()).value == "active"

    async def test_pages_send_security_headers(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/sign-in")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"

    async def test_pages_need_a_session(self, client: httpx.AsyncClient) -> None:
        for path in ("/mandates", "/mandates/new", "/mandates/M-3479-BCDF-7"):
            response = await client.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/sign-in?reason=page")


class TestRevoke:
    async def test_revoke_asks_first_then_ends_at_once(
        self, client: httpx.AsyncClient, signed_in: str
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        confirm = await client.get(f"/mandates/{reference}/revoke")
        assert "Machtiging voor Jan de Vries stoppen?" in confirm.text
        done = await client.post(f"/mandates/{reference}/revoke", data={"csrf_token": signed_in})
        assert done.headers["location"] == "/mandates?done=revoked"
        overview = await client.get(done.headers["location"])
        assert "De machtiging is gestopt" in overview.text
        assert "Gestopt" in overview.text


class TestLanguage:
    async def test_dutch_first_english_by_choice(self, client: httpx.AsyncClient, signed_in: str) -> None:
        assert "Uw machtigingen" in (await client.get("/mandates")).text
        switched = await client.post("/language", data={"csrf_token": signed_in, "language": "en"})
        assert switched.status_code == 303
        page = await client.get("/mandates")
        assert "Your mandates" in page.text
        assert '<html lang="en">' in page.text


class TestChangeAndActivity:
    async def test_change_scope_and_end_with_errors_next_to_the_field(
        self, client: httpx.AsyncClient, signed_in: str
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        bad = await client.post(
            f"/mandates/{reference}/change",
            data={
                "csrf_token": signed_in,
                "valid_until-day": "1",
                "valid_until-month": "1",
                "valid_until-year": "2040",
                "scope": "billing",
            },
        )
        assert bad.status_code == 422
        assert 'id="valid_until-error"' in bad.text
        assert 'name="valid_until-year" value="2040"' in bad.text
        ok = await client.post(
            f"/mandates/{reference}/change",
            data={
                "csrf_token": signed_in,
                "valid_until-day": "31",
                "valid_until-month": "03",
                "valid_until-year": "2027",
                "scope": "billing",
            },
        )
        assert ok.headers["location"] == f"/mandates/{reference}?done=changed"
        page = await client.get(ok.headers["location"])
        assert "31 maart 2027" in page.text
        assert "rekeningen en betalingsregelingen" in page.text

    async def test_activity_shows_checks_with_organisation_and_agent_pseudonym(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        page = await client.post(f"/mandates/{reference}/code", data={"csrf_token": signed_in, "valid": "1h"})
        code = re.search(r'class="code"[^>]*>(\d{4} \d{4})<', page.text)
        assert code
        _, key = await api_keys.create(ctx, "energie-bv", "crm", ["verify"])
        await client.post(
            "/v1/verifications",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "mandate_reference": reference,
                "code": code.group(1),
                "action": "information",
                "agent_id": "crm-agent-0042",
            },
        )
        activity = await client.get("/activity")
        assert "Gecontroleerd: de code klopte, en ‘informatie opvragen’ mag" in activity.text
        assert re.search(r"Energie BV, Medewerker [0-9A-F]{4}", activity.text)
        assert "crm-agent-0042" not in activity.text
        assert "Belcode gemaakt" in activity.text
        assert "Machtiging gegeven" in activity.text

    async def test_activity_is_paginated_newest_first(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        for _ in range(30):
            await client.post(f"/mandates/{reference}/code", data={"csrf_token": signed_in, "valid": "1h"})
        first = await client.get("/activity")
        assert first.text.count("<tr>") == 1 + 25
        older = re.search(r'href="/activity\?before=(\d+)"', first.text)
        assert older
        second = await client.get(f"/activity?before={older.group(1)}")
        assert second.text.count("<tr>") == 1 + 6  # 5 more codes and the grant
        assert "Machtiging gegeven" in second.text
        assert "/activity?before=" not in second.text


class TestAccount:
    async def test_download_holds_my_mandates_and_activity_only(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        stranger = await holders.get_or_create_verified(ctx, "someone@example.org")
        await mandates.grant(
            ctx,
            stranger,
            mandates.Draft(
                organisation="energie-bv", proxy=mandates.Proxy("Piet", "other"), scope=["information"]
            ),
        )
        download = await client.get("/account/data.json")
        assert download.headers["content-disposition"].startswith("attachment")
        data = download.json()
        assert data["account"]["email"] == "anna@example.nl"
        assert [m["reference"] for m in data["mandates"]] == [reference]
        assert data["mandates"][0]["proxy"]["name"] == "Jan de Vries"
        assert "mandate.granted" in [a["what"] for a in data["activity"]]
        assert "someone@example.org" not in download.text
        assert "Piet" not in download.text

    async def test_delete_revokes_everything_and_forgets_the_address(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        holder = await holders.find(ctx, "anna@example.nl")
        assert holder is not None
        confirm = await client.get("/account/delete")
        assert "Uw account verwijderen?" in confirm.text
        done = await client.post("/account/delete", data={"csrf_token": signed_in})
        assert done.headers["location"] == "/?deleted=1"
        assert (await client.get("/mandates")).status_code == 303
        assert await holders.find(ctx, "anna@example.nl") is None
        view = await mandates.get_for_holder(ctx, holder, reference)
        assert view.status.value == "revoked"


class TestCheckNotices:
    async def test_the_switch_on_the_mandate_page(
        self, client: httpx.AsyncClient, signed_in: str, ctx: ServiceContext
    ) -> None:
        reference = (await grant(client, signed_in)).headers["location"].split("/")[2].split("?")[0]
        page = await client.get(f"/mandates/{reference}")
        assert (
            "U krijgt een e-mail als een organisatie deze machtiging controleert." in page.text
        )  # high risk
        await client.post(f"/mandates/{reference}/notices", data={"csrf_token": signed_in, "on": "0"})
        page = await client.get(f"/mandates/{reference}")
        assert "Stuur mij een e-mail na elke controle" in page.text
        holder = await holders.find(ctx, "anna@example.nl")
        assert holder is not None
        view = await mandates.get_for_holder(ctx, holder, reference)
        await ctx.session.refresh(view.mandate)
        assert view.mandate.notify_checks is False


class TestRevokeLinkInEmail:
    async def test_the_granted_email_revokes_after_one_confirmation(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation
    ) -> None:
        holder = await holders.get_or_create_verified(ctx, "anna@example.nl")
        mandate = await mandates.grant(
            ctx,
            holder,
            mandates.Draft(
                organisation="energie-bv",
                proxy=mandates.Proxy("Jan de Vries", "partner"),
                scope=["information"],
            ),
        )
        rows = await ctx.session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "mandate_granted")
        )
        body = rows.scalars().one().body_text or ""
        link = re.search(r"https://registry\.test(/revoke/\S+)", body)
        assert link, body
        for _ in range(2):  # a mail scanner opening the link changes nothing
            page = await client.get(link.group(1))
            assert "Machtiging voor Jan de Vries stoppen?" in page.text
            assert page.headers["referrer-policy"] == "no-referrer"
        assert mandates.effective_status(mandate, ctx.clock.now()).value == "active"
        done = await post_form(client, link.group(1))
        assert "Deze machtiging is gestopt" in done.text
        await ctx.session.refresh(mandate)
        assert mandate.status == "revoked"
        assert "Deze machtiging is gestopt" in (await post_form(client, link.group(1))).text
        assert (await client.get("/revoke/made-up-token")).status_code == 404
