"""What an organisation's CRM may look up: its own mandates, with only what a verification answer holds
(never the holder's personal data), and its statement that a mandate's holder is its customer."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from registry.domain import references
from registry.domain.vocabulary import Binding, EffectiveStatus
from registry.errors import Conflict, InvalidInput, MandateNotFound
from registry.models import Mandate
from registry.repositories import MandateRepository
from registry.services import ServiceContext, audit, webhooks
from registry.services.api_keys import Caller
from registry.services.mandates import effective_status

LISTED = (EffectiveStatus.active, EffectiveStatus.scheduled, EffectiveStatus.expired, EffectiveStatus.revoked)
DEFAULT_LIMIT, MAX_LIMIT = 25, 100


@dataclass(frozen=True)
class Page:
    items: list[Mandate]
    next_cursor: str | None


def _cursor(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _after(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput.for_field(
            "cursor", "Use the next_cursor of an earlier answer, unchanged."
        ) from exc
    if not isinstance(after, int) or after < 0:
        raise InvalidInput.for_field("cursor", "Use the next_cursor of an earlier answer, unchanged.")
    return after


async def list_mandates(
    ctx: ServiceContext,
    caller: Caller,
    *,
    customer_reference: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    caller.require("mandates:read")
    if status is not None and status not in {s.value for s in LISTED}:
        raise InvalidInput.for_field("status", f"Use one of: {', '.join(s.value for s in LISTED)}.")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.for_field("limit", f"Use 1 to {MAX_LIMIT}.")
    assert caller.organisation.id is not None
    rows = await MandateRepository(ctx.session).of_organisation(
        caller.organisation.id,
        status=status,
        now=ctx.clock.now(),
        customer_reference=(customer_reference or "").strip() or None,
        after=_after(cursor),
        limit=limit + 1,
    )
    items = list(rows[:limit])
    return Page(items, _cursor(items[-1].id or 0) if len(rows) > limit else None)


async def get_mandate(ctx: ServiceContext, caller: Caller, reference: str) -> Mandate:
    """One of the organisation's mandates; another organisation's, or one not confirmed yet, is 404."""
    caller.require("mandates:read")
    return await _own(ctx, caller, reference)


async def _own(ctx: ServiceContext, caller: Caller, reference: str) -> Mandate:
    canonical = references.parse_reference(reference)
    mandate = await MandateRepository(ctx.session).by_reference(canonical)
    if (
        mandate is None
        or mandate.organisation_id != caller.organisation.id
        or effective_status(mandate, ctx.clock.now()) not in LISTED
    ):
        raise MandateNotFound(f"Your organisation has no mandate {canonical}.")
    return mandate


async def confirm_customer(ctx: ServiceContext, caller: Caller, reference: str) -> Mandate:
    """The organisation states, after its own check, that the holder is its customer: checks answer
    binding `organisation_confirmed` from now on."""
    caller.require("mandates:write")
    mandate = await _own(ctx, caller, reference)
    if mandate.customer_confirmed_at is None:
        mandate.customer_confirmed_at = ctx.clock.now()
        await ctx.session.flush()
        await _event(ctx, caller, mandate, "mandate.customer_confirmed")
        await webhooks.mandate_event(ctx, mandate, "mandate.updated")
    return mandate


async def withdraw_customer(ctx: ServiceContext, caller: Caller, reference: str) -> Mandate:
    caller.require("mandates:write")
    mandate = await _own(ctx, caller, reference)
    if mandate.binding == Binding.organisation_confirmed:
        raise Conflict(
            "This mandate came from your own oral-mandate request to the address on file; that confirmation "
            "cannot be withdrawn. Revoking is for the holder."
        )
    if mandate.customer_confirmed_at is not None:
        mandate.customer_confirmed_at = None
        await ctx.session.flush()
        await _event(ctx, caller, mandate, "mandate.customer_confirmation_withdrawn")
        await webhooks.mandate_event(ctx, mandate, "mandate.updated")
    return mandate


async def _event(ctx: ServiceContext, caller: Caller, mandate: Mandate, kind: str) -> None:
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        kind,
        f"organisation:{caller.organisation.slug}",
        {"key_id": caller.key.id},
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )
