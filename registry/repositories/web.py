"""Sign-in links and browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select

from registry.models import Holder, SignInLink, WebSession
from registry.repositories.base import Repository


class SignInRepository(Repository):
    async def count_since(
        self, since: datetime, *, email: str | None = None, client_ip: str | None = None
    ) -> int:
        query = select(func.count()).select_from(SignInLink).where(col(SignInLink.created_at) > since)
        if email is not None:
            query = query.where(col(SignInLink.email) == email)
        if client_ip is not None:
            query = query.where(col(SignInLink.client_ip) == client_ip)
        return int((await self.session.execute(query)).scalar_one())

    async def by_hash(self, token_hash: str) -> SignInLink | None:
        result = await self.session.execute(select(SignInLink).where(SignInLink.token_hash == token_hash))
        return result.scalar_one_or_none()

    async def use(self, link_id: int, now: datetime) -> bool:
        """Spend a link; the row count lets one of two simultaneous clicks win."""
        result = await self.session.execute(
            update(SignInLink)
            .where(col(SignInLink.id) == link_id, col(SignInLink.used_at).is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class SessionRepository(Repository):
    async def by_hash(self, token_hash: str) -> tuple[WebSession, Holder] | None:
        result = await self.session.execute(
            select(WebSession, Holder)
            .join(Holder, col(Holder.id) == col(WebSession.holder_id))
            .where(WebSession.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def revoke_all(self, holder_id: int, now: datetime) -> None:
        await self.session.execute(
            update(WebSession)
            .where(col(WebSession.holder_id) == holder_id, col(WebSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )
