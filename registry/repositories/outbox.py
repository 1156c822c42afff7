"""The outbox: claims, renewals and outcomes of deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select

from registry.models import OutboxMessage, WebhookDelivery, WebhookEndpoint
from registry.repositories.base import Repository


class OutboxRepository(Repository):
    """Claims, renewals and outcomes of rows that a worker delivers: e-mails here; webhook deliveries
    (`WebhookDeliveryRepository`) share the same columns and the same rules."""

    model: Any = OutboxMessage

    async def claim_due(self, worker: str, now: datetime, until: datetime, limit: int) -> list[Any]:
        """Claim up to `limit` due messages for `worker`; other workers skip them while the claim holds."""
        due = (
            select(col(self.model.id))
            .where(
                self.model.status == "pending",
                col(self.model.next_attempt_at) <= now,
                or_(col(self.model.claimed_until).is_(None), col(self.model.claimed_until) < now),
            )
            .order_by(col(self.model.next_attempt_at), col(self.model.id))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await self.session.execute(due)).scalars().all())
        if not ids:
            return []
        await self.session.execute(
            update(self.model)
            .where(col(self.model.id).in_(ids))
            .values(claimed_by=worker, claimed_until=until, attempts=self.model.attempts + 1)
        )
        result = await self.session.execute(
            select(self.model)
            .where(col(self.model.id).in_(ids))
            .order_by(col(self.model.id))
            .execution_options(populate_existing=True)
        )
        return list(result.scalars().all())

    async def renew(self, message_id: int, worker: str, now: datetime, until: datetime) -> bool:
        """Extend `worker`'s claim on a message, only while it still holds it."""
        result = await self.session.execute(
            update(self.model)
            .where(
                col(self.model.id) == message_id,
                col(self.model.claimed_by) == worker,
                col(self.model.claimed_until) > now,
            )
            .values(claimed_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def finish(self, message_id: int, worker: str, **values: object) -> bool:
        """Record the outcome of a delivery, only if `worker` still holds the claim."""
        result = await self.session.execute(
            update(self.model)
            .where(and_(col(self.model.id) == message_id, col(self.model.claimed_by) == worker))
            .values(claimed_by=None, claimed_until=None, **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def by_id(self, message_id: int) -> Any:
        return await self.session.get(self.model, message_id)

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many messages wait, and since when the oldest."""
        result = await self.session.execute(
            select(func.count(), func.min(self.model.created_at)).where(self.model.status == "pending")
        )
        count, oldest = result.one()
        return int(count), oldest

    async def count(self, status: str, *, tried: bool = False) -> int:
        """How many messages have `status` (with `tried`: only those tried at least once)."""
        query = select(func.count()).select_from(self.model).where(self.model.status == status)
        if tried:
            query = query.where(col(self.model.attempts) > 0)
        return int((await self.session.execute(query)).scalar_one())


class WebhookDeliveryRepository(OutboxRepository):
    model = WebhookDelivery

    async def endpoints_sealed_not_with(self, key_id: str) -> Sequence[WebhookEndpoint]:
        """Endpoints whose signing secret is sealed with another key than `key_id`."""
        result = await self.session.execute(
            select(WebhookEndpoint).where(col(WebhookEndpoint.secret_encrypted).not_like(f"{key_id}:%"))
        )
        return result.scalars().all()

    async def endpoints_for(self, organisation_id: int) -> Sequence[WebhookEndpoint]:
        result = await self.session.execute(
            select(WebhookEndpoint).where(
                WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.status == "active"
            )
        )
        return result.scalars().all()

    async def endpoint(self, endpoint_id: int) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def endpoint_by_public_id(self, public_id: str, organisation_id: int) -> WebhookEndpoint | None:
        result = await self.session.execute(
            select(WebhookEndpoint).where(
                WebhookEndpoint.public_id == public_id, WebhookEndpoint.organisation_id == organisation_id
            )
        )
        return result.scalar_one_or_none()

    async def endpoints_of(self, organisation_id: int) -> Sequence[WebhookEndpoint]:
        result = await self.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organisation_id == organisation_id)
            .order_by(col(WebhookEndpoint.id))
        )
        return result.scalars().all()

    async def deliveries_of(self, endpoint_id: int, limit: int) -> Sequence[WebhookDelivery]:
        result = await self.session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        )
        return result.scalars().all()

    async def delivery_by_public_id(self, public_id: str, endpoint_id: int) -> WebhookDelivery | None:
        result = await self.session.execute(
            select(WebhookDelivery).where(
                WebhookDelivery.public_id == public_id, WebhookDelivery.endpoint_id == endpoint_id
            )
        )
        return result.scalar_one_or_none()
