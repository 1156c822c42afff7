"""Organisations, holders and mandates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import col, select

from registry.models import Holder, Mandate, Organisation, RevokeLink
from registry.repositories.base import Repository


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

    async def by_id(self, holder_id: int | None) -> Holder | None:
        """None for None: a pending oral mandate has no holder yet."""
        return None if holder_id is None else await self.session.get(Holder, holder_id)

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

    async def lock(self, mandate_id: int) -> None:
        """Hold the mandate's row until the transaction ends (one code issue at a time)."""
        await self.session.execute(
            select(col(Mandate.id)).where(col(Mandate.id) == mandate_id).with_for_update()
        )

    async def expiring_unannounced(self, now: datetime, until: datetime, limit: int) -> Sequence[Mandate]:
        """Active mandates ending between now and `until` whose holder has not been told yet."""
        query = (
            select(Mandate)
            .where(
                Mandate.status == "active",
                col(Mandate.valid_until) > now,
                col(Mandate.valid_until) <= until,
                col(Mandate.expiry_notice_at).is_(None),
            )
            .order_by(col(Mandate.valid_until))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return (await self.session.execute(query)).scalars().all()

    async def ended_unmarked(self, now: datetime, limit: int) -> Sequence[Mandate]:
        """Active mandates whose end has passed, not yet stored as expired."""
        query = (
            select(Mandate)
            .where(Mandate.status == "active", col(Mandate.valid_until) <= now)
            .order_by(col(Mandate.valid_until))
            .limit(limit)
        )
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return (await self.session.execute(query)).scalars().all()

    async def by_revoke_token(self, token_hash: str) -> Mandate | None:
        result = await self.session.execute(
            select(Mandate)
            .join(RevokeLink, col(RevokeLink.mandate_id) == col(Mandate.id))
            .where(RevokeLink.token_hash == token_hash)
        )
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

    async def of_organisation(
        self,
        organisation_id: int,
        *,
        status: str | None,
        now: datetime,
        customer_reference: str | None,
        after: int,
        limit: int,
    ) -> Sequence[Mandate]:
        """One page of an organisation's mandates that were ever in force, oldest first, with the status
        decided at `now` (as `effective_status` decides it)."""
        active = and_(
            col(Mandate.status) == "active", col(Mandate.valid_from) <= now, col(Mandate.valid_until) > now
        )
        conditions = {
            "active": active,
            "scheduled": and_(col(Mandate.status) == "active", col(Mandate.valid_from) > now),
            "expired": or_(
                col(Mandate.status) == "expired",
                and_(col(Mandate.status) == "active", col(Mandate.valid_until) <= now),
            ),
            "revoked": col(Mandate.status) == "revoked",
            None: col(Mandate.status).in_(("active", "expired", "revoked")),
        }
        query = select(Mandate).where(
            col(Mandate.organisation_id) == organisation_id, col(Mandate.id) > after, conditions[status]
        )
        if customer_reference is not None:
            query = query.where(col(Mandate.customer_reference) == customer_reference)
        result = await self.session.execute(query.order_by(col(Mandate.id)).limit(limit))
        return result.scalars().all()

    async def of_holder_and_organisation(self, holder_id: int, organisation_id: int) -> Sequence[Mandate]:
        result = await self.session.execute(
            select(Mandate).where(Mandate.holder_id == holder_id, Mandate.organisation_id == organisation_id)
        )
        return result.scalars().all()
