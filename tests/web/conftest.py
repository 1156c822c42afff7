"""Helpers for page tests: signing in through the e-mailed link, reading the CSRF token of a page."""

from __future__ import annotations

import re

import httpx
from sqlmodel import col, select

from registry.models import OutboxMessage
from registry.services import ServiceContext


async def last_link(ctx: ServiceContext, to: str) -> str:
    rows = await ctx.session.execute(
        select(OutboxMessage).where(col(OutboxMessage.recipient) == to).order_by(col(OutboxMessage.id).desc())
    )
    message = rows.scalars().first()
    assert message is not None and message.body_text is not None, f"no e-mail to {to}"
    match = re.search(r"https?://\S+/sign-in/(\S+)", message.body_text)
    assert match, message.body_text
    return f"/sign-in/{match.group(1)}"


async def sign_in(client: httpx.AsyncClient, ctx: ServiceContext, email: str) -> None:
    response = await post_form(client, "/sign-in", {"email": email})
    assert response.status_code == 200, response.text
    link = await last_link(ctx, email.lower())
    redeemed = await post_form(client, link)
    assert redeemed.status_code == 303
    assert redeemed.headers["location"] == "/mandates"


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Post a form as a browser would: with the CSRF token that a page of this browser carries (the
    session's when signed in, else the one bound to the browser's CSRF cookie)."""
    token = csrf_of(await client.get("/sign-in"))
    return await client.post(url, data={**(data or {}), "csrf_token": token})
