"""Sign-in by e-mail link and sessions (SECURITY.md: links, sessions)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import col, func, select

from registry.clock import FrozenClock
from registry.models import Holder, OutboxMessage
from registry.services import ServiceContext
from tests.web.conftest import csrf_of, last_link, post_form, sign_in


class TestLinks:
    async def test_the_same_answer_for_known_and_unknown_addresses(
        self, client: httpx.AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        known = await post_form(client, "/sign-in", {"email": holder.email})
        unknown = await post_form(client, "/sign-in", {"email": "nobody@example.org"})
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace(holder.email, "X") == unknown.text.replace("nobody@example.org", "X")
        assert await ctx.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2

    async def test_opening_the_link_changes_nothing_and_a_post_signs_in_once(
        self, client: httpx.AsyncClient, ctx: ServiceContext
    ) -> None:
        await post_form(client, "/sign-in", {"email": "New.Person@Example.nl"})
        link = await last_link(ctx, "new.person@example.nl")
        for _ in range(3):  # mail scanners open links
            page = await client.get(link)
            assert page.status_code == 200
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["cache-control"] == "no-store"
        assert await ctx.session.scalar(select(func.count()).select_from(Holder)) == 0
        signed_in = await post_form(client, link)
        assert signed_in.status_code == 303
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        assert "samesite=lax" in signed_in.headers["set-cookie"].lower()
        assert (await client.get("/mandates")).status_code == 200
        assert await ctx.session.scalar(select(func.count()).select_from(Holder)) == 1
        assert (await post_form(client, link)).status_code == 410

    async def test_a_link_expires_after_15_minutes(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        await post_form(client, "/sign-in", {"email": "anna@example.nl"})
        link = await last_link(ctx, "anna@example.nl")
        clock.advance(timedelta(minutes=15))
        assert (await client.get(link)).status_code == 410
        assert (await post_form(client, link)).status_code == 410

    async def test_five_links_an_hour_per_address_and_twenty_per_ip(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        for _ in range(5):
            assert (await post_form(client, "/sign-in", {"email": "anna@example.nl"})).status_code == 200
        limited = await post_form(client, "/sign-in", {"email": "anna@example.nl"})
        assert limited.status_code == 429
        assert 'value="anna@example.nl"' in limited.text  # what was typed stays
        for n in range(15):
            assert (await post_form(client, "/sign-in", {"email": f"p{n}@example.nl"})).status_code == 200
        assert (await post_form(client, "/sign-in", {"email": "twentyfirst@example.nl"})).status_code == 429
        clock.advance(timedelta(hours=1))
        assert (await post_form(client, "/sign-in", {"email": "anna@example.nl"})).status_code == 200

    async def test_bad_input_is_explained_next_to_the_field(self, client: httpx.AsyncClient) -> None:
        page = await post_form(client, "/sign-in", {"email": "anna at example"})
        assert page.status_code == 422
        assert 'id="email-error"' in page.text
        assert 'aria-describedby="email-error"' in page.text
        assert 'value="anna at example"' in page.text
        assert (await post_form(client, "/sign-in", {"email": ""})).status_code == 422


class TestSessions:
    async def test_idle_for_30_minutes_ends_the_session(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        await sign_in(client, ctx, "anna@example.nl")
        clock.advance(timedelta(minutes=29))
        assert (await client.get("/mandates")).status_code == 200
        clock.advance(timedelta(minutes=30))
        gone = await client.get("/mandates")
        assert (gone.status_code, gone.headers["location"]) == (303, "/sign-in?reason=page")

    async def test_twelve_hours_at_most(
        self, client: httpx.AsyncClient, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        await sign_in(client, ctx, "anna@example.nl")
        for _ in range(25):
            clock.advance(timedelta(minutes=29))
            await client.get("/mandates")
        assert (await client.get("/mandates")).status_code == 303

    async def test_sign_out_everywhere_ends_other_browsers(
        self, client: httpx.AsyncClient, ctx: ServiceContext, settings: object
    ) -> None:
        await sign_in(client, ctx, "anna@example.nl")
        other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
        await sign_in(other, ctx, "anna@example.nl")
        page = await client.get("/mandates")
        assert (
            await client.post("/sign-out-everywhere", data={"csrf_token": csrf_of(page)})
        ).status_code == 303
        assert (await other.get("/mandates")).status_code == 303
        assert (await client.get("/mandates")).status_code == 303
        rows = await ctx.session.execute(select(col(OutboxMessage.template)))
        assert set(rows.scalars()) == {"sign_in"}

    async def test_a_form_without_the_browsers_csrf_token_is_refused(self, client: httpx.AsyncClient) -> None:
        """Without a session too: a form posted from elsewhere, or by a script that never opened the page
        (login CSRF, a mail scanner), is refused before anything is sent."""
        assert (await client.post("/sign-in", data={"email": "anna@example.nl"})).status_code == 403
        token = csrf_of(await client.get("/sign-in"))
        cookies = dict(client.cookies)
        client.cookies.clear()  # another browser, which has the token but not the cookie it belongs to
        stolen = await client.post("/sign-in", data={"email": "anna@example.nl", "csrf_token": token})
        assert stolen.status_code == 403
        client.cookies.update(cookies)
        mine = await client.post("/sign-in", data={"email": "anna@example.nl", "csrf_token": token})
        assert mine.status_code == 200
