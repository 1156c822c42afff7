"""Oral mandates confirmed by e-mail: "my mother authorised me by phone".

An organisation (with the address it has on file for its customer) or the proxy (on the web) asks; the
registry keeps a pending mandate and e-mails the address a link that works for 24 hours. Opening the
link changes nothing (mail scanners open links); the holder confirms, narrows or declines with a POST.
Confirming proves the mailbox, so it makes the address a holder if it was not one yet.

A request is `pending` until answered and `lapsed` from the instant its 24 hours end, whether or not the
tidying job (`lapse_due`) has marked it yet.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from registry.crypto.security import first_found, keyed_hash, keyed_hashes, new_token
from registry.domain.vocabulary import (
    LANGUAGES,
    Binding,
    DeclineReason,
    Language,
    MandateStatus,
    RequestOrigin,
    RequestStatus,
)
from registry.errors import (
    FieldError,
    InvalidInput,
    OrganisationInactive,
    OrganisationNotFound,
    RateLimited,
    RequestAnswered,
    RequestNotFound,
)
from registry.models import Holder, Mandate, MandateRequest, Organisation
from registry.repositories import MandateRequestRepository, RequestBlockRepository
from registry.services import (
    ServiceContext,
    audit,
    codes,
    holders,
    mandates,
    notifications,
    organisations,
    webhooks,
)
from registry.services.api_keys import Caller
from registry.services.mandates import Draft, Proxy

LIFETIME = timedelta(hours=24)
OPEN_PER_ADDRESS = 3  # open proxy-initiated requests per address per organisation
PROXY_ASKS_PER_IP_PER_HOUR = 10
NOTE_LENGTH = 500
SCOPE = "mandate_requests:write"


@dataclass(frozen=True)
class Ask:
    """What the organisation or the proxy asks for, and the address that must confirm it."""

    organisation: str
    email: str
    proxy: Proxy
    scope: Sequence[str]
    valid_until: datetime | None = None
    customer_reference: str | None = None
    note: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class RequestView:
    request: MandateRequest
    mandate: Mandate
    organisation: Organisation
    status: RequestStatus


@dataclass(frozen=True)
class Confirmed:
    view: RequestView
    holder: Holder
    code: codes.IssuedCode


def status_at(request: MandateRequest, at: datetime) -> RequestStatus:
    if request.status == RequestStatus.pending and at >= request.expires_at:
        return RequestStatus.lapsed
    return RequestStatus(request.status)


def _hash(ctx: ServiceContext, token: str) -> str:
    return keyed_hash(ctx.keys, "mandate-request", token)


def _address_hash(ctx: ServiceContext, email: str) -> str:
    return keyed_hash(ctx.keys, "request-block", email)


async def _checked(
    ctx: ServiceContext,
    ask: Ask,
    email_field: str,
    *,
    need_customer: bool = False,
    unreadable: Sequence[FieldError] = (),
) -> tuple[mandates.Reviewed, str, str | None]:
    """Every rule at once, like a grant's review, plus the address, the note and the language; with the
    problems a form found before (`unreadable`, such as a date that is not a real day), so that one answer
    names every field."""
    errors: list[FieldError] = list(unreadable)
    if need_customer and not (ask.customer_reference or "").strip():
        errors.append(FieldError("customer_reference", "Give your reference for the customer."))
    email = ""
    try:
        email = holders.normalise_email(ask.email, email_field)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    note = (ask.note or "").strip() or None
    if note and len(note) > NOTE_LENGTH:
        errors.append(FieldError("note", f"Keep the note to {NOTE_LENGTH} characters."))
    if ask.language is not None and ask.language not in LANGUAGES:
        errors.append(FieldError("language", f"Use one of: {', '.join(LANGUAGES)}."))
    try:
        reviewed = await mandates.review(
            ctx,
            Draft(
                organisation=ask.organisation,
                proxy=ask.proxy,
                scope=ask.scope,
                valid_until=ask.valid_until,
                customer_reference=ask.customer_reference,
            ),
        )
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, [*exc.errors, *errors]) from exc
    except (OrganisationNotFound, OrganisationInactive) as exc:
        if errors:  # one answer that names every field
            raise InvalidInput(exc.detail, [FieldError("organisation", exc.detail), *errors]) from exc
        raise
    if errors:
        raise InvalidInput("The request cannot be made as sent.", errors)
    return reviewed, email, note


async def _language(ctx: ServiceContext, email: str, asked: str | None, fallback: str) -> Language:
    """The holder's own choice if the address is a holder, else what the asker says, else `fallback`."""
    known = await holders.find(ctx, email)
    for candidate in (known.language if known else None, asked, fallback):
        if candidate in LANGUAGES:
            return "en" if candidate == "en" else "nl"
    return "nl"


