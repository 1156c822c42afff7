"""Members of organisations and their console sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from registry.models import ConsoleSession, Mandate, MandateRequest, Member, Organisation, Verification
from registry.repositories.base import Repository


class MemberRepository(Repository):
    async def by_email(self, email: str) -> Member | None:
        result = await self.session.execute(select(Member).where(Member.email == email))
        return result.scalar_one_or_none()

    async def by_id(self, member_id: int) -> Member | None:
        return await self.session.get(Member, member_id)

    async def of_organisation(self, organisation_id: int) -> Sequence[Member]:
        result = await self.session.execute(
            select(Member).where(Member.organisation_id == organisation_id).order_by(col(Member.email))
        )
        return result.scalars().all()


class ConsoleSessionRepository(Repository):
    async def by_hash(self, token_hash: str) -> tuple[ConsoleSession, Member, Organisation] | None:
        result = await self.session.execute(
            select(ConsoleSession, Member, Organisation)
            .join(Member, col(Member.id) == col(ConsoleSession.member_id))
            .join(Organisation, col(Organisation.id) == col(Member.organisation_id))
            .where(ConsoleSession.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1], row[2]) if row else None

    async def revoke_all(self, member_id: int, now: datetime) -> None:
        await self.session.execute(
            update(ConsoleSession)
            .where(col(ConsoleSession.member_id) == member_id, col(ConsoleSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )


class HistoryRepository(Repository):
    async def checks(self, organisation_id: int, agent: str | None, limit: int) -> Sequence[Verification]:
        query = select(Verification).where(Verification.organisation_id == organisation_id)
        if agent is not None:
            query = query.where(Verification.agent_pseudonym == agent)
        result = await self.session.execute(query.order_by(col(Verification.id).desc()).limit(limit))
        return result.scalars().all()

    async def requests(
        self, organisation_id: int, agent: str | None, limit: int
    ) -> Sequence[tuple[MandateRequest, Mandate]]:
        query = (
            select(MandateRequest, Mandate)
            .join(Mandate, col(Mandate.id) == col(MandateRequest.mandate_id))
            .where(MandateRequest.organisation_id == organisation_id)
        )
        if agent is not None:
            query = query.where(MandateRequest.agent_pseudonym == agent)
        result = await self.session.execute(query.order_by(col(MandateRequest.id).desc()).limit(limit))
        return [(row[0], row[1]) for row in result.all()]
