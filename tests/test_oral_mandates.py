"""Oral mandates confirmed by e-mail, in-process: the API, the confirmation page, the proxy's page, lapse.

The whole story against a real server, real SMTP and the live status stream is in test_oral_flow.py;
the same story in Chromium is in test_browser.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select

from registry.clock import FrozenClock
from registry.domain.vocabulary import MandateStatus
from registry.models import AuditEvent, CallCode, Holder, Mandate, MandateRequest, OutboxMessage, WebSession
from registry.services import ServiceContext, api_keys, codes, mandate_requests, organisations
from tests.conftest import NOW
from tests.web.conftest import csrf_of, post_form, sign_in

URL = "/v1/mandate-requests"
CUSTOMER = "anna.de.vries@example.nl"
BODY: dict[str, Any] = {
    "customer_reference": "KL-100234",
    "customer_email": CUSTOMER,
    "proxy": {"name": "Jan de Vries", "relation": "partner", "email": "jan@example.nl"},
    "scope": ["information", "billing", "termination"],
    "note": "Belde over de jaarafrekening",
    "agent_id": "agent-0042",
}


@pytest.fixture
async def key(ctx: ServiceContext, organisation: Any) -> str:
    return (await api_keys.create(ctx, "energie-bv", "crm", ["verify", "mandate_requests:write"]))[1]


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def outbox(ctx: ServiceContext, to: str, template: str = "mandate_request") -> list[OutboxMessage]:
    rows = await ctx.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == to, OutboxMessage.template == template)
        .order_by(col(OutboxMessage.id))
    )
    return list(rows.scalars().all())


async def link_to(ctx: ServiceContext, to: str = CUSTOMER) -> str:
    messages = await outbox(ctx, to)
    assert messages, f"no request e-mail to {to}"
    body = messages[-1].body_text or ""
    match = re.search(r"https?://[^/\s]+(/confirm/\S+)", body)
    assert match, body
    return match.group(1)


async def request(client: httpx.AsyncClient, key: str, **changes: Any) -> dict[str, Any]:
    answer = await client.post(URL, json={**BODY, **changes}, headers=auth(key))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def status_of(client: httpx.AsyncClient, key: str, request_id: str) -> dict[str, Any]:
    answer = await client.get(f"{URL}/{request_id}", headers=auth(key))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def answer_page(
    client: httpx.AsyncClient, link: str, answer: str, **form: str | list[str]
) -> httpx.Response:
    """Answer as a browser does: the page's checked boxes and date go along unless the test says otherwise."""
    page = await client.get(link)
    assert page.status_code == 200, page.text
    defaults: dict[str, str | list[str]] = {
        "scope": re.findall(r'name="scope" value="(\w+)"\s+checked', page.text),
        **{
            f"valid_until-{part}": re.findall(rf'name="valid_until-{part}" value="(\d+)"', page.text)[0]
            for part in ("day", "month", "year")
        },
    }
    data = {"csrf_token": csrf_of(page), "answer": answer, **defaults, **form}
    return await client.post(link, data=data)


def day_month_year(day: int, month: int, year: int, name: str = "valid_until") -> dict[str, str]:
    """A date as the page's three fields take it."""
    return {f"{name}-day": str(day), f"{name}-month": str(month), f"{name}-year": str(year)}


async def counts(ctx: ServiceContext) -> tuple[int, ...]:
    """What a click could change: requests answered, holders, sessions, mandates not pending, events."""
    answered = await ctx.session.scalar(
        select(func.count()).select_from(MandateRequest).where(MandateRequest.status != "pending")
    )
    holders = await ctx.session.scalar(select(func.count()).select_from(Holder))
    sessions = await ctx.session.scalar(select(func.count()).select_from(WebSession))
    active = await ctx.session.scalar(
        select(func.count()).select_from(Mandate).where(Mandate.status != "pending")
    )
    events = await ctx.session.scalar(select(func.count()).select_from(AuditEvent))
    return tuple(int(n or 0) for n in (answered, holders, sessions, active, events))


