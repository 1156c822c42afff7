"""Members of an organisation (admins and agents) and their console sessions.

Members sign in like holders, by an e-mailed link (another link kind, another cookie, another table).
Each member's checks run under a console key of their own, so the per-key failure budget guards each
agent; holders and API answers know a member only by a pseudonym such as `Agent 4F2A`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from registry.crypto.security import first_found, keyed_hash, new_token
from registry.domain.vocabulary import LANGUAGES, Language, Outcome, RequestStatus
from registry.errors import Conflict, InvalidInput, MemberNotFound, NotAuthenticated, NotPermitted
from registry.models import ApiKey, ConsoleSession, Member, Organisation
from registry.repositories import (
    ApiKeyRepository,
    ConsoleSessionRepository,
    HistoryRepository,
    MemberRepository,
)
from registry.services import ServiceContext, audit, holders, mandate_requests, organisations, sign_in
from registry.services.api_keys import Caller
from registry.services.verifications import agent_pseudonym

LINK_PURPOSE = "console-sign-in"
CONSOLE_SCOPES = ["verify", "mandate_requests:write"]


class Role(StrEnum):
    admin = "admin"  # members, keys, settings, and everything an agent does
    agent = "agent"  # checks codes and registers oral mandates


@dataclass(frozen=True)
class SignedIn:
    member: Member
    session: ConsoleSession
    secret: str


@dataclass(frozen=True)
class Console:
    """Who is using the console: the member, their organisation and their session."""

    member: Member
    organisation: Organisation
    session: ConsoleSession

    @property
    def is_admin(self) -> bool:
        return self.member.role == Role.admin


def pseudonym(ctx: ServiceContext, member: Member) -> str:
    """`Agent 4F2A`: what holders and API answers see instead of the member's name or address."""
    return agent_pseudonym(ctx, member.organisation_id, f"member:{member.id}")


async def invite(
    ctx: ServiceContext, organisation_slug: str, email: str, role: str, actor: str = "operator"
) -> Member:
    """Add a member and e-mail them where to sign in. An address can belong to one organisation."""
    organisation = await organisations.get(ctx, organisation_slug)
    address = holders.normalise_email(email)
    if role not in Role.__members__:
        raise InvalidInput.for_field("role", f"Use one of: {', '.join(Role)}.")
    repo = MemberRepository(ctx.session)
    if await repo.by_email(address) is not None:
        raise Conflict("This address is a member already (of this or another organisation).")
    now = ctx.clock.now()
    language = organisation.default_language if organisation.default_language in LANGUAGES else "nl"
    member = await repo.add(
        Member(organisation_id=_id(organisation), email=address, role=role, language=language, created_at=now)
    )
    await ApiKeyRepository(ctx.session).add(
        ApiKey(
            organisation_id=_id(organisation),
            member_id=member.id,
            name=f"console {pseudonym(ctx, member)}",
            prefix="console",
            key_hash=keyed_hash(ctx.keys, "api-key", "console:" + secrets.token_urlsafe(32)),
            scopes=CONSOLE_SCOPES,
            created_at=now,
        )
    )
    await _event(ctx, organisation, "member.invited", actor, member, {"role": role})
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=address,
        language=language,
        template="member_invitation",
        context={
            "organisation": organisation.display_name,
            "role": role,
            "link": f"{ctx.mailer.base_url}/console/sign-in",
        },
    )
    return member


async def set_language(ctx: ServiceContext, member: Member, language: Language) -> None:
    """The member's language for the console and its e-mails."""
    if member.language != language:
        member.language = language
        await ctx.session.flush()


async def request_link(
    ctx: ServiceContext, email: str, client_ip: str, language: Language | None = None
) -> None:
    """E-mail a console sign-in link to an active member, in `language` (the page's, when the browser
    chose one) or else the member's own. Any other address gets nothing, and the same answer."""
    address = holders.normalise_email(email)
    member = await MemberRepository(ctx.session).by_email(address)
    if member is None or member.deactivated_at is not None:
        return
    token = await sign_in.new_link(ctx, address, client_ip, LINK_PURPOSE)
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=address,
        language=language or member.language,
        template="console_sign_in",
        context={
            "link": f"{ctx.mailer.base_url}/console/sign-in/{token}",
            "minutes": int(sign_in.LINK_LIFETIME.total_seconds() // 60),
        },
    )


async def redeem(ctx: ServiceContext, token: str) -> SignedIn:
    address = await sign_in.spend_link(ctx, token, LINK_PURPOSE)
    member = await MemberRepository(ctx.session).by_email(address)
    if member is None or member.deactivated_at is not None:
        raise NotAuthenticated("This address is not a member (any more).")
    now = ctx.clock.now()
    secret = new_token()
    session = await ConsoleSessionRepository(ctx.session).add(
        ConsoleSession(
            token_hash=keyed_hash(ctx.keys, "console-session", secret),
            member_id=_id(member),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + sign_in.ABSOLUTE,
        )
    )
    organisation = await organisations.by_id(ctx, member.organisation_id)
    await _event(ctx, organisation, "member.signed_in", f"member:{member.id}", member, {})
    return SignedIn(member, session, secret)


