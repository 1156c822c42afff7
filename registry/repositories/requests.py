"""Oral-mandate requests, the holders' blocks on them, and the API's idempotency keys."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from registry.models import IdempotencyRecord, Mandate, MandateRequest, RequestBlock
from registry.repositories.base import Repository


class MandateRequestRepository(Repository):
    async def by_token_hash(self, token_hash: str) -> tuple[MandateRequest, Mandate] | None:
        result = await self.session.execute(
            select(MandateRequest, Mandate)
            .join(Mandate, col(Mandate.id) == col(MandateRequest.mandate_id))
            .where(MandateRequest.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def by_public_id(
        self, public_id: str, organisation_id: int
    ) -> tuple[MandateRequest, Mandate] | None:
        result = await self.session.execute(
            select(MandateRequest, Mandate)
            .join(Mandate, col(Mandate.id) == col(MandateRequest.mandate_id))
            .where(MandateRequest.public_id == public_id, MandateRequest.organisation_id == organisation_id)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def decide(self, request_id: int, status: str, now: datetime, reason: str | None = None) -> bool:
        """Move a pending request that has not lapsed to `status`; the row count lets one answer win."""
        result = await self.session.execute(
            update(MandateRequest)
            .where(
                col(MandateRequest.id) == request_id,
                col(MandateRequest.status) == "pending",
                col(MandateRequest.expires_at) > now,
            )
            .values(status=status, decided_at=now, decline_reason=reason)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def count_open(self, email: str, organisation_id: int, now: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(MandateRequest)
            .where(
                MandateRequest.email == email,
                MandateRequest.organisation_id == organisation_id,
                MandateRequest.status == "pending",
                col(MandateRequest.expires_at) > now,
            )
        )
        return int(result.scalar_one())

    async def count_from_ip(self, client_ip: str, since: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(MandateRequest)
            .where(MandateRequest.client_ip == client_ip, col(MandateRequest.created_at) > since)
        )
        return int(result.scalar_one())

    async def lapsed_unmarked(self, now: datetime, limit: int) -> Sequence[tuple[MandateRequest, Mandate]]:
        """Pending requests past their 24 hours that the tidying job has not marked yet."""
        query = (
            select(MandateRequest, Mandate)
            .join(Mandate, col(Mandate.id) == col(MandateRequest.mandate_id))
            .where(MandateRequest.status == "pending", col(MandateRequest.expires_at) <= now)
            .order_by(col(MandateRequest.expires_at))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def status_of(self, request_id: int) -> tuple[str, datetime] | None:
        """The stored status and the lapse time: what a live status stream reads again and again."""
        result = await self.session.execute(
            select(MandateRequest.status, MandateRequest.expires_at).where(
                col(MandateRequest.id) == request_id
            )
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def forget_address(self, holder_id: int, placeholder: str) -> None:
        """A deleted account's address leaves the requests that were made to it."""
        await self.session.execute(
            update(MandateRequest)
            .where(
                col(MandateRequest.mandate_id).in_(
                    select(col(Mandate.id)).where(col(Mandate.holder_id) == holder_id)
                )
            )
            .values(email=placeholder)
        )

    async def by_id(self, request_id: int) -> tuple[MandateRequest, Mandate] | None:
        result = await self.session.execute(
            select(MandateRequest, Mandate)
            .join(Mandate, col(Mandate.id) == col(MandateRequest.mandate_id))
            .where(col(MandateRequest.id) == request_id)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def open_for_address(self, email: str, now: datetime) -> Sequence[tuple[MandateRequest, Mandate]]:
        """Requests to this address still waiting for an answer, newest first (the holder's overview)."""
        result = await self.session.execute(
            select(MandateRequest, Mandate)
            .join(Mandate, col(Mandate.id) == col(MandateRequest.mandate_id))
            .where(
                MandateRequest.email == email,
                MandateRequest.status == "pending",
                col(MandateRequest.expires_at) > now,
            )
            .order_by(col(MandateRequest.id).desc())
        )
        return [(row[0], row[1]) for row in result.all()]


class RequestBlockRepository(Repository):
    async def blocked(self, email_hash: str, organisation_id: int) -> bool:
        result = await self.session.execute(
            select(col(RequestBlock.id)).where(
                RequestBlock.email_hash == email_hash, RequestBlock.organisation_id == organisation_id
            )
        )
        return result.first() is not None

    async def block(self, email_hash: str, organisation_id: int, now: datetime) -> None:
        await self.session.execute(
            self.insert(RequestBlock)
            .values(email_hash=email_hash, organisation_id=organisation_id, created_at=now)
            .on_conflict_do_nothing()
        )


class IdempotencyRepository(Repository):
    async def hold(self, organisation_id: int, key: str) -> bool:
        """Hold the key until this transaction ends; False when another transaction holds it now.
        SQLite runs one writing transaction at a time, so there the key is always free."""
        if self.dialect != "postgresql":
            return True
        digest = hashlib.sha256(f"{organisation_id}:{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        result = await self.session.execute(select(func.pg_try_advisory_xact_lock(lock_id)))
        return bool(result.scalar_one())

    async def get(self, organisation_id: int, key: str) -> IdempotencyRecord | None:
        result = await self.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key
            )
        )
        return result.scalar_one_or_none()

    async def forget_before(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
