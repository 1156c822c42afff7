"""Mandates: grant, change, revoke, list, and what a mandate is at a given instant.

Expiry and revocation are decided when a mandate is read, from the clock (`effective_status`), so a
mandate stops working at the exact instant it ends on every replica, whether or not a job has run.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from registry.crypto.security import first_found, keyed_hash, new_token
from registry.domain import references
from registry.domain.vocabulary import Action, Basis, Binding, EffectiveStatus, MandateStatus, Relation
from registry.errors import (
    FieldError,
    InvalidInput,
    InvalidScope,
    MandateNotChangeable,
    MandateNotFound,
    OrganisationInactive,
    OrganisationNotFound,
    RegistryError,
)
from registry.models import Holder, Mandate, Organisation, RevokeLink
from registry.repositories import HolderRepository, MandateRepository
from registry.services import ServiceContext, audit, notifications, organisations, validity, webhooks
from registry.services.holders import normalise_email

PHONE_CHARACTERS = set("+0123456789 ()-")


@dataclass(frozen=True)
class Proxy:
    name: str
    relation: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Draft:
    """What a holder (or an organisation's request) asks for; the service decides the rest."""

    organisation: str
    proxy: Proxy
    scope: Sequence[str]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    customer_reference: str | None = None


class Terms(Protocol):
    """What status and binding are decided from: a Mandate, or the hot path's plain row of one."""

    @property
    def status(self) -> str: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime: ...
    @property
    def binding(self) -> str: ...
    @property
    def customer_confirmed_at(self) -> datetime | None: ...


def effective_status(mandate: Terms, at: datetime) -> EffectiveStatus:
    """What `mandate` is at instant `at`. `valid_until` is exclusive: at that instant it has expired."""
    if mandate.status == MandateStatus.revoked:
        return EffectiveStatus.revoked
    if mandate.status in (MandateStatus.declined, MandateStatus.pending):
        return EffectiveStatus(mandate.status)
    if at >= mandate.valid_until or mandate.status == MandateStatus.expired:
        return EffectiveStatus.expired
    if at < mandate.valid_from:
        return EffectiveStatus.scheduled
    return EffectiveStatus.active


def binding_of(mandate: Terms) -> Binding:
    """How the holder is known to be the organisation's customer: the organisation asked the address it
    has on file (an oral mandate), or stated it later through the API; otherwise unconfirmed."""
    if mandate.binding == Binding.organisation_confirmed or mandate.customer_confirmed_at is not None:
        return Binding.organisation_confirmed
    return Binding(mandate.binding)


def normalise_scope(scope: Iterable[str]) -> list[str]:
    """Known actions only, each once, in the vocabulary's order."""
    given = [str(item).strip().lower() for item in scope]
    unknown = sorted({item for item in given if item not in Action.__members__})
    if unknown:
        message = f"Unknown action(s) {', '.join(unknown)}; use: {', '.join(Action)}."
        raise InvalidScope(message, [FieldError("scope", message)])
    if not given:
        raise InvalidScope(
            "Choose at least one action.", [FieldError("scope", "Choose at least one action.")]
        )
    return [action.value for action in Action if action.value in given]


def _proxy_errors(proxy: Proxy) -> list[FieldError]:
    errors = []
    if not 1 <= len(proxy.name.strip()) <= 200:
        errors.append(FieldError("proxy.name", "Give the proxy's name (1 to 200 characters)."))
    if proxy.relation not in Relation.__members__:
        errors.append(FieldError("proxy.relation", f"Use one of: {', '.join(Relation)}."))
    if proxy.phone and (
        not set(proxy.phone) <= PHONE_CHARACTERS or not 6 <= sum(c.isdigit() for c in proxy.phone) <= 15
    ):
        errors.append(
            FieldError("proxy.phone", "Give a phone number of 6 to 15 digits, such as +31 6 1234 5678.")
        )
    return errors


def _clean_proxy(proxy: Proxy) -> Proxy:
    errors = _proxy_errors(proxy)
    email = None
    if proxy.email:
        try:
            email = normalise_email(proxy.email, "proxy.email")
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The proxy is not described correctly.", errors)
    return Proxy(proxy.name.strip(), proxy.relation, email, (proxy.phone or "").strip() or None)


async def _new_reference(repo: MandateRepository) -> str:
    while True:
        reference = references.new_reference()
        if not await repo.reference_taken(reference):
            return reference


@dataclass(frozen=True)
class Reviewed:
    """A draft that passed every rule, with defaults filled in: what the holder confirms."""

    organisation: Organisation
    proxy: Proxy
    scope: list[str]
    valid_from: datetime
    valid_until: datetime
    customer_reference: str | None


async def review(ctx: ServiceContext, draft: Draft) -> Reviewed:
    """Check a draft against every rule at once, without writing anything. One problem raises its own
    error; several raise one InvalidInput that names every field."""
    problems: list[RegistryError] = []

    async def attempt(work: Any) -> Any:
        try:
            result = work()
            return await result if inspect.isawaitable(result) else result
        except (InvalidInput, OrganisationNotFound, OrganisationInactive) as exc:
            problems.append(exc)
            return None

    organisation = await attempt(lambda: _active_organisation(ctx, draft.organisation))
    proxy = await attempt(lambda: _clean_proxy(draft.proxy))
    scope = await attempt(lambda: normalise_scope(draft.scope))
    dates = await attempt(lambda: validity.resolve(ctx.clock.now(), draft.valid_from, draft.valid_until))
    customer_reference = (draft.customer_reference or "").strip() or None
    if customer_reference and len(customer_reference) > 100:
        problems.append(InvalidInput.for_field("customer_reference", "Use at most 100 characters."))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidInput(
            "The mandate cannot be granted as asked.", [e for p in problems for e in _fields(p)]
        )
    return Reviewed(organisation, proxy, scope, dates[0], dates[1], customer_reference)


def _fields(problem: RegistryError) -> list[FieldError]:
    if isinstance(problem, InvalidInput):
        return problem.errors
    return [FieldError("organisation", problem.detail)]


async def _active_organisation(ctx: ServiceContext, slug: str) -> Organisation:
    organisation = await organisations.get(ctx, slug)
    if not organisation.active:
        raise OrganisationInactive(f"{organisation.display_name} does not accept mandates at the moment.")
    return organisation


async def grant(
    ctx: ServiceContext,
    holder: Holder,
    draft: Draft,
    *,
    basis: Basis = Basis.web,
    binding: Binding = Binding.unconfirmed,
    actor: str | None = None,
) -> Mandate:
    """Create an active mandate from `holder` to a proxy at one organisation, with its audit event and
    e-mails."""
    checked = await review(ctx, draft)
    mandate = await _create(ctx, checked, holder, basis, MandateStatus.active, binding)
    await _granted_event(ctx, mandate, actor or f"holder:{holder.id}")
    await webhooks.mandate_event(ctx, mandate, "mandate.activated")
    revoke_url = await _revoke_link(ctx, mandate)
    await notifications.mandate_granted(ctx, mandate, holder, checked.organisation, revoke_url)
    return mandate


async def create_pending(ctx: ServiceContext, checked: Reviewed, binding: Binding) -> Mandate:
    """A mandate asked for orally, waiting for its holder (not known yet) to confirm it by e-mail."""
    return await _create(ctx, checked, None, Basis.oral_confirmed_by_email, MandateStatus.pending, binding)


async def _create(
    ctx: ServiceContext,
    checked: Reviewed,
    holder: Holder | None,
    basis: Basis,
    status: MandateStatus,
    binding: Binding,
) -> Mandate:
    organisation, proxy, scope = checked.organisation, checked.proxy, checked.scope
    start, end, customer_reference = checked.valid_from, checked.valid_until, checked.customer_reference
    now = ctx.clock.now()
    repo = MandateRepository(ctx.session)
    mandate = await repo.add(
        Mandate(
            reference=await _new_reference(repo),
            holder_id=_id(holder) if holder is not None else None,
            organisation_id=_id(organisation),
            customer_reference=customer_reference,
            proxy_name=proxy.name,
            proxy_relation=proxy.relation,
            proxy_email=proxy.email,
            proxy_phone=proxy.phone,
            scope=scope,
            valid_from=start,
            valid_until=end,
            basis=basis,
            status=status,
            binding=binding,
            notify_checks=any(Action(action).high_risk for action in scope),
            created_at=now,
            updated_at=now,
        )
    )
    return mandate


async def _granted_event(ctx: ServiceContext, mandate: Mandate, actor: str) -> None:
    await _audit(
        ctx,
        mandate,
        "mandate.granted",
        actor,
        {
            "scope": list(mandate.scope),
            "valid_from": mandate.valid_from.isoformat(),
            "valid_until": mandate.valid_until.isoformat(),
            "basis": mandate.basis,
            "binding": mandate.binding,
            "relation": mandate.proxy_relation,
        },
    )


def narrowing(
    mandate: Mandate, scope: Sequence[str] | None, valid_until: datetime | None, now: datetime
) -> tuple[list[str], datetime]:
    """What the holder confirms of a pending mandate: what was asked, or less of it, or shorter. Nothing
    can be added; the holder would grant a new mandate for that."""
    errors: list[FieldError] = []
    narrowed = list(mandate.scope)
    if scope is not None:
        try:
            narrowed = normalise_scope(scope)
        except InvalidInput as exc:
            errors.extend(exc.errors)
        if set(narrowed) - set(mandate.scope):
            errors.append(FieldError("scope", "Only what was asked can be confirmed; leave the rest out."))
    end = mandate.valid_until
    try:
        end = validity.to_utc(valid_until, "valid_until") or mandate.valid_until
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if end > mandate.valid_until:
        errors.append(FieldError("valid_until", "The end can be earlier than asked, not later."))
    elif end <= now:
        errors.append(FieldError("valid_until", "The end must be in the future."))
    if errors:
        raise InvalidInput("The mandate cannot be confirmed as given.", errors)
    return narrowed, end


async def activate_pending(
    ctx: ServiceContext, mandate: Mandate, holder: Holder, scope: list[str], valid_until: datetime
) -> Mandate:
    """The holder confirmed an oral mandate (see `narrowing`): it is the holder's and starts now."""
    now = ctx.clock.now()
    assert mandate.status == MandateStatus.pending
    mandate.holder_id, mandate.status = _id(holder), MandateStatus.active
    mandate.scope, mandate.valid_from, mandate.valid_until = scope, now, valid_until
    mandate.notify_checks = any(Action(action).high_risk for action in scope)
    mandate.updated_at = now
    await ctx.session.flush()
    await _granted_event(ctx, mandate, f"holder:{holder.id}")
    await webhooks.mandate_event(ctx, mandate, "mandate.activated")
    organisation = await organisations.by_id(ctx, mandate.organisation_id)
    revoke_url = await _revoke_link(ctx, mandate)
    await notifications.mandate_granted(ctx, mandate, holder, organisation, revoke_url)
    return mandate


async def end_pending(
    ctx: ServiceContext, mandate: Mandate, status: MandateStatus, holder: Holder | None
) -> None:
    """A pending mandate that was declined (`declined`) or never answered (`expired`). A holder who
    declined with a known, proven address sees it among their ended mandates."""
    assert mandate.status == MandateStatus.pending
    if holder is not None:
        mandate.holder_id = _id(holder)
    mandate.status, mandate.updated_at = status, ctx.clock.now()
    await ctx.session.flush()


async def change(
    ctx: ServiceContext,
    holder: Holder,
    reference: str,
    *,
    scope: Sequence[str] | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Mandate:
    """Narrow or widen the scope or move the end of a mandate that has not ended; move its start only
    while it has not started."""
    mandate, organisation = await _own(ctx, holder, reference)
    now = ctx.clock.now()
    status = effective_status(mandate, now)
    if status not in (EffectiveStatus.active, EffectiveStatus.scheduled, EffectiveStatus.pending):
        raise MandateNotChangeable("This mandate has ended; grant a new one instead.")
    before = _dates_and_scope(mandate)
    start = validity.to_utc(valid_from, "valid_from")
    if start is not None and start != mandate.valid_from:
        if status != EffectiveStatus.scheduled:
            raise MandateNotChangeable("This mandate has already started; its start can no longer move.")
        validity.check_start(start, now)
        mandate.valid_from = start
    end = validity.to_utc(valid_until, "valid_until") or mandate.valid_until
    validity.check_end(mandate.valid_from, end, now)
    if end != mandate.valid_until:
        mandate.expiry_notice_at = None  # a new end gets its own reminder
    mandate.valid_until = end
    if scope is not None:
        mandate.scope = normalise_scope(scope)
    after = _dates_and_scope(mandate)
    if after == before:
        return mandate
    mandate.updated_at = now
    await ctx.session.flush()
    await _audit(ctx, mandate, "mandate.changed", f"holder:{holder.id}", {"before": before, "after": after})
    await webhooks.mandate_event(ctx, mandate, "mandate.updated")
    await notifications.mandate_changed(ctx, mandate, holder, organisation)
    return mandate


def _dates_and_scope(mandate: Mandate) -> dict[str, object]:
    return {
        "scope": list(mandate.scope),
        "valid_from": mandate.valid_from.isoformat(),
        "valid_until": mandate.valid_until.isoformat(),
    }


async def _revoke_link(ctx: ServiceContext, mandate: Mandate) -> str:
    """A link for the holder's e-mail that revokes this mandate after one confirmation, without signing in."""
    token = new_token()
    await MandateRepository(ctx.session).add(
        RevokeLink(
            mandate_id=_id(mandate),
            token_hash=keyed_hash(ctx.keys, "revoke", token),
            created_at=ctx.clock.now(),
        )
    )
    return f"{ctx.mailer.base_url}/revoke/{token}"


async def by_revoke_token(ctx: ServiceContext, token: str) -> MandateView | None:
    """The mandate behind an e-mailed revoke link, with its organisation and status."""
    mandate = await first_found(ctx.keys, "revoke", token, MandateRepository(ctx.session).by_revoke_token)
    if mandate is None:
        return None
    organisation = await organisations.by_id(ctx, mandate.organisation_id)
    return MandateView(mandate, organisation, effective_status(mandate, ctx.clock.now()))


async def revoke_by_token(ctx: ServiceContext, token: str) -> MandateView | None:
    view = await by_revoke_token(ctx, token)
    if view is None:
        return None
    holder = await HolderRepository(ctx.session).by_id(view.mandate.holder_id)
    assert holder is not None
    await revoke(ctx, holder, view.mandate.reference, reason="email_link")
    return MandateView(view.mandate, view.organisation, effective_status(view.mandate, ctx.clock.now()))


EXPIRY_NOTICE = timedelta(days=14)


async def remind_expiring(ctx: ServiceContext, limit: int = 200) -> int:
    """Tell holders, once, that a mandate ends within 14 days (the worker runs this every round)."""
    now = ctx.clock.now()
    due = await MandateRepository(ctx.session).expiring_unannounced(now, now + EXPIRY_NOTICE, limit)
    for mandate in due:
        mandate.expiry_notice_at = now
        holder = await HolderRepository(ctx.session).by_id(mandate.holder_id)
        organisation = await organisations.by_id(ctx, mandate.organisation_id)
        assert holder is not None
        await notifications.mandate_expiring(ctx, mandate, holder, organisation)
        await _audit(
            ctx,
            mandate,
            "mandate.expiry_notice",
            "registry",
            {"valid_until": mandate.valid_until.isoformat()},
        )
    return len(due)


async def expire_due(ctx: ServiceContext, limit: int = 200) -> int:
    """Store `expired` on mandates past their end and tell the organisation (`mandate.expired`). They
    stopped working at that instant already (`effective_status`); this job only tells (each round)."""
    due = await MandateRepository(ctx.session).ended_unmarked(ctx.clock.now(), limit)
    for mandate in due:
        mandate.status, mandate.updated_at = MandateStatus.expired, ctx.clock.now()
        await _audit(
            ctx, mandate, "mandate.expired", "registry", {"valid_until": mandate.valid_until.isoformat()}
        )
        await webhooks.mandate_event(ctx, mandate, "mandate.expired")
    return len(due)


async def set_check_notices(ctx: ServiceContext, holder: Holder, reference: str, on: bool) -> Mandate:
    """Whether the holder gets an e-mail after each successful check of this mandate."""
    mandate, _ = await _own(ctx, holder, reference)
    if mandate.notify_checks != on:
        mandate.notify_checks = on
        await ctx.session.flush()
        await _audit(ctx, mandate, "mandate.check_notices", f"holder:{holder.id}", {"on": on})
    return mandate


async def revoke(ctx: ServiceContext, holder: Holder, reference: str, *, reason: str = "holder") -> Mandate:
    """End a mandate at once. Revoking a revoked mandate changes nothing and says nothing."""
    mandate, organisation = await _own(ctx, holder, reference)
    now = ctx.clock.now()
    status = effective_status(mandate, now)
    if status == EffectiveStatus.revoked:
        return mandate
    if status in (EffectiveStatus.expired, EffectiveStatus.declined):
        raise MandateNotChangeable("This mandate has already ended.")
    mandate.status, mandate.revoked_at, mandate.updated_at = MandateStatus.revoked, now, now
    await ctx.session.flush()
    await _audit(
        ctx, mandate, "mandate.revoked", f"holder:{holder.id}", {"reason": reason, "was": status.value}
    )
    await webhooks.mandate_event(ctx, mandate, "mandate.revoked")
    await notifications.mandate_revoked(ctx, mandate, holder, organisation)
    return mandate


@dataclass(frozen=True)
class MandateView:
    mandate: Mandate
    organisation: Organisation
    status: EffectiveStatus


async def list_for_holder(ctx: ServiceContext, holder: Holder) -> list[MandateView]:
    """Every mandate of `holder`, newest first, each with its status at this instant."""
    now = ctx.clock.now()
    rows = await MandateRepository(ctx.session).for_holder(_id(holder))
    return [
        MandateView(mandate, organisation, effective_status(mandate, now)) for mandate, organisation in rows
    ]


async def get_for_holder(ctx: ServiceContext, holder: Holder, reference: str) -> MandateView:
    mandate, organisation = await _own(ctx, holder, reference)
    return MandateView(mandate, organisation, effective_status(mandate, ctx.clock.now()))


async def by_reference(ctx: ServiceContext, reference: str) -> Mandate:
    """Any mandate by its reference: for the operator's CLI, never for organisations or holders."""
    canonical = references.parse_reference(reference)
    mandate = await MandateRepository(ctx.session).by_reference(canonical)
    if mandate is None:
        raise MandateNotFound(f"There is no mandate {canonical}.")
    return mandate


async def _own(ctx: ServiceContext, holder: Holder, reference: str) -> tuple[Mandate, Organisation]:
    """The holder's own mandate; another holder's mandate is as unknown as a missing one."""
    canonical = references.parse_reference(reference)
    mandate = await MandateRepository(ctx.session).by_reference(canonical)
    if mandate is None or mandate.holder_id != holder.id:
        raise MandateNotFound(f"You have no mandate {canonical}.")
    organisation = await organisations.by_id(ctx, mandate.organisation_id)
    return mandate, organisation


def _id(row: Holder | Mandate | Organisation) -> int:
    assert row.id is not None, "row must be flushed first"
    return row.id


async def _audit(
    ctx: ServiceContext, mandate: Mandate, kind: str, actor: str, data: dict[str, object]
) -> None:
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        kind,
        actor,
        {"reference": mandate.reference, **data},
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )
