"""What an organisation's admin does in the console: API keys, failure alerts, the organisation's settings.

Every function takes the admin's `Console` and refuses anyone else (403); another organisation's key is
as unknown as a missing one (404).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from registry.errors import ApiKeyNotFound
from registry.models import ApiKey, Organisation
from registry.repositories import ApiKeyRepository, AuditRepository
from registry.services import ServiceContext, api_keys, organisations
from registry.services.members import Console, require_admin
from registry.services.verifications import agent_pseudonym

ALERTS_SHOWN = 50


def _actor(console: Console) -> str:
    return f"member:{console.member.id}"


async def keys(ctx: ServiceContext, console: Console) -> Sequence[ApiKey]:
    require_admin(console)
    assert console.organisation.id is not None
    return await ApiKeyRepository(ctx.session).of_organisation(console.organisation.id)


async def create_key(
    ctx: ServiceContext, console: Console, name: str, scopes: Sequence[str]
) -> tuple[ApiKey, str]:
    """A new key, its secret returned this once; two live keys per name let an integration rotate."""
    require_admin(console)
    return await api_keys.create(ctx, console.organisation.slug, name, scopes, actor=_actor(console))


async def key(ctx: ServiceContext, console: Console, key_id: int) -> ApiKey:
    """One of the organisation's own API keys (never a member's console key)."""
    require_admin(console)
    found = await ApiKeyRepository(ctx.session).by_id(key_id)
    if found is None or (found.organisation_id, found.member_id) != (console.organisation.id, None):
        raise ApiKeyNotFound(f"There is no API key {key_id}.")
    return found


async def revoke_key(ctx: ServiceContext, console: Console, key_id: int) -> ApiKey:
    require_admin(console)
    return await api_keys.revoke(ctx, key_id, organisation_id=console.organisation.id, actor=_actor(console))


@dataclass(frozen=True)
class Alert:
    at: datetime
    key_name: str
    failures: int
    agent: str | None = None  # for a member's console key: the member's pseudonym (`Agent 4F2A`)


async def alerts(ctx: ServiceContext, console: Console) -> list[Alert]:
    """The per-key budget alerts: a key (or an agent's console) with 20 failed checks within an hour."""
    require_admin(console)
    assert console.organisation.id is not None
    events = await AuditRepository(ctx.session).for_organisation(
        console.organisation.id, {"api_key.failure_alert"}, ALERTS_SHOWN
    )
    keys = {k.id: k for k in await ApiKeyRepository(ctx.session).all_of_organisation(console.organisation.id)}
    found = []
    for event in events:
        data = json.loads(event.data)
        key = keys.get(data.get("key_id"))
        agent = None
        if key is not None and key.member_id is not None:
            agent = agent_pseudonym(ctx, console.organisation.id, f"member:{key.member_id}")
        name = key.name if key is not None else "?"
        found.append(Alert(event.occurred_at, name, int(data.get("failures_this_hour", 0)), agent))
    return found


async def update_settings(
    ctx: ServiceContext, console: Console, *, display_name: str, default_language: str, frame_ancestors: str
) -> Organisation:
    require_admin(console)
    return await organisations.update_settings(
        ctx,
        console.organisation,
        display_name=display_name,
        default_language=default_language,
        frame_ancestors=frame_ancestors,
        actor=_actor(console),
    )
