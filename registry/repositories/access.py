"""API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, or_, update
from sqlmodel import col, select

from registry.models import ApiKey, Organisation
from registry.repositories.base import Repository


class ApiKeyRepository(Repository):
    async def by_hash(self, key_hash: str) -> tuple[ApiKey, Organisation] | None:
        result = await self.session.execute(
            select(ApiKey, Organisation)
            .join(Organisation, col(Organisation.id) == col(ApiKey.organisation_id))
            .where(ApiKey.key_hash == key_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def of_organisation(self, organisation_id: int) -> Sequence[ApiKey]:
        result = await self.session.execute(
            select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(col(ApiKey.id))
        )
        return result.scalars().all()

    async def by_id(self, key_id: int) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

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

    async def failures(self, key_id: int) -> tuple[datetime | None, int]:
        """The key's failure window and count as stored now."""
        result = await self.session.execute(
            select(col(ApiKey.failure_window), col(ApiKey.failure_count)).where(col(ApiKey.id) == key_id)
        )
        window, count = result.one()
        return window, int(count)

    async def count_failure(self, key_id: int, window: datetime) -> int:
        """Add one failure to the key's count for `window` (a clock hour); return the new count."""
        same = col(ApiKey.failure_window) == window
        result = await self.session.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == key_id)
            .values(
                failure_count=case((same, col(ApiKey.failure_count) + 1), else_=1),
                failure_window=window,
            )
            .returning(col(ApiKey.failure_count))
        )
        return int(result.scalar_one())
