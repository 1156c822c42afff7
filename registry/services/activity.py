"""What happened to a holder's mandates: every check (who, when, for what, with what result), every
lock and every change, newest first. Agents appear only by pseudonym."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from registry.domain.vocabulary import Outcome
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
CHECKS = ("verification.succeeded", "verification.failed")


class Actor(StrEnum):
    """Who did what a row shows, as the audit event's actor says it."""

    you = "you"  # the holder (also from the link in an e-mail to their address)
    organisation = "organisation"  # the organisation, by API or console; with the agent's pseudonym
    proxy = "proxy"  # the person the mandate is for (setting up an app, asking on this website)
    registry = "registry"  # the registry itself (locks, lapses) or its operator


def actor_of(actor: str, data: dict[str, Any]) -> Actor:
    if actor.startswith("organisation:"):
        return Actor.organisation
    if actor == "proxy":
        return Actor.proxy
    if actor.startswith("holder") or actor == "mailbox" or str(data.get("by", "")).startswith("holder:"):
        return Actor.you  # an unlock is the registry's event, done for the holder (`by`)
    return Actor.registry


def outcome_of(kind: str, data: dict[str, Any]) -> Outcome | None:
    """What a check answered; None for other rows, and for a right code whose event predates the
    recording of `action_permitted` while an action was asked (the page then names it neutrally)."""
    if kind not in CHECKS:
        return None
    action = data.get("action")
    if kind == "verification.succeeded" and action is not None and "action_permitted" not in data:
        return None
    return Outcome.of(
        "verified" if kind == "verification.succeeded" else "not_verified",
        action,
        data.get("action_permitted"),
    )


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
    by: Actor = Actor.registry
    outcome: Outcome | None = None
    evaluated: bool = True  # a failed check: whether the code was looked at (not when blocked or ended)


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
                by=actor_of(event.actor, data),
                outcome=outcome_of(event.kind, data),
                evaluated=data.get("evaluated", True),
            )
        )
    return entries, (entries[-1].id if len(rows) > PAGE else None)
