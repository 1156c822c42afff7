"""Signing in without a password: a link by e-mail, then a server-side session (SECURITY.md).

The answer to "send me a link" is the same for known and unknown addresses; an unknown address becomes
a holder only when its link is used, which proves the mailbox.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from registry.crypto.security import first_found, keyed_hash, new_token
from registry.errors import NotAuthenticated, RateLimited
from registry.models import ConsoleSession, Holder, SignInLink, WebSession
from registry.repositories import SessionRepository, SignInRepository
from registry.services import ServiceContext, audit, holders

LINK_LIFETIME = timedelta(minutes=15)
LINKS_PER_ADDRESS_PER_HOUR = 5
LINKS_PER_IP_PER_HOUR = 20
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    holder: Holder
    session: WebSession
    secret: str  # for the cookie; only its hash is stored


def _hash(ctx: ServiceContext, purpose: str, token: str) -> str:
    return keyed_hash(ctx.keys, purpose, token)


async def request_link(ctx: ServiceContext, email: str, client_ip: str, language: str) -> None:
    """E-mail a sign-in link to `email`, whoever it belongs to, within the hourly limits."""
    address = holders.normalise_email(email)
    token = await new_link(ctx, address, client_ip, "sign-in")
    known = await holders.find(ctx, address)
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=address,
        language=known.language if known else language,
        template="sign_in",
        context={
            "link": f"{ctx.mailer.base_url}/sign-in/{token}",
            "minutes": int(LINK_LIFETIME.total_seconds() // 60),
        },
    )


async def new_link(ctx: ServiceContext, address: str, client_ip: str, purpose: str) -> str:
    """A new link token for `address`, within the hourly limits (shared by holders' and console links).
    `purpose` keeps a link of one kind from working as another."""
    repo = SignInRepository(ctx.session)
    now = ctx.clock.now()
    hour_ago = now - timedelta(hours=1)
    if await repo.count_since(hour_ago, client_ip=client_ip) >= LINKS_PER_IP_PER_HOUR:
        raise RateLimited("Too many sign-in links were asked from this network. Try again in an hour.", 3600)
    if await repo.count_since(hour_ago, email=address) >= LINKS_PER_ADDRESS_PER_HOUR:
        raise RateLimited(
            "Too many sign-in links were sent to this address. Use the newest one, or try again in an hour.",
            3600,
        )
    token = new_token()
    await repo.add(
        SignInLink(
            email=address,
            token_hash=_hash(ctx, purpose, token),
            client_ip=client_ip[:64],
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    return token


async def link_is_usable(ctx: ServiceContext, token: str, purpose: str = "sign-in") -> bool:
    link = await first_found(ctx.keys, purpose, token, SignInRepository(ctx.session).by_hash)
    return link is not None and link.used_at is None and ctx.clock.now() < link.expires_at


async def spend_link(ctx: ServiceContext, token: str, purpose: str) -> str:
    """Use a link (once, within 15 minutes); the address it was sent to."""
    repo = SignInRepository(ctx.session)
    link = await first_found(ctx.keys, purpose, token, repo.by_hash)
    now = ctx.clock.now()
    if link is None or link.id is None or now >= link.expires_at or not await repo.use(link.id, now):
        raise NotAuthenticated("This sign-in link has been used or has expired. Ask for a new one.")
    return link.email


async def redeem(ctx: ServiceContext, token: str, language: str) -> SignedIn:
    """Use a link and open a new session for its address."""
    holder = await holders.get_or_create_verified(ctx, await spend_link(ctx, token, "sign-in"), language)
    return await open_session(ctx, holder)


async def open_session(ctx: ServiceContext, holder: Holder) -> SignedIn:
    """A new session for a holder who just proved their mailbox (a sign-in or a confirmation link)."""
    now = ctx.clock.now()
    secret = new_token()
    session = await SessionRepository(ctx.session).add(
        WebSession(
            token_hash=_hash(ctx, "session", secret),
            holder_id=holder.id or 0,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE,
        )
    )
    await audit.record(
        ctx, f"holder:{holder.id}", "holder.signed_in", f"holder:{holder.id}", holder_id=holder.id
    )
    return SignedIn(holder, session, secret)


async def current(ctx: ServiceContext, secret: str | None) -> tuple[WebSession, Holder] | None:
    """The live session behind a cookie: not revoked, within 12 hours, used in the last 30 minutes."""
    if not secret:
        return None
    found = await first_found(ctx.keys, "session", secret, SessionRepository(ctx.session).by_hash)
    now = ctx.clock.now()
    if found is None:
        return None
    session, holder = found
    return (session, holder) if still_live(session, now) else None


def still_live(session: WebSession | ConsoleSession, now: datetime) -> bool:
    """Not revoked, within 12 hours, used in the last 30 minutes; notes the use (once a minute)."""
    if session.revoked_at is not None or now >= session.expires_at or now - session.last_seen_at >= IDLE:
        return False
    if now - session.last_seen_at >= SEEN_EVERY:
        session.last_seen_at = now
    return True


async def sign_out(ctx: ServiceContext, session: WebSession | ConsoleSession) -> None:
    session.revoked_at = ctx.clock.now()
    await ctx.session.flush()


async def sign_out_everywhere(ctx: ServiceContext, holder: Holder) -> None:
    await SessionRepository(ctx.session).revoke_all(holder.id or 0, ctx.clock.now())
    await audit.record(
        ctx, f"holder:{holder.id}", "holder.signed_out_everywhere", f"holder:{holder.id}", holder_id=holder.id
    )
