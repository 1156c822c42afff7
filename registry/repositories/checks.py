"""What a verification reads and writes: guards, failures, call codes, authenticators, receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from registry.models import (
    Authenticator,
    AuthenticatorInvitation,
    CallCode,
    Mandate,
    MandateGuard,
    Verification,
)
from registry.repositories.base import Repository


class GuardRepository(Repository):
    """The holder's side of the guard rows; a check writes them through `check_sql`."""

    async def unlock(self, mandate_id: int) -> None:
        await self.session.execute(
            update(MandateGuard)
            .where(col(MandateGuard.mandate_id) == mandate_id)
            .values(streak=0, locked_until=None, hard_locked_at=None)
        )

    async def get(self, mandate_id: int) -> MandateGuard | None:
        return await self.session.get(MandateGuard, mandate_id)


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


class AuthenticatorRepository(Repository):
    async def sealed_not_with(self, key_id: str) -> Sequence[tuple[Authenticator, str]]:
        """Authenticators whose secret is sealed with another key than `key_id`, with their mandate's
        reference (the secret's associated data)."""
        result = await self.session.execute(
            select(Authenticator, col(Mandate.reference))
            .join(Mandate, col(Mandate.id) == col(Authenticator.mandate_id))
            .where(col(Authenticator.secret_encrypted).not_like(f"{key_id}:%"))
        )
        return [(row[0], row[1]) for row in result.all()]

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

    async def active_for_customer(
        self, organisation_id: int, customer_reference: str, now: datetime
    ) -> Sequence[Mandate]:
        """The customer's mandates with this organisation that are in force at `now`."""
        result = await self.session.execute(
            select(Mandate)
            .where(
                Mandate.organisation_id == organisation_id,
                Mandate.customer_reference == customer_reference,
                Mandate.status == "active",
                col(Mandate.valid_from) <= now,
                col(Mandate.valid_until) > now,
            )
            .order_by(col(Mandate.id))
        )
        return result.scalars().all()


class InvitationRepository(Repository):
    async def by_hash(self, token_hash: str) -> tuple[AuthenticatorInvitation, Mandate] | None:
        result = await self.session.execute(
            select(AuthenticatorInvitation, Mandate)
            .join(Mandate, col(Mandate.id) == col(AuthenticatorInvitation.mandate_id))
            .where(AuthenticatorInvitation.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def use(self, invitation_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(AuthenticatorInvitation)
            .where(
                col(AuthenticatorInvitation.id) == invitation_id,
                col(AuthenticatorInvitation.used_at).is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
