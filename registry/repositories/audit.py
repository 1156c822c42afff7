"""The audit chains, their heads and the seal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select

from registry.models import AuditEvent, AuditHead, AuditSeal, Mandate, Organisation
from registry.repositories.base import Repository

GENESIS = "0" * 64
SEAL_CHAIN = "seal"  # the seal chain's head lives among the heads; no subject chain has this name


class AuditRepository(Repository):
    async def lock_head(self, chain: str, now: datetime) -> AuditHead:
        """The head row of `chain`, created if new and locked until the transaction ends."""
        values = {"chain": chain, "count": 0, "head_hash": GENESIS, "updated_at": now}
        await self.session.execute(self.insert(AuditHead).values(**values).on_conflict_do_nothing())
        result = await self.session.execute(
            select(AuditHead)
            .where(AuditHead.chain == chain)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def stream_events(self, batch: int = 1000) -> AsyncIterator[AuditEvent]:
        result = await self.session.stream_scalars(
            select(AuditEvent)
            .order_by(col(AuditEvent.chain), col(AuditEvent.seq))
            .execution_options(yield_per=batch)
        )
        async for event in result:
            yield event

    async def heads(self) -> dict[str, AuditHead]:
        """Every head by chain name; the seal chain's head among them under SEAL_CHAIN."""
        result = await self.session.execute(select(AuditHead))
        return {head.chain: head for head in result.scalars().all()}

    async def lock_seal_head(self, now: datetime) -> AuditHead:
        """The seal chain's head, locked: one sealer at a time, and no request ever waits for it."""
        return await self.lock_head(SEAL_CHAIN, now)

    async def unsealed(self, since: datetime | None, limit: int) -> Sequence[AuditEvent]:
        """Events without a seal, oldest id first, looking back no further than `since` (when given)."""
        query = (
            select(AuditEvent)
            .outerjoin(AuditSeal, col(AuditSeal.event_id) == col(AuditEvent.id))
            .where(col(AuditSeal.seq).is_(None))
        )
        if since is not None:
            query = query.where(col(AuditEvent.occurred_at) >= since)
        result = await self.session.execute(query.order_by(col(AuditEvent.id)).limit(limit))
        return result.scalars().all()

    async def count_unsealed(self) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .outerjoin(AuditSeal, col(AuditSeal.event_id) == col(AuditEvent.id))
            .where(col(AuditSeal.seq).is_(None))
        )
        return int(result.scalar_one())

    async def stream_seals(self, batch: int = 1000) -> AsyncIterator[tuple[AuditSeal, str | None]]:
        """Every seal in order, with the current hash of the event it seals (None when it is gone)."""
        result = await self.session.stream(
            select(AuditSeal, col(AuditEvent.hash))
            .outerjoin(AuditEvent, col(AuditEvent.id) == col(AuditSeal.event_id))
            .order_by(col(AuditSeal.seq))
            .execution_options(yield_per=batch)
        )
        async for seal, event_hash in result:
            yield seal, event_hash

    async def for_mandate(self, mandate_id: int) -> Sequence[AuditEvent]:
        result = await self.session.execute(
            select(AuditEvent).where(AuditEvent.mandate_id == mandate_id).order_by(col(AuditEvent.seq))
        )
        return result.scalars().all()

    async def for_organisation(
        self, organisation_id: int, kinds: Collection[str], limit: int
    ) -> Sequence[AuditEvent]:
        """The organisation's own events of these kinds (its chain), newest first."""
        result = await self.session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.organisation_id) == organisation_id, col(AuditEvent.kind).in_(kinds))
            .order_by(col(AuditEvent.id).desc())
            .limit(limit)
        )
        return result.scalars().all()

    async def for_holder(
        self, holder_id: int, kinds: Collection[str], before: int | None, limit: int
    ) -> Sequence[tuple[AuditEvent, Mandate | None, Organisation | None]]:
        """The holder's events of these kinds, newest first, with their mandate and organisation."""
        query = (
            select(AuditEvent, Mandate, Organisation)
            .outerjoin(Mandate, col(Mandate.id) == col(AuditEvent.mandate_id))
            .outerjoin(Organisation, col(Organisation.id) == col(Mandate.organisation_id))
            # An oral mandate's first events happened before it had a holder: they count as the holder's
            # once the mandate is theirs.
            .where(
                or_(
                    col(AuditEvent.holder_id) == holder_id,
                    col(AuditEvent.mandate_id).in_(
                        select(col(Mandate.id)).where(col(Mandate.holder_id) == holder_id)
                    ),
                ),
                col(AuditEvent.kind).in_(kinds),
            )
        )
        if before is not None:
            query = query.where(col(AuditEvent.id) < before)
        result = await self.session.execute(query.order_by(col(AuditEvent.id).desc()).limit(limit))
        return [(row[0], row[1], row[2]) for row in result.all()]
