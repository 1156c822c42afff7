"""What happened to a holder's mandates: every check (who, when, for what, with what result), every
lock and every change, newest first. Agents appear only by pseudonym."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from registry.models import Holder
from registry.repositories import AuditRepository
from registry.services import ServiceContext

PAGE = 25
SHOWN = {
    "mandate.granted",
    "mandate.changed",
    "mandate.revoked",
    "call_code.issued",
    "authenticator.invited",
    "authenticator.activated",
    "verification.succeeded",
    "verification.failed",
    "verification.locked",
    "verification.hard_locked",
    "verification.unlocked",
    "mandate_request.created",
    "mandate_request.confirmed",
    "mandate_request.declined",
    "mandate_request.blocked",
    "mandate_request.lapsed",
}


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    kind: str
    mandate_reference: str | None
    proxy_name: str | None
    organisation: str | None
    agent: str | None
    action: str | None
    origin: str | None = None  # who asked, for an oral-mandate request: organisation or proxy


async def for_holder(
    ctx: ServiceContext, holder: Holder, before: int | None = None
) -> tuple[list[Entry], int | None]:
    """One page of the holder's activity, and the id to continue before (None on the last page)."""
    rows = await AuditRepository(ctx.session).for_holder(holder.id or 0, SHOWN, before, PAGE + 1)
    entries = []
    for event, mandate, organisation in rows[:PAGE]:
        data = json.loads(event.data)
        entries.append(
            Entry(
                id=event.id or 0,
                at=event.occurred_at,
                kind=event.kind,
                mandate_reference=mandate.reference if mandate else None,
                proxy_name=mandate.proxy_name if mandate else None,
                organisation=organisation.display_name if organisation else None,
                agent=data.get("agent"),
                action=data.get("action"),
                origin=data.get("origin"),
            )
        )
    return entries, (entries[-1].id if len(rows) > PAGE else None)