async def _create(
    ctx: ServiceContext,
    reviewed: mandates.Reviewed,
    email: str,
    note: str | None,
    language: Language,
    origin: RequestOrigin,
    actor: str,
    *,
    api_key_id: int | None = None,
    agent: str | None = None,
    client_ip: str | None = None,
) -> RequestView:
    binding = Binding.organisation_confirmed if origin == RequestOrigin.organisation else Binding.unconfirmed
    mandate = await mandates.create_pending(ctx, reviewed, binding)
    token = new_token()
    now = ctx.clock.now()
    request = await MandateRequestRepository(ctx.session).add(
        MandateRequest(
            public_id="mrq_" + secrets.token_urlsafe(18),
            mandate_id=_id(mandate),
            organisation_id=_id(reviewed.organisation),
            origin=origin,
            email=email,
            language=language,
            note=note,
            token_hash=_hash(ctx, token),
            status=RequestStatus.pending,
            api_key_id=api_key_id,
            agent_pseudonym=agent,
            client_ip=client_ip,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    view = RequestView(request, mandate, reviewed.organisation, RequestStatus.pending)
    await _event(ctx, view, "mandate_request.created", actor, {"origin": origin, "agent": agent})
    await notifications.mandate_request(
        ctx,
        mandate,
        reviewed.organisation,
        email,
        language,
        f"{ctx.mailer.base_url}/confirm/{token}",
        origin=origin,
        note=note,
        expires_at=request.expires_at,
    )
    return view


async def request_by_organisation(
    ctx: ServiceContext,
    caller: Caller,
    ask: Ask,
    agent: str | None = None,
    *,
    unreadable: Sequence[FieldError] = (),
) -> RequestView:
    """An organisation registers what its caller claims; the address it has on file must confirm.
    `unreadable`: fields its form could not read (nothing is made when there are any)."""
    caller.require(SCOPE)
    reviewed, email, note = await _checked(
        ctx,
        replace(ask, organisation=caller.organisation.slug),
        "customer_email",
        need_customer=True,
        unreadable=unreadable,
    )
    language = await _language(ctx, email, ask.language, caller.organisation.default_language)
    return await _create(
        ctx,
        reviewed,
        email,
        note,
        language,
        RequestOrigin.organisation,
        f"organisation:{caller.organisation.slug}",
        api_key_id=caller.key.id,
        agent=agent,
    )


async def request_by_proxy(
    ctx: ServiceContext, ask: Ask, client_ip: str, *, unreadable: Sequence[FieldError] = ()
) -> None:
    """The proxy asks the holder, by the holder's address. The answer is the same whoever owns the address:
    over the caps, or blocked by the holder, nothing is sent and nothing is said. `unreadable`: fields the
    form could not read (nothing is sent when there are any)."""
    reviewed, email, note = await _checked(ctx, ask, "holder_email", unreadable=unreadable)
    now = ctx.clock.now()
    repo = MandateRequestRepository(ctx.session)
    if await repo.count_from_ip(client_ip, now - timedelta(hours=1)) >= PROXY_ASKS_PER_IP_PER_HOUR:
        raise RateLimited(
            "Many requests were made from this network in the last hour. Try again later.", 3600
        )
    organisation_id = _id(reviewed.organisation)
    blocks = RequestBlockRepository(ctx.session)
    for address in keyed_hashes(ctx.keys, "request-block", email):  # blocks made before a key rotation too
        if await blocks.blocked(address, organisation_id):
            return
    if await repo.count_open(email, organisation_id, now) >= OPEN_PER_ADDRESS:
        return
    language = await _language(ctx, email, ask.language, "nl")
    await _create(
        ctx, reviewed, email, note, language, RequestOrigin.proxy, "proxy", client_ip=client_ip[:64]
    )


async def for_organisation(ctx: ServiceContext, caller: Caller, public_id: str) -> RequestView:
    """A request of the calling organisation; another organisation's is as unknown as a missing one."""
    caller.require(SCOPE)
    found = await MandateRequestRepository(ctx.session).by_public_id(public_id, _id(caller.organisation))
    if found is None:
        raise RequestNotFound("There is no such mandate request for this organisation.")
    return await _view(ctx, *found)


async def by_id(ctx: ServiceContext, request_id: int) -> RequestView | None:
    found = await MandateRequestRepository(ctx.session).by_id(request_id)
    return await _view(ctx, *found) if found else None


async def by_token(ctx: ServiceContext, token: str) -> RequestView | None:
    """The request behind an e-mailed link, whatever its status; None for a wrong or damaged token."""
    found = await first_found(
        ctx.keys, "mandate-request", token, MandateRequestRepository(ctx.session).by_token_hash
    )
    return await _view(ctx, *found) if found else None


async def waiting_for(ctx: ServiceContext, holder: Holder) -> list[RequestView]:
    """Requests to the holder's address still waiting for an answer: the holder answers from the e-mail
    (only the link's hash is kept, so the pages cannot link to it)."""
    found = await MandateRequestRepository(ctx.session).open_for_address(holder.email, ctx.clock.now())
    return [await _view(ctx, request, mandate) for request, mandate in found]


async def _view(ctx: ServiceContext, request: MandateRequest, mandate: Mandate) -> RequestView:
    organisation = await organisations.by_id(ctx, request.organisation_id)
    return RequestView(request, mandate, organisation, status_at(request, ctx.clock.now()))


async def _open(ctx: ServiceContext, token: str) -> RequestView:
    view = await by_token(ctx, token)
    if view is None:
        raise RequestNotFound("This link is not complete or not right.")
    if view.status != RequestStatus.pending:
        raise RequestAnswered("This request has been answered already or has lapsed.")
    return view


async def confirm(
    ctx: ServiceContext,
    token: str,
    *,
    scope: Sequence[str] | None = None,
    valid_until: datetime | None = None,
    unreadable: Sequence[FieldError] = (),
) -> Confirmed:
    """The holder confirms (perhaps narrower or shorter): the mandate is active and a call code is made.
    `unreadable`: fields the page could not read; nothing is confirmed when there are any, and one answer
    names them with the other problems."""
    view = await _open(ctx, token)
    now = ctx.clock.now()
    try:
        narrowed, end = mandates.narrowing(view.mandate, scope, valid_until, now)  # raises before any write
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, [*exc.errors, *unreadable]) from exc
    if unreadable:
        raise InvalidInput("The answer cannot be read as sent.", list(unreadable))
    if not await MandateRequestRepository(ctx.session).decide(
        _id(view.request), RequestStatus.confirmed, now
    ):
        raise RequestAnswered("This request has been answered already or has lapsed.")
    holder = await holders.get_or_create_verified(ctx, view.request.email, view.request.language)
    mandate = await mandates.activate_pending(ctx, view.mandate, holder, narrowed, end)
    view = RequestView(view.request, mandate, view.organisation, RequestStatus.confirmed)
    await _event(
        ctx, view, "mandate_request.confirmed", f"holder:{holder.id}", {"scope": list(mandate.scope)}
    )
    await _tell(ctx, view, "mandate_request.confirmed", mandate_reference=mandate.reference)
    code = await codes.issue(ctx, mandate, actor=f"holder:{holder.id}")
    return Confirmed(view, holder, code)


def can_block(view: RequestView) -> bool:
    """Whether declining can also stop further requests: only those that proxies make on the web."""
    return view.request.origin == RequestOrigin.proxy


async def decline(
    ctx: ServiceContext, token: str, *, not_me: bool = False, block: bool = False
) -> RequestView:
    """The holder says no; with `not_me`, that they never gave this mandate (the organisation sees it).
    `block` stops further requests by proxies to this address at this organisation."""
    view = await _open(ctx, token)
    now = ctx.clock.now()
    reason = DeclineReason.not_me if not_me else DeclineReason.declined
    repo = MandateRequestRepository(ctx.session)
    if not await repo.decide(_id(view.request), RequestStatus.declined, now, reason):
        raise RequestAnswered("This request has been answered already or has lapsed.")
    known = await holders.find(ctx, view.request.email)
    holder = known if known is not None and known.email_verified_at is not None else None
    await mandates.end_pending(ctx, view.mandate, MandateStatus.declined, holder)
    view = RequestView(view.request, view.mandate, view.organisation, RequestStatus.declined)
    actor = f"holder:{holder.id}" if holder else "mailbox"
    await _event(ctx, view, "mandate_request.declined", actor, {"reason": reason})
    await _tell(ctx, view, "mandate_request.declined", reason=reason.value)
    if block and can_block(view):
        await RequestBlockRepository(ctx.session).block(
            _address_hash(ctx, view.request.email), view.request.organisation_id, now
        )
        await _event(ctx, view, "mandate_request.blocked", actor, {})
    return view


async def lapse_due(ctx: ServiceContext, limit: int = 200) -> int:
    """Mark requests whose 24 hours ended (the worker runs this each round). Their status was `lapsed`
    already when read; this only tidies the stored state and writes the audit event."""
    now = ctx.clock.now()
    due = await MandateRequestRepository(ctx.session).lapsed_unmarked(now, limit)
    for request, mandate in due:
        request.status = RequestStatus.lapsed
        await mandates.end_pending(ctx, mandate, MandateStatus.expired, None)
        organisation = await organisations.by_id(ctx, request.organisation_id)
        view = RequestView(request, mandate, organisation, RequestStatus.lapsed)
        await _event(ctx, view, "mandate_request.lapsed", "registry", {})
        await _tell(ctx, view, "mandate_request.lapsed")
    return len(due)


async def _event(
    ctx: ServiceContext, view: RequestView, kind: str, actor: str, data: dict[str, object]
) -> None:
    await audit.record(
        ctx,
        f"mandate:{view.mandate.reference}",
        kind,
        actor,
        {"request_id": view.request.public_id, "reference": view.mandate.reference, **data},
        organisation_id=view.request.organisation_id,
        holder_id=view.mandate.holder_id,
        mandate_id=view.mandate.id,
    )


async def _tell(ctx: ServiceContext, view: RequestView, event_type: str, **extra: object) -> None:
    """The organisation's webhook: thin, with the request id and its customer reference."""
    await webhooks.emit(
        ctx,
        view.request.organisation_id,
        event_type,
        {
            "request_id": view.request.public_id,
            "customer_reference": view.mandate.customer_reference,
            **extra,
        },
    )


def _id(row: MandateRequest | Mandate | Organisation | Holder) -> int:
    assert row.id is not None, "row must be flushed first"
    return row.id
