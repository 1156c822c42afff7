"""The agent console, in-process: members sign in apart from holders, check codes, register oral mandates,
see their history; admins manage members. The same in Chromium is in tests/test_browser.py."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.models import ApiKey, Holder, Mandate, OutboxMessage, Verification
from registry.services import ServiceContext, api_keys, codes, mandates, members, organisations
from tests.web.conftest import csrf_of, post_form, sign_in

ADMIN, AGENT = "admin@energie-bv.example", "agent@energie-bv.example"


async def last_mail(ctx: ServiceContext, to: str, template: str) -> OutboxMessage:
    rows = await ctx.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == to, OutboxMessage.template == template)
        .order_by(col(OutboxMessage.id).desc())
    )
    message = rows.scalars().first()
    assert message is not None, f"no {template} e-mail to {to}"
    return message


async def console_sign_in(client: httpx.AsyncClient, ctx: ServiceContext, email: str) -> None:
    client.cookies.set("mr_lang", "en")
    page = await client.get("/console/sign-in")
    sent = await client.post("/console/sign-in", data={"email": email, "csrf_token": csrf_of(page)})
    assert sent.status_code == 200, sent.text
    body = (await last_mail(ctx, email, "console_sign_in")).body_text or ""
    link = re.search(r"https?://[^/\s]+(/console/sign-in/\S+)", body)
    assert link, body
    confirm = await client.get(link.group(1))
    done = await client.post(link.group(1), data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 303 and done.headers["location"] == "/console"


@pytest.fixture
async def team(ctx: ServiceContext, organisation: Any) -> dict[str, Any]:
    admin = await members.invite(ctx, "energie-bv", ADMIN, "admin")
    agent = await members.invite(ctx, "energie-bv", AGENT, "agent")
    return {"admin": admin, "agent": agent}


@pytest.fixture
async def mandate_and_code(ctx: ServiceContext, holder: Holder) -> tuple[Mandate, str]:
    draft = mandates.Draft(
        "energie-bv",
        mandates.Proxy("Jan de Vries", "partner"),
        ["information", "billing"],
        customer_reference="KL-9",
    )
    mandate = await mandates.grant(ctx, holder, draft)
    return mandate, (await codes.issue(ctx, mandate)).code


async def check(client: httpx.AsyncClient, subject: str, code: str, action: str = "") -> httpx.Response:
    page = await client.get("/console")
    return await client.post(
        "/console", data={"subject": subject, "code": code, "action": action, "csrf_token": csrf_of(page)}
    )


class TestSignIn:
    async def test_an_invited_member_signs_in_by_link_and_others_get_the_same_answer(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        invitation = await last_mail(ctx, AGENT, "member_invitation")
        assert "/console/sign-in" in (invitation.body_text or "")
        client.cookies.set("mr_lang", "en")
        page = await client.get("/console/sign-in")
        stranger = await client.post(
            "/console/sign-in", data={"email": "x@example.org", "csrf_token": csrf_of(page)}
        )
        member = await client.post("/console/sign-in", data={"email": AGENT, "csrf_token": csrf_of(page)})
        assert stranger.status_code == member.status_code == 200
        assert stranger.text.replace("x@example.org", "X") == member.text.replace(AGENT, "X")
        assert (await client.get("/console")).status_code == 303
        await console_sign_in(client, ctx, AGENT)
        home = await client.get("/console")
        assert home.status_code == 200
        assert members.pseudonym(ctx, team["agent"]) in home.text

    async def test_holder_and_console_sessions_are_apart(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any], holder: Holder
    ) -> None:
        await sign_in(client, ctx, holder.email)
        assert (await client.get("/console")).status_code == 303
        client.cookies.clear()
        await console_sign_in(client, ctx, AGENT)
        assert (await client.get("/mandates")).status_code == 303

    async def test_a_deactivated_agents_open_session_stops_on_its_next_request(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        await console_sign_in(client, ctx, AGENT)
        assert (await client.get("/console")).status_code == 200
        admin_browser = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
        async with admin_browser:
            await console_sign_in(admin_browser, ctx, ADMIN)
            page = await admin_browser.get("/console/admin/members")
            off = await admin_browser.post(
                f"/console/admin/members/{team['agent'].id}/deactivate", data={"csrf_token": csrf_of(page)}
            )
            assert off.status_code == 303
        assert (await client.get("/console")).status_code == 303
        page = await client.get("/console/sign-in")
        await client.post("/console/sign-in", data={"email": AGENT, "csrf_token": csrf_of(page)})
        mails = (
            (
                await ctx.session.execute(
                    select(OutboxMessage).where(
                        OutboxMessage.recipient == AGENT, OutboxMessage.template == "console_sign_in"
                    )
                )
            )
            .scalars()
            .all()
        )
        assert len(mails) == 1  # the deactivated member gets no new link


class TestChecks:
    async def test_a_valid_code_shows_who_what_and_what_not(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        team: dict[str, Any],
        mandate_and_code: tuple[Mandate, str],
    ) -> None:
        mandate, code = mandate_and_code
        await console_sign_in(client, ctx, AGENT)
        answer = await check(
            client, mandate.reference.lower().replace("-", " "), code[:4] + " " + code[4:], "termination"
        )
        assert answer.status_code == 200
        text = answer.text
        assert "Code is right — NOT allowed: end the contract" in text and "Jan de Vries" in text
        assert "receive information" in text and "bills and payment arrangements" in text
        assert "May NOT" in text
        receipt = re.search(r"<code>(vrf_[\w-]+)</code>", text)
        assert receipt
        row = (await ctx.session.execute(select(Verification))).scalars().one()
        assert row.agent_pseudonym == members.pseudonym(ctx, team["agent"])
        again = await check(client, mandate.reference, code)
        assert "Not verified" in again.text

    async def test_by_customer_number_and_a_misheard_reference_is_named(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        team: dict[str, Any],
        mandate_and_code: tuple[Mandate, str],
    ) -> None:
        mandate, code = mandate_and_code
        await console_sign_in(client, ctx, AGENT)
        misheard = mandate.reference[:-1] + ("X" if mandate.reference[-1] != "X" else "Z")
        page = await check(client, misheard, code)
        assert page.status_code == 422
        assert 'id="subject-error"' in page.text
        assert "Verified" in (await check(client, "KL-9", code)).text

    async def test_the_holder_sees_the_pseudonym_never_the_agents_address(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        team: dict[str, Any],
        mandate_and_code: tuple[Mandate, str],
        holder: Holder,
    ) -> None:
        mandate, code = mandate_and_code
        await console_sign_in(client, ctx, AGENT)
        await check(client, mandate.reference, code)
        client.cookies.clear()
        await sign_in(client, ctx, holder.email)
        activity = await client.get("/activity")
        dutch = members.pseudonym(ctx, team["agent"]).replace("Agent ", "Medewerker ")  # holder: nl
        assert dutch in activity.text
        assert AGENT not in activity.text and "agent@" not in activity.text
        receipt = (await ctx.session.execute(select(Verification.public_id))).scalars().one()
        key = (await api_keys.create(ctx, "energie-bv", "crm", ["verify"]))[1]
        answer = await client.get(f"/v1/verifications/{receipt}", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200 and "agent@" not in answer.text


class TestAccess:
    async def test_an_agent_cannot_reach_admin_pages(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        await console_sign_in(client, ctx, AGENT)
        assert (await client.get("/console/admin/members")).status_code == 403
        page = await client.get("/console")
        refused = await client.post(
            f"/console/admin/members/{team['admin'].id}/deactivate", data={"csrf_token": csrf_of(page)}
        )
        assert refused.status_code == 403

    async def test_another_organisations_request_is_not_found(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        await organisations.create(ctx, "telecom-nl", "Telecom NL")
        await members.invite(ctx, "telecom-nl", "agent@telecom.example", "agent")
        await console_sign_in(client, ctx, AGENT)
        created = await _register(client)
        client.cookies.clear()
        await console_sign_in(client, ctx, "agent@telecom.example")
        assert (await client.get(created)).status_code == 404
        assert (await client.get(created + "/events")).status_code == 404


async def _register(client: httpx.AsyncClient, **changes: str) -> str:
    page = await client.get("/console/requests/new")
    form = {
        "customer_reference": "KL-77",
        "customer_email": "klant@example.nl",
        "proxy_name": "Sanne Bakker",
        "relation": "child",
        "scope": "information",
        "csrf_token": csrf_of(page),
        **changes,
    }
    done = await client.post("/console/requests/new", data=form)
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


class TestOralMandates:
    async def test_register_then_follow_the_answer(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any], clock: FrozenClock
    ) -> None:
        await console_sign_in(client, ctx, AGENT)
        status_url = await _register(client)
        page = await client.get(status_url)
        assert 'data-status="pending"' in page.text
        message = await last_mail(ctx, "klant@example.nl", "mandate_request")
        assert "Sanne Bakker" in (message.subject or "")
        link = re.search(r"https?://[^/\s]+(/confirm/\S+)", message.body_text or "")
        assert link
        holder_browser = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
        async with holder_browser:
            confirm_page = await holder_browser.get(link.group(1))
            await holder_browser.post(
                link.group(1),
                data={"csrf_token": csrf_of(confirm_page), "answer": "confirm", "scope": "information"},
            )
        page = await client.get(status_url)
        assert 'data-status="confirmed"' in page.text
        events = await client.get(status_url + "/events")  # answered: one event, then the stream ends
        assert events.headers["content-type"].startswith("text/event-stream")
        assert '"status": "confirmed"' in events.text
        history = await client.get("/console/history")
        assert status_url.rsplit("/", 1)[1] in history.text

    async def test_bad_input_is_named_next_to_each_field(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        await console_sign_in(client, ctx, AGENT)
        page = await client.get("/console/requests/new")
        answer = await client.post(
            "/console/requests/new", data={"customer_email": "nope", "csrf_token": csrf_of(page)}
        )
        assert answer.status_code == 422
        for field in ("customer_reference", "customer_email", "proxy_name", "proxy_relation", "scope"):
            assert f'id="{field}-error"' in answer.text, field


class TestHistoryAndMembers:
    async def test_agents_see_their_own_admins_the_organisations(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        team: dict[str, Any],
        mandate_and_code: tuple[Mandate, str],
    ) -> None:
        mandate, code = mandate_and_code
        await console_sign_in(client, ctx, AGENT)
        await check(client, mandate.reference, code)
        client.cookies.clear()
        await console_sign_in(client, ctx, ADMIN)
        assert members.pseudonym(ctx, team["agent"]) in (await client.get("/console/history")).text
        page = await client.get("/console/admin/members")
        invited = await client.post(
            "/console/admin/members",
            data={"email": "new@energie-bv.example", "role": "agent", "csrf_token": csrf_of(page)},
        )
        assert invited.status_code == 303
        await last_mail(ctx, "new@energie-bv.example", "member_invitation")
        twice = await client.post(
            "/console/admin/members",
            data={"email": "new@energie-bv.example", "role": "agent", "csrf_token": csrf_of(page)},
        )
        assert twice.status_code == 422 and 'id="email-error"' in twice.text
        client.cookies.clear()
        await console_sign_in(client, ctx, "new@energie-bv.example")
        assert members.pseudonym(ctx, team["agent"]) not in (await client.get("/console/history")).text


async def test_the_sign_in_form_needs_the_pages_token(client: httpx.AsyncClient) -> None:
    """The console's sign-in form refuses a post without the page's token, as every form does."""
    assert (await client.post("/console/sign-in", data={"email": AGENT})).status_code == 403
    assert (await post_form(client, "/console/sign-in", {"email": "nobody@example.org"})).status_code == 200


class TestAdministration:
    async def test_keys_are_shown_once_listed_and_revoked_only_by_their_organisation(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        await console_sign_in(client, ctx, ADMIN)
        page = await client.get("/console/admin/keys")
        made = await client.post(
            "/console/admin/keys",
            data={
                "name": "Zendesk",
                "scopes": ["verify", "mandate_requests:write"],
                "csrf_token": csrf_of(page),
            },
        )
        assert made.status_code == 200
        secret = re.search(r'<code id="new-key">(mrk_[\w-]+)</code>', made.text)
        assert secret
        listed = await client.get("/console/admin/keys")
        assert secret.group(1) not in listed.text and "Zendesk" in listed.text
        assert "Agent " not in listed.text.split("<tbody>")[1].split("</tbody>")[0]  # console keys stay apart
        answer = await client.post(
            "/v1/mandate-requests",
            headers={"Authorization": f"Bearer {secret.group(1)}"},
            json={
                "customer_reference": "KL-1",
                "customer_email": "k@example.nl",
                "proxy": {"name": "J", "relation": "partner"},
                "scope": ["information"],
            },
        )
        assert answer.status_code == 201
        third = await client.post("/console/admin/keys", data={"name": "", "csrf_token": csrf_of(page)})
        assert (
            third.status_code == 422 and 'id="name-error"' in third.text and 'id="scopes-error"' in third.text
        )

        await organisations.create(ctx, "telecom-nl", "Telecom NL")
        theirs, _ = await api_keys.create(ctx, "telecom-nl", "crm", ["verify"])
        refused = await client.post(
            f"/console/admin/keys/{theirs.id}/revoke", data={"csrf_token": csrf_of(page)}
        )
        assert refused.status_code == 404
        console_key = (
            (await ctx.session.execute(select(ApiKey).where(col(ApiKey.member_id).is_not(None))))
            .scalars()
            .first()
        )
        assert console_key is not None
        refused = await client.post(
            f"/console/admin/keys/{console_key.id}/revoke", data={"csrf_token": csrf_of(page)}
        )
        assert refused.status_code == 404
        own = (await ctx.session.execute(select(ApiKey).where(ApiKey.name == "Zendesk"))).scalars().one()
        revoked = await client.post(
            f"/console/admin/keys/{own.id}/revoke", data={"csrf_token": csrf_of(page)}
        )
        assert revoked.status_code == 303
        again = await client.get(
            "/v1/verifications/vrf_x", headers={"Authorization": f"Bearer {secret.group(1)}"}
        )
        assert again.status_code == 401

    async def test_settings_allow_framing_by_named_crm_origins_only(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
    ) -> None:
        await console_sign_in(client, ctx, ADMIN)
        page = await client.get("/console/admin/settings")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        bad = await client.post(
            "/console/admin/settings",
            data={
                "display_name": "Energie BV",
                "default_language": "nl",
                "frame_ancestors": "http://crm.example.com",
                "csrf_token": csrf_of(page),
            },
        )
        assert bad.status_code == 422 and 'id="frame_ancestors-error"' in bad.text
        saved = await client.post(
            "/console/admin/settings",
            data={
                "display_name": "Energie B.V.",
                "default_language": "en",
                "frame_ancestors": "https://crm.example.com\nhttps://desk.example.org:8443/",
                "csrf_token": csrf_of(page),
            },
        )
        assert saved.status_code == 303
        home = await client.get("/console")
        policy = home.headers["content-security-policy"]
        assert "frame-ancestors https://crm.example.com https://desk.example.org:8443" in policy
        assert (await client.get("/")).headers["content-security-policy"].endswith("frame-ancestors 'none'")
        assert "Energie B.V." in home.text

    async def test_alerts_show_a_key_with_twenty_failed_checks(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        team: dict[str, Any],
    ) -> None:
        _, secret = await api_keys.create(ctx, "energie-bv", "Guesser", ["verify"])
        for n in range(20):
            await client.post(
                "/v1/verifications",
                headers={"Authorization": f"Bearer {secret}"},
                json={"customer_reference": f"nobody-{n}", "code": "00000000"},
            )
        await console_sign_in(client, ctx, ADMIN)
        alerts = await client.get("/console/admin/alerts")
        assert "Guesser" in alerts.text and re.search(r"<td[^>]*>20</td>", alerts.text)
        client.cookies.clear()
        await console_sign_in(client, ctx, AGENT)
        for path in ("/console/admin/keys", "/console/admin/alerts", "/console/admin/settings"):
            assert (await client.get(path)).status_code == 403, path


class TestWebhookPages:
    async def test_an_admin_adds_an_endpoint_sees_the_secret_once_and_stops_it(
        self, client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any], holder: Holder
    ) -> None:
        await console_sign_in(client, ctx, ADMIN)
        page = await client.get("/console/admin/webhooks")
        bad = await client.post(
            "/console/admin/webhooks", data={"url": "http://10.0.0.1/x", "csrf_token": csrf_of(page)}
        )
        assert bad.status_code == 422 and 'id="url-error"' in bad.text
        made = await client.post(
            "/console/admin/webhooks",
            data={
                "url": "https://hooks.example.com/x",
                "event_types": "mandate.revoked",
                "csrf_token": csrf_of(page),
            },
        )
        secret = re.search(r'<code id="new-secret">(whsec_[\w+/=]+)</code>', made.text)
        assert made.status_code == 200 and secret
        listed = await client.get("/console/admin/webhooks")
        assert secret.group(1) not in listed.text and "https://hooks.example.com/x" in listed.text
        found = re.search(r'href="/console/admin/webhooks/(whe_[\w-]+)"', listed.text)
        assert found
        draft = mandates.Draft("energie-bv", mandates.Proxy("Jan", "partner"), ["information"])
        mandate = await mandates.grant(ctx, holder, draft)
        await mandates.revoke(ctx, holder, mandate.reference)
        deliveries = await client.get(f"/console/admin/webhooks/{found.group(1)}")
        assert "mandate.revoked" in deliveries.text
        stopped = await client.post(
            f"/console/admin/webhooks/{found.group(1)}/disable", data={"csrf_token": csrf_of(page)}
        )
        assert stopped.status_code == 303
        client.cookies.clear()
        await console_sign_in(client, ctx, AGENT)
        assert (await client.get("/console/admin/webhooks")).status_code == 403
