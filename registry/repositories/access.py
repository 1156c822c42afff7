"""API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import col, select

from registry.models import ApiKey, ApiKeyFailures, Organisation
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

    async def failures(self, key_id: int, since: datetime) -> list[tuple[datetime, int]]:
        """The key's failures per minute since `since`, oldest first."""
        result = await self.session.execute(
            select(col(ApiKeyFailures.minute), col(ApiKeyFailures.count))
            .where(col(ApiKeyFailures.api_key_id) == key_id, col(ApiKeyFailures.minute) > since)
            .order_by(col(ApiKeyFailures.minute))
        )
        return [(minute, int(count)) for minute, count in result.all()]

    async def give_back_failure(self, key_id: int, minute: datetime) -> None:
        await self.session.execute(
            update(ApiKeyFailures)
            .where(col(ApiKeyFailures.api_key_id) == key_id, col(ApiKeyFailures.minute) == minute)
            .values(count=ApiKeyFailures.count - 1)
        )

    async def count_failure(self, key_id: int, minute: datetime, forget_before: datetime) -> None:
        """Add one failure to the key's bucket for `minute`, and drop buckets older than the budget needs."""
        insert = self.insert(ApiKeyFailures).values(api_key_id=key_id, minute=minute, count=1)
        await self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["api_key_id", "minute"], set_={"count": ApiKeyFailures.count + 1}
            )
        )
        await self.session.execute(
            delete(ApiKeyFailures).where(
                col(ApiKeyFailures.api_key_id) == key_id, col(ApiKeyFailures.minute) < forget_before
            )
        )