async def current(ctx: ServiceContext, secret: str | None) -> Console | None:
    """The live console session behind a cookie; a deactivated member's sessions stop at once."""
    if not secret:
        return None
    found = await first_found(
        ctx.keys, "console-session", secret, ConsoleSessionRepository(ctx.session).by_hash
    )
    if found is None:
        return None
    session, member, organisation = found
    if member.deactivated_at is not None or not organisation.active:
        return None
    if not sign_in.still_live(session, ctx.clock.now()):
        return None
    return Console(member, organisation, session)


async def caller(ctx: ServiceContext, console: Console) -> Caller:
    """The member's console key, as the verification and request services expect their caller."""
    key = await ApiKeyRepository(ctx.session).of_member(_id(console.member))
    assert key is not None, "every member gets a console key when invited"
    return Caller(key, console.organisation)


async def list_for(ctx: ServiceContext, console: Console) -> Sequence[Member]:
    require_admin(console)
    return await MemberRepository(ctx.session).of_organisation(_id(console.organisation))


async def member_for(ctx: ServiceContext, console: Console, member_id: int) -> Member:
    """A member of the admin's own organisation; any other reads as not found."""
    require_admin(console)
    return await _member_of(ctx, console, member_id)


async def _member_of(ctx: ServiceContext, console: Console, member_id: int) -> Member:
    member = await MemberRepository(ctx.session).by_id(member_id)
    if member is None or member.organisation_id != console.organisation.id:
        raise MemberNotFound("There is no such member in your organisation.")
    return member


async def set_role(ctx: ServiceContext, console: Console, member_id: int, role: str) -> Member:
    require_admin(console)
    if role not in Role.__members__:
        raise InvalidInput.for_field("role", f"Use one of: {', '.join(Role)}.")
    member = await _member_of(ctx, console, member_id)
    if member.id == console.member.id and role != Role.admin:
        raise Conflict("You cannot take away your own admin role; ask another admin.")
    if member.role != role:
        member.role = role
        await ctx.session.flush()
        await _event(
            ctx,
            console.organisation,
            "member.role_changed",
            f"member:{console.member.id}",
            member,
            {"role": role},
        )
    return member


async def deactivate(ctx: ServiceContext, console: Console, member_id: int) -> Member:
    """The member can no longer sign in, and every open session of theirs ends at once."""
    require_admin(console)
    member = await _member_of(ctx, console, member_id)
    if member.id == console.member.id:
        raise Conflict("You cannot deactivate yourself; ask another admin.")
    if member.deactivated_at is None:
        now = ctx.clock.now()
        member.deactivated_at = now
        await ConsoleSessionRepository(ctx.session).revoke_all(_id(member), now)
        await _event(
            ctx, console.organisation, "member.deactivated", f"member:{console.member.id}", member, {}
        )
    return member


async def reactivate(ctx: ServiceContext, console: Console, member_id: int) -> Member:
    """A deactivated member may sign in again (by a new link; the old sessions stay ended)."""
    require_admin(console)
    member = await _member_of(ctx, console, member_id)
    if member.deactivated_at is not None:
        member.deactivated_at = None
        await ctx.session.flush()
        await _event(
            ctx, console.organisation, "member.reactivated", f"member:{console.member.id}", member, {}
        )
    return member


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str  # check | request
    result: str  # a check's Outcome, or a request's status: pending | confirmed | declined | lapsed
    reference: str | None
    agent: str | None
    receipt: str
    action: str | None = None  # the action a check asked about


HISTORY_LENGTH = 50


async def history(ctx: ServiceContext, console: Console, own_pseudonym: str) -> list[HistoryEntry]:
    """The newest checks and oral-mandate requests: the member's own, or for an admin the organisation's."""
    agent = None if console.is_admin else own_pseudonym
    repo = HistoryRepository(ctx.session)
    organisation_id = _id(console.organisation)
    entries = [
        _check_entry(v.created_at, v.answer, v.agent_pseudonym, v.public_id)
        for v in await repo.checks(organisation_id, agent, HISTORY_LENGTH)
    ]
    now = ctx.clock.now()
    for request, mandate in await repo.requests(organisation_id, agent, HISTORY_LENGTH):
        status = mandate_requests.status_at(request, now)
        reference = mandate.reference if status == RequestStatus.confirmed else None
        entries.append(
            HistoryEntry(
                request.created_at,
                "request",
                status.value,
                reference,
                request.agent_pseudonym,
                request.public_id,
            )
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)[:HISTORY_LENGTH]


def _check_entry(at: datetime, answer: str, agent: str | None, receipt: str) -> HistoryEntry:
    """A check as the history says it: its outcome (a refused action is never a plain "verified")."""
    said = json.loads(answer)
    outcome = Outcome.of(said["result"], said.get("action"), said.get("action_permitted"))
    reference = said.get("mandate_reference")
    return HistoryEntry(
        at, "check", outcome.value, str(reference) if reference else None, agent, receipt, said.get("action")
    )


def require_admin(console: Console) -> None:
    if not console.is_admin:
        raise NotPermitted("Only an admin of the organisation may do this.")


async def _event(
    ctx: ServiceContext,
    organisation: Organisation,
    kind: str,
    actor: str,
    member: Member,
    data: dict[str, object],
) -> None:
    await audit.record(
        ctx,
        f"organisation:{organisation.slug}",
        kind,
        actor,
        {"member": pseudonym(ctx, member), **data},
        organisation_id=organisation.id,
    )


def _id(row: Member | Organisation) -> int:
    assert row.id is not None
    return row.id