async def verify(client: httpx.AsyncClient, key: str, reference: str, code: str) -> dict[str, Any]:
    answer = await client.post(
        "/v1/verifications", json={"mandate_reference": reference, "code": code}, headers=auth(key)
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


class TestApi:
    async def test_a_request_is_pending_and_mails_the_address_on_file(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        created = await client.post(URL, json=BODY, headers=auth(key))
        assert created.status_code == 201
        body = created.json()
        assert created.headers["location"] == f"{URL}/{body['id']}"
        assert body["status"] == "pending"
        assert body["mandate_reference"] is None
        assert body["expires_at"] == "2026-11-29T10:00:00Z"
        assert CUSTOMER not in created.text  # the holder's address is not echoed
        assert await status_of(client, key, body["id"]) == body
        [message] = await outbox(ctx, CUSTOMER)
        assert message.language == "nl"
        assert message.subject == "Mag Jan de Vries namens u contact hebben met Energie BV?"
        text = message.body_text or ""
        for expected in ("Jan de Vries (partner)", "KL-100234", "het contract opzeggen", "Dit was ik niet"):
            assert expected in text
        assert "Belde over de jaarafrekening" in text

    async def test_bad_input_names_each_field_and_sends_nothing(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        bad = {
            **BODY,
            "customer_email": "not an address",
            "proxy": {"name": "Jan", "relation": "partner", "phone": "call me"},
            "valid_until": "2040-01-01T00:00:00Z",
        }
        answer = await client.post(URL, json=bad, headers=auth(key))
        assert answer.status_code == 422
        fields = {e["field"] for e in answer.json()["errors"]}
        assert {"customer_email", "proxy.phone", "valid_until"} <= fields
        assert await outbox(ctx, CUSTOMER) == []
        unknown = await client.post(URL, json={**BODY, "scope": ["everything"]}, headers=auth(key))
        assert unknown.status_code == 422
        server_owned = await client.post(URL, json={**BODY, "status": "confirmed"}, headers=auth(key))
        assert server_owned.status_code == 422

    async def test_the_scope_of_the_key_decides(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Any
    ) -> None:
        verify_only = (await api_keys.create(ctx, "energie-bv", "crm", ["verify"]))[1]
        answer = await client.post(URL, json=BODY, headers=auth(verify_only))
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"

    async def test_the_holders_own_language_wins(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, holder: Holder
    ) -> None:
        holder.language = "en"
        await ctx.session.flush()
        await request(client, key, language="nl")
        [message] = await outbox(ctx, CUSTOMER)
        assert message.subject == "May Jan de Vries deal with Energie BV for you?"
        await request(client, key, customer_email="new@example.nl", language="en")
        assert (await outbox(ctx, "new@example.nl"))[0].language == "en"


class TestIdempotency:
    async def test_the_same_key_twice_sends_one_email_and_answers_the_same(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        headers = auth(key, **{"Idempotency-Key": "call-7781"})
        first = await client.post(URL, json=BODY, headers=headers)
        again = await client.post(
            URL, content=_respaced(BODY), headers={**headers, "Content-Type": "application/json"}
        )
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["location"] == first.headers["location"]
        assert "idempotent-replayed" not in first.headers
        assert len(await outbox(ctx, CUSTOMER)) == 1
        assert await ctx.session.scalar(select(func.count()).select_from(MandateRequest)) == 1

    async def test_the_same_key_with_another_body_is_refused(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        headers = auth(key, **{"Idempotency-Key": "call-7782"})
        assert (await client.post(URL, json=BODY, headers=headers)).status_code == 201
        other = await client.post(URL, json={**BODY, "scope": ["information"]}, headers=headers)
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert len(await outbox(ctx, CUSTOMER)) == 1

    async def test_keys_are_per_organisation_and_kept_24_hours(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock, key: str
    ) -> None:
        await organisations.create(ctx, "telecom-nl", "Telecom NL")
        theirs = (await api_keys.create(ctx, "telecom-nl", "crm", ["mandate_requests:write"]))[1]
        same = {"Idempotency-Key": "shared-key"}
        mine = await client.post(URL, json=BODY, headers=auth(key, **same))
        other = await client.post(URL, json=BODY, headers=auth(theirs, **same))
        assert mine.json()["id"] != other.json()["id"]
        clock.advance(timedelta(hours=24, seconds=1))
        later = await client.post(URL, json=BODY, headers=auth(key, **same))
        assert later.json()["id"] != mine.json()["id"]
        assert "idempotent-replayed" not in later.headers

    async def test_a_failed_request_keeps_nothing_under_its_key(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        headers = auth(key, **{"Idempotency-Key": "call-7783"})
        bad = await client.post(URL, json={**BODY, "customer_email": "nope"}, headers=headers)
        assert bad.status_code == 422
        fixed = await client.post(URL, json=BODY, headers=headers)
        assert fixed.status_code == 201

    async def test_a_malformed_key_is_refused(self, client: httpx.AsyncClient, key: str) -> None:
        answer = await client.post(URL, json=BODY, headers=auth(key, **{"Idempotency-Key": "x" * 256}))
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "Idempotency-Key"


def _respaced(body: dict[str, Any]) -> str:
    """The same JSON with other spacing and key order: still the same request."""
    import json

    return json.dumps(dict(reversed(list(body.items()))), indent=2)


class TestConfirmationLink:
    async def test_scanners_change_nothing_the_first_post_confirms_a_second_is_refused(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        created = await request(client, key)
        link = await link_to(ctx)
        before = await counts(ctx)
        for _ in range(2):
            head = await client.head(link)
            assert head.status_code == 200
        for _ in range(3):
            page = await client.get(link)
            assert page.status_code == 200
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["cache-control"] == "no-store"
            assert "Mag Jan de Vries namens u handelen bij Energie BV?" in page.text
        assert await counts(ctx) == before
        assert (await status_of(client, key, created["id"]))["status"] == "pending"

        confirmed = await answer_page(client, link, "confirm")
        assert confirmed.status_code == 303
        reference = (await status_of(client, key, created["id"]))["mandate_reference"]
        assert confirmed.headers["location"] == f"/mandates/{reference}/confirmed"
        assert confirmed.headers["referrer-policy"] == "no-referrer"
        again = await post_form(client, link, {"answer": "confirm", "scope": "billing"})
        assert again.status_code == 410
        assert "Dit verzoek is al bevestigd" in again.text
        declined_after = await post_form(client, link, {"answer": "not_me"})
        assert declined_after.status_code == 410
        assert (await status_of(client, key, created["id"]))["status"] == "confirmed"

    async def test_a_post_without_the_pages_csrf_token_is_refused(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        created = await request(client, key)
        link = await link_to(ctx)
        assert (await client.post(link, data={"answer": "confirm"})).status_code == 403
        assert (
            await client.post(link, data={"answer": "confirm", "csrf_token": "forged"})
        ).status_code == 403
        assert (await status_of(client, key, created["id"]))["status"] == "pending"

    async def test_confirming_makes_the_holder_signs_in_and_shows_a_code_that_verifies(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        created = await request(client, key, customer_email="Nieuw.Adres@Example.nl")
        link = await link_to(ctx, "nieuw.adres@example.nl")
        done = await answer_page(client, link, "confirm")
        page = await client.get(done.headers["location"])
        assert page.status_code == 200
        assert "Machtiging bevestigd" in page.text
        code = re.search(r'data-copy="(\d{8})"', page.text)
        assert code, page.text
        assert "Kopieer de code" in page.text
        reloaded = await client.get(done.headers["location"])  # the code is shown once
        assert code.group(1) not in reloaded.text
        status = await status_of(client, key, created["id"])
        answer = await verify(client, key, status["mandate_reference"], code.group(1))
        assert answer["result"] == "verified"
        assert answer["binding"] == "organisation_confirmed"
        assert answer["scope"] == ["information", "billing", "termination"]
        mandate = (await ctx.session.execute(select(Mandate))).scalars().one()
        assert (mandate.basis, mandate.status, mandate.valid_from) == (
            "oral_confirmed_by_email",
            "active",
            NOW,
        )
        holder = (await ctx.session.execute(select(Holder))).scalars().one()
        assert holder.email == "nieuw.adres@example.nl" and holder.email_verified_at == NOW
        assert [m.recipient for m in await outbox(ctx, "jan@example.nl", "mandate_granted_proxy")] == [
            "jan@example.nl"
        ]
        assert (await client.get("/activity")).status_code == 200

    async def test_the_holder_may_narrow_but_not_widen(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        created = await request(client, key)
        link = await link_to(ctx)
        later = await answer_page(client, link, "confirm", scope=["billing"], **day_month_year(1, 1, 2030))
        assert later.status_code == 422
        assert "eerdere datum" in later.text or "niet later" in later.text
        assert (await status_of(client, key, created["id"]))["status"] == "pending"
        wider = await answer_page(client, link, "confirm", scope=["billing", "changes"])
        assert wider.status_code == 422
        assert (await status_of(client, key, created["id"]))["status"] == "pending"
        narrowed = await answer_page(
            client, link, "confirm", scope=["billing"], **day_month_year(31, 3, 2027)
        )
        assert narrowed.status_code == 303
        status = await status_of(client, key, created["id"])
        assert (status["status"], status["scope"]) == ("confirmed", ["billing"])
        assert status["valid_until"] == "2027-03-31T21:59:59Z"  # the end of that day in Amsterdam

    async def test_declining_with_this_was_not_me_tells_the_organisation(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, holder: Holder
    ) -> None:
        created = await request(client, key)
        link = await link_to(ctx)
        declined = await answer_page(client, link, "not_me")
        assert declined.status_code == 303
        assert "/confirm/" not in declined.headers["location"]
        page = await client.get(declined.headers["location"])
        assert "nooit" in page.text
        status = await status_of(client, key, created["id"])
        assert (status["status"], status["decline_reason"], status["mandate_reference"]) == (
            "declined",
            "not_me",
            None,
        )
        mandate = (await ctx.session.execute(select(Mandate))).scalars().one()
        assert (mandate.status, mandate.holder_id) == (MandateStatus.declined, holder.id)
        kinds = [
            e.kind
            for e in (await ctx.session.execute(select(AuditEvent).order_by(col(AuditEvent.id)))).scalars()
            if e.mandate_id == mandate.id
        ]
        assert kinds == ["mandate_request.created", "mandate_request.declined"]
        await sign_in(client, ctx, holder.email)
        activity = await client.get("/activity")
        assert "Medewerker " in activity.text and "Jan de Vries" in activity.text  # Dutch: not "Agent"

    async def test_each_token_opens_only_its_own_request(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str
    ) -> None:
        first = await request(client, key)
        first_link = await link_to(ctx)
        second = await request(client, key, customer_email="other@example.nl")
        assert (await answer_page(client, first_link, "confirm")).status_code == 303
        assert (await status_of(client, key, first["id"]))["status"] == "confirmed"
        assert (await status_of(client, key, second["id"]))["status"] == "pending"

    @pytest.mark.parametrize("damage", ["truncate", "tamper", "other"])
    async def test_a_damaged_token_gets_a_page_that_says_what_to_do(
        self, client: httpx.AsyncClient, ctx: ServiceContext, key: str, damage: str
    ) -> None:
        await request(client, key)
        link = await link_to(ctx)
        token = link.rsplit("/", 1)[1]
        broken = {
            "truncate": token[:-6],
            "tamper": token[:-1] + ("A" if token[-1] != "A" else "B"),
            "other": "x" * 43,
        }[damage]
        page = await client.get(f"/confirm/{broken}")
        assert page.status_code == 404
        assert "Deze link werkt niet" in page.text
        assert "kopieer de hele link" in page.text.lower()
        posted = await post_form(client, f"/confirm/{broken}", {"answer": "confirm"})
        assert posted.status_code == 404

    async def test_a_link_works_for_24_hours(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock, key: str
    ) -> None:
        created = await request(client, key)
        link = await link_to(ctx)
        clock.advance(timedelta(hours=23, minutes=59))
        page = await client.get(link)
        assert page.status_code == 200
        clock.advance(timedelta(minutes=2))
        assert (await status_of(client, key, created["id"]))["status"] == "lapsed"  # before any job ran
        late = await client.post(link, data={"csrf_token": csrf_of(page), "answer": "confirm"})
        assert late.status_code == 410
        assert "Dit verzoek is vervallen" in late.text
        assert (await client.get(link)).status_code == 410


class TestNeverVerifies:
    @pytest.mark.parametrize("state", ["pending", "declined", "lapsed"])
    async def test_whatever_the_code(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        clock: FrozenClock,
        key: str,
        state: str,
    ) -> None:
        created = await request(client, key)
        view = await mandate_requests.by_token(ctx, (await link_to(ctx)).rsplit("/", 1)[1])
        assert view is not None
        mandate = view.mandate
        if state == "declined":
            await answer_page(client, await link_to(ctx), "decline")
        # A call code row for the mandate, as if one existed: only the mandate's status can refuse it.
        code = "48291337"
        assert mandate.id is not None
        ctx.session.add(
            CallCode(
                mandate_id=mandate.id,
                code_hash=codes.code_hash(ctx.keys, mandate.id, code),
                created_at=clock.now(),
                expires_at=clock.now() + timedelta(days=7),
            )
        )
        await ctx.session.flush()
        if state == "lapsed":
            clock.advance(timedelta(hours=25))
        assert (await status_of(client, key, created["id"]))["status"] == state
        for attempt in (code, "00000000", "12345678"):
            assert (await verify(client, key, mandate.reference, attempt))["result"] == "not_verified"
        by_customer = await client.post(
            "/v1/verifications", json={"customer_reference": "KL-100234", "code": code}, headers=auth(key)
        )
        assert by_customer.json()["result"] == "not_verified"


class TestLapse:
    async def test_the_job_marks_what_reads_already_call_lapsed(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock, key: str
    ) -> None:
        created = await request(client, key)
        assert await mandate_requests.lapse_due(ctx) == 0
        clock.advance(timedelta(hours=24))
        assert (await status_of(client, key, created["id"]))["status"] == "lapsed"
        assert await mandate_requests.lapse_due(ctx) == 1
        assert await mandate_requests.lapse_due(ctx) == 0
        request_row = (await ctx.session.execute(select(MandateRequest))).scalars().one()
        mandate = (await ctx.session.execute(select(Mandate))).scalars().one()
        assert (request_row.status, mandate.status) == ("lapsed", "expired")
        assert (await status_of(client, key, created["id"]))["status"] == "lapsed"


ASK = {
    "organisation": "energie-bv",
    "proxy_name": "Jan de Vries",
    "relation": "child",
    "scope": "information",
}


class TestProxyAsks:
    async def test_the_page_answers_the_same_whoever_owns_the_address(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Any, holder: Holder
    ) -> None:
        known = await post_form(client, "/ask", {**ASK, "holder_email": holder.email})
        unknown = await post_form(client, "/ask", {**ASK, "holder_email": "nobody@example.org"})
        assert (known.status_code, unknown.status_code) == (303, 303)
        assert known.headers["location"] == unknown.headers["location"]
        first, second = (
            await client.get(known.headers["location"]),
            await client.get(unknown.headers["location"]),
        )
        assert _without_tokens(first.text) == _without_tokens(second.text)
        assert len(await outbox(ctx, holder.email)) == 1
        assert len(await outbox(ctx, "nobody@example.org")) == 1
        view = await mandate_requests.by_token(ctx, (await link_to(ctx, holder.email)).rsplit("/", 1)[1])
        assert view is not None and view.mandate.binding == "unconfirmed"

    async def test_bad_input_is_explained_next_to_each_field(
        self, client: httpx.AsyncClient, organisation: Any
    ) -> None:
        page = await post_form(client, "/ask", {"organisation": "energie-bv", "holder_email": "anna at home"})
        assert page.status_code == 422
        for field in ("holder_email", "proxy_name", "proxy_relation", "scope"):
            assert f'id="{field}-error"' in page.text, field
        assert 'value="anna at home"' in page.text  # what was typed stays
        only_organisation = await post_form(
            client, "/ask", {**ASK, "organisation": "", "holder_email": "a@b.nl"}
        )
        assert only_organisation.status_code == 422
        assert 'id="organisation-error"' in only_organisation.text

    async def test_at_most_three_open_requests_per_address_and_organisation(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Any
    ) -> None:
        for _ in range(4):
            answer = await post_form(client, "/ask", {**ASK, "holder_email": "mam@example.nl"})
            assert answer.status_code == 303
        assert len(await outbox(ctx, "mam@example.nl")) == 3
        await organisations.create(ctx, "telecom-nl", "Telecom NL")
        await post_form(
            client, "/ask", {**ASK, "organisation": "telecom-nl", "holder_email": "mam@example.nl"}
        )
        assert len(await outbox(ctx, "mam@example.nl")) == 4

    async def test_at_most_ten_requests_an_hour_from_one_network(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock, organisation: Any
    ) -> None:
        for n in range(10):
            assert (
                await post_form(client, "/ask", {**ASK, "holder_email": f"p{n}@example.nl"})
            ).status_code == 303
        limited = await post_form(client, "/ask", {**ASK, "holder_email": "p10@example.nl"})
        assert limited.status_code == 429
        assert 'value="p10@example.nl"' in limited.text
        assert await outbox(ctx, "p10@example.nl") == []
        clock.advance(timedelta(hours=1))
        assert (await post_form(client, "/ask", {**ASK, "holder_email": "p10@example.nl"})).status_code == 303

    async def test_a_holder_can_block_further_requests_when_declining(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Any
    ) -> None:
        await post_form(client, "/ask", {**ASK, "holder_email": "mam@example.nl"})
        link = await link_to(ctx, "mam@example.nl")
        page = await client.get(link)
        assert "Stuur mij geen verzoeken meer" in page.text or 'name="block"' in page.text
        assert (await answer_page(client, link, "decline", block="1")).status_code == 303
        again = await post_form(client, "/ask", {**ASK, "holder_email": "mam@example.nl"})
        assert again.status_code == 303
        assert len(await outbox(ctx, "mam@example.nl")) == 1


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


async def test_deleting_the_account_removes_the_address_from_its_requests(
    client: httpx.AsyncClient, ctx: ServiceContext, key: str
) -> None:
    await request(client, key, customer_email="weg@example.nl")
    assert (await answer_page(client, await link_to(ctx, "weg@example.nl"), "confirm")).status_code == 303
    page = await client.get("/account/delete")
    assert (await client.post("/account/delete", data={"csrf_token": csrf_of(page)})).status_code == 303
    emails = (await ctx.session.execute(select(MandateRequest.email))).scalars().all()
    assert emails and "weg@example.nl" not in emails
