"""What an organisation's admin does in the console: API keys, failure alerts, the organisation's settings.

Every function takes the admin's `Console` and refuses anyone else (403); another organisation's key is
as unknown as a missing one (404).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from registry.models import ApiKey, Organisation
from registry.repositories import ApiKeyRepository, AuditRepository
from registry.services import ServiceContext, api_keys, organisations
from registry.services.members import Console, require_admin

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


async def revoke_key(ctx: ServiceContext, console: Console, key_id: int) -> ApiKey:
    require_admin(console)
    return await api_keys.revoke(ctx, key_id, organisation_id=console.organisation.id, actor=_actor(console))


@dataclass(frozen=True)
class Alert:
    at: datetime
    key_name: str
    failures: int


async def alerts(ctx: ServiceContext, console: Console) -> list[Alert]:
    """The per-key budget alerts: a key (or an agent's console) with 20 failed checks within an hour."""
    require_admin(console)
    assert console.organisation.id is not None
    events = await AuditRepository(ctx.session).for_organisation(
        console.organisation.id, {"api_key.failure_alert"}, ALERTS_SHOWN
    )
    names = {
        k.id: k.name for k in await ApiKeyRepository(ctx.session).all_of_organisation(console.organisation.id)
    }
    found = []
    for event in events:
        data = json.loads(event.data)
        found.append(
            Alert(
                event.occurred_at, names.get(data.get("key_id"), "?"), int(data.get("failures_this_hour", 0))
            )
        )
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
