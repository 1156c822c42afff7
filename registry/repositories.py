"""Every query of the registry, one small method per question. Repositories flush, never commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, case, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from registry.models import (
    ApiKey,
    AuditEvent,
    AuditHead,
    AuditSeal,
    Authenticator,
    CallCode,
    Holder,
    Mandate,
    MandateFailure,
    MandateGuard,
    Organisation,
    OutboxMessage,
    Verification,
)

T = TypeVar("T")


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def insert(self, table: Any) -> Any:
        """INSERT with ON CONFLICT support in the dialect at hand."""
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    async def add(self, row: T) -> T:
        """Insert `row` now, so that its id is known."""
        self.session.add(row)
        await self.session.flush()
        return row

    def stage(self, row: object) -> None:
        """Insert `row` with the next flush (for many rows at once)."""
        self.session.add(row)


class OrganisationRepository(Repository):
    async def by_slug(self, slug: str) -> Organisation | None:
        result = await self.session.execute(select(Organisation).where(Organisation.slug == slug))
        return result.scalar_one_or_none()

    async def by_id(self, organisation_id: int) -> Organisation | None:
        return await self.session.get(Organisation, organisation_id)

    async def all(self) -> Sequence[Organisation]:
        result = await self.session.execute(select(Organisation).order_by(Organisation.slug))
        return result.scalars().all()


class HolderRepository(Repository):
    async def by_email(self, email: str) -> Holder | None:
        result = await self.session.execute(select(Holder).where(Holder.email == email))
        return result.scalar_one_or_none()

    async def by_id(self, holder_id: int) -> Holder | None:
        return await self.session.get(Holder, holder_id)

    async def add_if_new(self, email: str, language: str, now: datetime) -> tuple[Holder, bool]:
        """The holder with `email`, inserted unless another transaction just did; and whether we did."""
        values = {"email": email, "language": language, "email_verified_at": now, "created_at": now}
        result = await self.session.execute(
            self.insert(Holder).values(**values).on_conflict_do_nothing().returning(col(Holder.id))
        )
        created = result.scalar_one_or_none() is not None
        holder = await self.by_email(email)
        assert holder is not None
        return holder, created


class MandateRepository(Repository):
    async def by_reference(self, reference: str) -> Mandate | None:
        result = await self.session.execute(select(Mandate).where(Mandate.reference == reference))
        return result.scalar_one_or_none()

    async def reference_taken(self, reference: str) -> bool:
        result = await self.session.execute(select(col(Mandate.id)).where(Mandate.reference == reference))
        return result.first() is not None

    async def for_holder(self, holder_id: int) -> Sequence[tuple[Mandate, Organisation]]:
        result = await self.session.execute(
            select(Mandate, Organisation)
            .join(Organisation, col(Organisation.id) == col(Mandate.organisation_id))
            .where(Mandate.holder_id == holder_id)
            .order_by(col(Mandate.created_at).desc(), col(Mandate.id).desc())
        )
        return [(row[0], row[1]) for row in result.all()]

    async def of_holder_and_organisation(self, holder_id: int, organisation_id: int) -> Sequence[Mandate]:
        result = await self.session.execute(
            select(Mandate).where(Mandate.holder_id == holder_id, Mandate.organisation_id == organisation_id)
        )
        return result.scalars().all()


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


GENESIS = "0" * 64
SEAL_CHAIN = "seal"  # the seal chain's head lives among the heads; no subject chain has this name


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


class GuardRepository(Repository):
    async def claim(self, mandate_id: int, now: datetime) -> MandateGuard:
        """Count one attempt before the code is looked at. An expired soft lock starts a new streak."""
        await self.session.execute(
            self.insert(MandateGuard).values(mandate_id=mandate_id, streak=0).on_conflict_do_nothing()
        )
        expired = and_(col(MandateGuard.locked_until).is_not(None), col(MandateGuard.locked_until) <= now)
        result = await self.session.execute(
            update(MandateGuard)
            .where(col(MandateGuard.mandate_id) == mandate_id)
            .values(
                streak=case((expired, 1), else_=col(MandateGuard.streak) + 1),
                locked_until=case((expired, None), else_=col(MandateGuard.locked_until)),
            )
            .returning(MandateGuard)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def succeeded(self, mandate_id: int) -> None:
        await self.session.execute(
            update(MandateGuard).where(col(MandateGuard.mandate_id) == mandate_id).values(streak=0)
        )

    async def release(self, mandate_id: int) -> None:
        """Give back an attempt that was claimed but not used (another mandate of the customer matched)."""
        await self.session.execute(
            update(MandateGuard)
            .where(col(MandateGuard.mandate_id) == mandate_id, col(MandateGuard.streak) > 0)
            .values(streak=col(MandateGuard.streak) - 1)
        )

    async def lock(self, mandate_id: int, until: datetime) -> None:
        await self.session.execute(
            update(MandateGuard).where(col(MandateGuard.mandate_id) == mandate_id).values(locked_until=until)
        )

    async def hard_lock(self, mandate_id: int, now: datetime) -> None:
        await self.session.execute(
            update(MandateGuard).where(col(MandateGuard.mandate_id) == mandate_id).values(hard_locked_at=now)
        )

    async def unlock(self, mandate_id: int) -> None:
        await self.session.execute(
            update(MandateGuard)
            .where(col(MandateGuard.mandate_id) == mandate_id)
            .values(streak=0, locked_until=None, hard_locked_at=None)
        )

    async def record_failure(self, mandate_id: int, now: datetime, since: datetime) -> int:
        """Keep one evaluated failure; return how many there were since `since`."""
        self.stage(MandateFailure(mandate_id=mandate_id, failed_at=now))
        await self.session.flush()
        return await self.count_failures(mandate_id, since)

    async def count_failures(self, mandate_id: int, since: datetime) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(MandateFailure)
            .where(col(MandateFailure.mandate_id) == mandate_id, col(MandateFailure.failed_at) > since)
        )
        return int(result.scalar_one())

    async def get(self, mandate_id: int) -> MandateGuard | None:
        return await self.session.get(MandateGuard, mandate_id)

    async def claim_nothing(self) -> None:
        """The statement of a claim, matching no row (see verifications._decoy)."""
        await self.session.execute(
            update(MandateGuard)
            .where(col(MandateGuard.mandate_id) == -1)
            .values(streak=MandateGuard.streak + 1)
        )


class CodeRepository(Repository):
    async def retire_all(self, mandate_id: int, now: datetime) -> None:
        await self.session.execute(
            update(CallCode)
            .where(
                col(CallCode.mandate_id) == mandate_id,
                col(CallCode.retired_at).is_(None),
                col(CallCode.used_at).is_(None),
            )
            .values(retired_at=now)
        )

    async def live(self, mandate_id: int, now: datetime) -> CallCode | None:
        """The one call code of a mandate that can still be used, if any."""
        result = await self.session.execute(
            select(CallCode).where(
                col(CallCode.mandate_id) == mandate_id,
                col(CallCode.retired_at).is_(None),
                col(CallCode.used_at).is_(None),
                col(CallCode.expires_at) > now,
            )
        )
        return result.scalars().first()

    async def use(self, code_id: int, now: datetime) -> bool:
        """Spend a call code; of two requests with the same code, the row count lets only one win."""
        result = await self.session.execute(
            update(CallCode)
            .where(
                col(CallCode.id) == code_id,
                col(CallCode.used_at).is_(None),
                col(CallCode.retired_at).is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class AuthenticatorRepository(Repository):
    async def of_mandate(self, mandate_id: int) -> Authenticator | None:
        result = await self.session.execute(
            select(Authenticator).where(Authenticator.mandate_id == mandate_id)
        )
        return result.scalar_one_or_none()

    async def accept_step(self, authenticator_id: int, step: int) -> bool:
        """Accept a time step only if it is later than every accepted one: each step works once."""
        result = await self.session.execute(
            update(Authenticator)
            .where(col(Authenticator.id) == authenticator_id, col(Authenticator.last_step) < step)
            .values(last_step=step)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def remove(self, authenticator: Authenticator) -> None:
        await self.session.delete(authenticator)
        await self.session.flush()


class VerificationRepository(Repository):
    async def by_public_id(self, public_id: str, organisation_id: int) -> Verification | None:
        result = await self.session.execute(
            select(Verification).where(
                Verification.public_id == public_id, Verification.organisation_id == organisation_id
            )
        )
        return result.scalar_one_or_none()

    async def active_for_customer(self, organisation_id: int, customer_reference: str) -> Sequence[Mandate]:
        result = await self.session.execute(
            select(Mandate)
            .where(
                Mandate.organisation_id == organisation_id,
                Mandate.customer_reference == customer_reference,
                Mandate.status == "active",
            )
            .order_by(col(Mandate.id))
        )
        return result.scalars().all()
