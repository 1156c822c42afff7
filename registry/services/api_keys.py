"""API keys of organisations: made once and shown once, kept as a keyed hash, scoped, revocable."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm.attributes import set_committed_value

from registry.crypto.security import first_found, keyed_hash
from registry.errors import ApiKeyNotFound, Conflict, FieldError, InvalidInput, NotAuthenticated, NotPermitted
from registry.models import ApiKey, Organisation
from registry.repositories import ApiKeyRepository
from registry.services import ServiceContext, audit, organisations

KEY_PREFIX = "mrk_"
PREFIX_SHOWN = 12
SCOPES = {
    "verify": "check codes (POST /v1/verifications) and read receipts",
    "mandates:read": "look up the organisation's mandates",
    "mandates:write": "state (or withdraw) that a mandate's holder is the organisation's customer",
    "mandate_requests:write": "register oral mandates for holders to confirm",
    "webhooks:manage": "manage webhook endpoints, see and replay their deliveries",
}
ACTIVE_PER_NAME = 2  # two live keys per integration, so one can replace the other without a gap
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the key and its organisation."""

    key: ApiKey
    organisation: Organisation

    def require(self, scope: str) -> None:
        if scope not in self.key.scopes:
            raise NotPermitted(f"This API key lacks the scope {scope!r}.")


def _hash(ctx: ServiceContext, key: str) -> str:
    return keyed_hash(ctx.keys, "api-key", key)


async def create(
    ctx: ServiceContext, organisation_slug: str, name: str, scopes: Sequence[str], actor: str = "operator"
) -> tuple[ApiKey, str]:
    """Make a key; the secret is returned this once and never stored."""
    organisation = await organisations.get(ctx, organisation_slug)
    unknown = sorted(set(scopes) - SCOPES.keys())
    errors = []
    if unknown or not scopes:
        errors.append(FieldError("scopes", f"Use one or more of: {', '.join(SCOPES)}."))
    if not 1 <= len(name.strip()) <= 100:
        errors.append(FieldError("name", "Name the integration in 1 to 100 characters, such as 'Zendesk'."))
    if errors:
        raise InvalidInput("The API key cannot be made as asked.", errors)
    repo = ApiKeyRepository(ctx.session)
    live = [
        k
        for k in await repo.of_organisation(_id(organisation))
        if k.name == name.strip() and not k.revoked_at
    ]
    if len(live) >= ACTIVE_PER_NAME:
        raise Conflict(f"{name!r} already has {ACTIVE_PER_NAME} active keys: revoke the older one first.")
    secret = KEY_PREFIX + secrets.token_urlsafe(24)  # 192 random bits
    key = await repo.add(
        ApiKey(
            organisation_id=_id(organisation),
            name=name.strip(),
            prefix=secret[:PREFIX_SHOWN],
            key_hash=_hash(ctx, secret),
            scopes=sorted(set(scopes)),
            created_at=ctx.clock.now(),
        )
    )
    await audit.record(
        ctx,
        f"organisation:{organisation.slug}",
        "api_key.created",
        actor,
        {"key_id": key.id, "prefix": key.prefix, "scopes": key.scopes},
        organisation_id=organisation.id,
    )
    return key, secret


async def list_for(ctx: ServiceContext, organisation_slug: str) -> Sequence[ApiKey]:
    organisation = await organisations.get(ctx, organisation_slug)
    return await ApiKeyRepository(ctx.session).of_organisation(_id(organisation))


async def revoke(
    ctx: ServiceContext, key_id: int, *, organisation_id: int | None = None, actor: str = "operator"
) -> ApiKey:
    """Stop a key at once. With `organisation_id`, only that organisation's own API keys are found."""
    key = await ApiKeyRepository(ctx.session).by_id(key_id)
    if key is None or (
        organisation_id is not None and (key.organisation_id, key.member_id) != (organisation_id, None)
    ):
        raise ApiKeyNotFound(f"There is no API key {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = ctx.clock.now()
        organisation = await organisations.by_id(ctx, key.organisation_id)
        await audit.record(
            ctx,
            f"organisation:{organisation.slug}",
            "api_key.revoked",
            actor,
            {"key_id": key.id, "prefix": key.prefix},
            organisation_id=organisation.id,
        )
    return key


async def authenticate(ctx: ServiceContext, secret: str | None) -> Caller:
    """The caller behind a bearer key; missing, unknown, revoked or inactive all read the same."""
    if not secret or not secret.startswith(KEY_PREFIX):
        raise NotAuthenticated("Send an API key as `Authorization: Bearer <key>`.")
    found = await first_found(ctx.keys, "api-key", secret, ApiKeyRepository(ctx.session).by_hash)
    if found is None or found[0].revoked_at is not None or not found[1].active:
        raise NotAuthenticated("This API key is not valid (any more).")
    key, organisation = found
    current = _hash(ctx, secret)
    if key.key_hash != current:  # found with a previous HMAC key: hashed anew, so it outlives that key
        key.key_hash = current
    return Caller(key, organisation)


def due_for_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a request should note the key's use now (at most once a minute)."""
    return last_used_at is None or last_used_at < now - TOUCH_EVERY


async def note_use(ctx: ServiceContext, caller: Caller) -> None:
    """Count an authenticated call as the key's use: one statement at most once a minute per key, none
    in between (the key row read to authenticate says when it was last noted)."""
    now = ctx.clock.now()
    if due_for_touch(caller.key.last_used_at, now):
        await ApiKeyRepository(ctx.session).touch(_id(caller.key), now, now - TOUCH_EVERY)
        set_committed_value(caller.key, "last_used_at", now)


async def record_use(ctx: ServiceContext, caller: Caller) -> None:
    """Note when a key was last used, at most once a minute. A check calls it after its guard rows and
    before its audit heads: every check locks rows in that one order, so none deadlock."""
    now = ctx.clock.now()
    await ApiKeyRepository(ctx.session).touch(_id(caller.key), now, now - TOUCH_EVERY)


def _id(row: ApiKey | Organisation) -> int:
    assert row.id is not None
    return row.id
