"""A holder's own account: everything we keep about them, and deleting it."""

from __future__ import annotations

import json
from typing import Any

from registry.domain.vocabulary import EffectiveStatus
from registry.models import Holder
from registry.repositories import AuditRepository, MandateRepository, MandateRequestRepository
from registry.services import ServiceContext, audit, mandates, sign_in

EVERYTHING = 10_000


async def export(ctx: ServiceContext, holder: Holder) -> dict[str, Any]:
    """All data about the holder: account, mandates and the activity of those mandates."""
    now = ctx.clock.now()
    rows = await MandateRepository(ctx.session).for_holder(holder.id or 0)
    events = await AuditRepository(ctx.session).for_holder(holder.id or 0, _kinds(), None, EVERYTHING)
    return {
        "account": {
            "email": holder.email,
            "language": holder.language,
            "created_at": holder.created_at.isoformat(),
        },
        "mandates": [
            {
                "reference": m.reference,
                "organisation": o.display_name,
                "customer_reference": m.customer_reference,
                "proxy": {
                    "name": m.proxy_name,
                    "relation": m.proxy_relation,
                    "email": m.proxy_email,
                    "phone": m.proxy_phone,
                },
                "scope": list(m.scope),
                "valid_from": m.valid_from.isoformat(),
                "valid_until": m.valid_until.isoformat(),
                "basis": m.basis,
                "status": mandates.effective_status(m, now).value,
            }
            for m, o in rows
        ],
        "activity": [
            {
                "at": e.occurred_at.isoformat(),
                "what": e.kind,
                "mandate": m.reference if m else None,
                "organisation": o.display_name if o else None,
                "details": _public(json.loads(e.data)),
            }
            for e, m, o in events
        ],
    }


def _kinds() -> set[str]:
    from registry.services.activity import SHOWN

    return SHOWN | {"holder.created", "holder.signed_in", "holder.signed_out_everywhere"}


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in data.items()
        if k in ("action", "agent", "scope", "valid_until", "reason", "evaluated")
    }


async def delete(ctx: ServiceContext, holder: Holder) -> None:
    """Revoke every mandate that still works, end every session, and forget the e-mail address. Checks
    already made stay as the organisations' evidence, no longer tied to an address."""
    for view in await mandates.list_for_holder(ctx, holder):
        if view.status in (EffectiveStatus.active, EffectiveStatus.scheduled, EffectiveStatus.pending):
            await mandates.revoke(ctx, holder, view.mandate.reference, reason="account_deleted")
    await sign_in.sign_out_everywhere(ctx, holder)
    holder.email = f"deleted-{holder.id}@deleted.invalid"
    holder.email_verified_at = None
    await MandateRequestRepository(ctx.session).forget_address(holder.id or 0, holder.email)
    await ctx.session.flush()
    await audit.record(
        ctx, f"holder:{holder.id}", "holder.deleted", f"holder:{holder.id}", holder_id=holder.id
    )
