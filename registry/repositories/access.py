"""API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import col, select

from registry.db import rawsql
from registry.models import ApiKey, ApiKeyFailures, Organisation
from registry.repositories.base import Repository

_KEY_COLUMNS = ("id", "organisation_id", "member_id", "name", "prefix", "key_hash", "scopes", "created_at")
_KEY_TIMES = ("last_used_at", "revoked_at")
_ORGANISATION_COLUMNS = ("id", "slug", "display_name", "active", "default_language", "contact_email")
_BY_HASH = rawsql.Statement(
    f"SELECT {', '.join(f'k.{c}' for c in _KEY_COLUMNS + _KEY_TIMES)}, "
    f"{', '.join(f'o.{c}' for c in _ORGANISATION_COLUMNS)}, o.frame_ancestors, o.created_at "
    "FROM api_key k JOIN organisation o ON o.id = k.organisation_id WHERE k.key_hash = :key_hash"
)


class ApiKeyRepository(Repository):
    async def by_hash(self, key_hash: str) -> tuple[ApiKey, Organisation] | None:
        """The key and its organisation, read on every API request: one plain statement, and the two
        objects put in the session as if the ORM had loaded them (its own query costs ten times more)."""
        (result,) = await rawsql.batch(self.session, [(_BY_HASH, {"key_hash": key_hash})])
        row = result.one()
        if row is None:
            return None
        n = len(_KEY_COLUMNS)
        key = dict(zip(_KEY_COLUMNS, row[:n], strict=True))
        key["scopes"] = rawsql.json_of(key["scopes"])
        key["created_at"] = rawsql.time_of(key["created_at"])
        key |= {name: rawsql.time_of(value) for name, value in zip(_KEY_TIMES, row[n : n + 2], strict=True)}
        n += 2
        m = len(_ORGANISATION_COLUMNS)
        organisation = dict(zip(_ORGANISATION_COLUMNS, row[n : n + m], strict=True))
        organisation["active"] = bool(organisation["active"])
        organisation["frame_ancestors"] = rawsql.json_of(row[n + m])
        organisation["created_at"] = rawsql.time_of(row[n + m + 1])
        return (
            rawsql.attach(self.session, ApiKey(**key)),
            rawsql.attach(self.session, Organisation(**organisation)),
        )

    async def of_organisation(self, organisation_id: int) -> Sequence[ApiKey]:
        result = await self.session.execute(
            select(ApiKey)
            .where(ApiKey.organisation_id == organisation_id, col(ApiKey.member_id).is_(None))
            .order_by(col(ApiKey.id))
        )
        return result.scalars().all()

    async def all_of_organisation(self, organisation_id: int) -> Sequence[ApiKey]:
        """Its API keys and its members' console keys."""
        result = await self.session.execute(select(ApiKey).where(ApiKey.organisation_id == organisation_id))
        return result.scalars().all()

    async def by_id(self, key_id: int) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def of_member(self, member_id: int) -> ApiKey | None:
        """The console credential of a member (see ApiKey)."""
        result = await self.session.execute(select(ApiKey).where(ApiKey.member_id == member_id))
        return result.scalar_one_or_none()

    async def touch(self, key_id: int, now: datetime, older_than: datetime) -> None:
        """Record use, at most once a minute per key, so that checks do not all write the key row."""
        await self.session.execute(
            update(ApiKey)
            .where(
                col(ApiKey.id) == key_id,
                or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < older_than),
            )
            .values(last_used_at=now)
        )

    async def forget_failures(self, before: datetime) -> None:
        """Drop the failure buckets of every key that no budget looks at any more (the worker's job)."""
        await self.session.execute(delete(ApiKeyFailures).where(col(ApiKeyFailures.minute) < before))
