"""Which e-mails a change causes, to whom, in which language. They go out through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry.domain.vocabulary import Action, Language, Outcome, Relation
from registry.models import ApiKey, Holder, Mandate, Organisation
from registry.repositories import HolderRepository, OrganisationRepository
from registry.services import ServiceContext


def mandate_context(mandate: Mandate, organisation: Organisation, language: Language) -> dict[str, Any]:
    actions = [Action(item) for item in mandate.scope]
    return {
        "reference": mandate.reference,
        "proxy_name": mandate.proxy_name,
        "relation": Relation(mandate.proxy_relation).label(language),
        "organisation": organisation.display_name,
        "scope": [action.label(language) for action in actions],
        "high_risk": [action.label(language) for action in actions if action.high_risk],
        "valid_from": mandate.valid_from,
        "valid_until": mandate.valid_until,
        "revoked_at": mandate.revoked_at,
    }


def _language(value: str) -> Language:
    return "en" if value == "en" else "nl"


async def _to_holder(
    ctx: ServiceContext,
    template: str,
    mandate: Mandate,
    holder: Holder,
    organisation: Organisation,
    **extra: Any,
) -> None:
    language = _language(holder.language)
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=holder.email,
        language=language,
        template=template,
        context={**mandate_context(mandate, organisation, language), **extra},
    )


async def _to_proxy(
    ctx: ServiceContext, template: str, mandate: Mandate, holder: Holder, organisation: Organisation
) -> None:
    if not mandate.proxy_email:
        return
    # The proxy's language is unknown; the holder's is the best guess (they are often family).
    language = _language(holder.language)
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=mandate.proxy_email,
        language=language,
        template=template,
        context=mandate_context(mandate, organisation, language),
    )


async def mandate_granted(
    ctx: ServiceContext, mandate: Mandate, holder: Holder, organisation: Organisation, revoke_url: str
) -> None:
    await _to_holder(ctx, "mandate_granted", mandate, holder, organisation, revoke_url=revoke_url)
    await _to_proxy(ctx, "mandate_granted_proxy", mandate, holder, organisation)


async def mandate_changed(
    ctx: ServiceContext, mandate: Mandate, holder: Holder, organisation: Organisation
) -> None:
    await _to_holder(ctx, "mandate_changed", mandate, holder, organisation)


async def mandate_expiring(
    ctx: ServiceContext, mandate: Mandate, holder: Holder, organisation: Organisation
) -> None:
    await _to_holder(ctx, "mandate_expiring", mandate, holder, organisation)


async def mandate_revoked(
    ctx: ServiceContext, mandate: Mandate, holder: Holder, organisation: Organisation
) -> None:
    await _to_holder(ctx, "mandate_revoked", mandate, holder, organisation)


async def mandate_locked(ctx: ServiceContext, mandate: Mandate, *, hard: bool) -> None:
    """Tell the holder (and for a hard lock the proxy too) that someone kept giving wrong codes."""
    holder = await HolderRepository(ctx.session).by_id(mandate.holder_id)
    organisation = await OrganisationRepository(ctx.session).by_id(mandate.organisation_id)
    assert holder is not None
    assert organisation is not None
    template = "mandate_hard_locked" if hard else "mandate_locked"
    await _to_holder(ctx, template, mandate, holder, organisation)
    if hard:
        await _to_proxy(ctx, "mandate_hard_locked_proxy", mandate, holder, organisation)


async def key_failures(ctx: ServiceContext, organisation: Organisation, key: ApiKey, failures: int) -> None:
    """Alert the organisation's contact: one of its keys is failing many checks (a script guessing?)."""
    if not organisation.contact_email:
        return
    language = _language(organisation.default_language)
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=organisation.contact_email,
        language=language,
        template="key_failures",
        context={
            "organisation": organisation.display_name,
            "key_name": key.name,
            "key_prefix": key.prefix,
            "failures": failures,
        },
    )


async def checked(
    ctx: ServiceContext,
    mandate: Mandate,
    action: str | None,
    agent: str | None,
    action_permitted: bool | None,
) -> None:
    """Tell the holder that an organisation checked this mandate, when, and what the registry answered:
    the code was right, and the action asked about is allowed or NOT (the registry itself does nothing)."""
    holder = await HolderRepository(ctx.session).by_id(mandate.holder_id)
    organisation = await OrganisationRepository(ctx.session).by_id(mandate.organisation_id)
    assert holder is not None
    assert organisation is not None
    language = _language(holder.language)
    context = {
        **mandate_context(mandate, organisation, language),
        "checked_at": ctx.clock.now(),
        "outcome": Outcome.of("verified", action, action_permitted).value,
        "action": Action(action).label(language) if action else None,
        "agent": agent,
    }
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=holder.email,
        language=language,
        template="mandate_checked",
        context=context,
    )


async def mandate_request(
    ctx: ServiceContext,
    mandate: Mandate,
    organisation: Organisation,
    to: str,
    language: Language,
    link: str,
    *,
    origin: str,
    note: str | None,
    expires_at: datetime,
) -> None:
    """Ask the address to confirm an oral mandate: who asks, where, for what, until when, and what to do
    if it never gave this mandate."""
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=to,
        language=language,
        template="mandate_request",
        context={
            **mandate_context(mandate, organisation, language),
            "link": link,
            "by_organisation": origin == "organisation",
            "customer_reference": mandate.customer_reference,
            "note": note,
            "expires_at": expires_at,
        },
    )


async def webhook_disabled(ctx: ServiceContext, organisation: Organisation, url: str, reason: str) -> None:
    """Tell the organisation's contact that the registry stopped delivering to one of its endpoints."""
    if not organisation.contact_email:
        return
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=organisation.contact_email,
        language=_language(organisation.default_language),
        template="webhook_disabled",
        context={"organisation": organisation.display_name, "url": url, "reason": reason},
    )
