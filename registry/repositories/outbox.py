"""The outbox: claims, renewals and outcomes of deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select

from registry.models import OutboxMessage
from registry.repositories.base import Repository


class OutboxRepository(Repository):
    async def claim_due(self, worker: str, now: datetime, until: datetime, limit: int) -> list[OutboxMessage]:
        """Claim up to `limit` due messages for `worker`; other workers skip them while the claim holds."""
        due = (
            select(col(OutboxMessage.id))
            .where(
                OutboxMessage.status == "pending",
                col(OutboxMessage.next_attempt_at) <= now,
                or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now),
            )
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await self.session.execute(due)).scalars().all())
        if not ids:
            return []
        await self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .values(claimed_by=worker, claimed_until=until, attempts=OutboxMessage.attempts + 1)
        )
        result = await self.session.execute(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .order_by(col(OutboxMessage.id))
            .execution_options(populate_existing=True)
        )
        return list(result.scalars().all())

    async def renew(self, message_id: int, worker: str, now: datetime, until: datetime) -> bool:
        """Extend `worker`'s claim on a message, only while it still holds it."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.claimed_by) == worker,
                col(OutboxMessage.claimed_until) > now,
            )
            .values(claimed_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish(self, message_id: int, worker: str, **values: object) -> bool:
        """Record the outcome of a delivery, only if `worker` still holds the claim."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(and_(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by) == worker))
            .values(claimed_by=None, claimed_until=None, **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_id(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait, and since when the oldest."""
        result = await self.session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
        )
        count, oldest = result.one()
        return int(count), oldest
