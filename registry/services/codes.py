"""Call codes: 8 digits the holder gives the proxy, single use, 15 minutes to 7 days, kept as an HMAC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from registry import otp
from registry.errors import InvalidInput, MandateNotActive
from registry.models import CallCode, Mandate
from registry.repositories import CodeRepository, MandateRepository
from registry.security import equal, keyed_hash
from registry.services import ServiceContext, audit
from registry.services.mandates import effective_status
from registry.vocabulary import EffectiveStatus

SHORTEST = timedelta(minutes=15)
LONGEST = timedelta(days=7)
DEFAULT = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime

    @property
    def grouped(self) -> str:
        return otp.group(self.code)


def code_hash(ctx: ServiceContext, mandate_id: int, code: str) -> str:
    return keyed_hash(ctx.keys, "call-code", f"{mandate_id}:{code}")


async def issue(
    ctx: ServiceContext, mandate: Mandate, lifetime: timedelta = DEFAULT, actor: str = "holder"
) -> IssuedCode:
    """A new code for an active mandate; the previous one stops working at once."""
    if not SHORTEST <= lifetime <= LONGEST:
        raise InvalidInput.for_field("valid", "A call code lives from 15 minutes to 7 days.")
    now = ctx.clock.now()
    if effective_status(mandate, now) != EffectiveStatus.active:
        raise MandateNotActive("Call codes can only be made for an active mandate.")
    assert mandate.id is not None
    await MandateRepository(ctx.session).lock(mandate.id)  # two issues at once must not leave two codes
    repo = CodeRepository(ctx.session)
    await repo.retire_all(mandate.id, now)
    code = otp.new_call_code()
    expires = min(now + lifetime, mandate.valid_until)
    await repo.add(
        CallCode(
            mandate_id=mandate.id,
            code_hash=code_hash(ctx, mandate.id, code),
            created_at=now,
            expires_at=expires,
        )
    )
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        "call_code.issued",
        actor,
        {"expires_at": expires.isoformat()},
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )
    return IssuedCode(code, expires)


async def _matching_live_code(ctx: ServiceContext, mandate_id: int, code: str) -> CallCode | None:
    """The mandate's live call code if `code` is it. One hash comparison is made even when there is no live
    code, so that both cases take the same time."""
    live = await CodeRepository(ctx.session).live(mandate_id, ctx.clock.now())
    expected = live.code_hash if live else code_hash(ctx, 0, "0" * otp.CALL_CODE_DIGITS)
    return live if equal(expected, code_hash(ctx, mandate_id, code)) and live is not None else None


async def spend(ctx: ServiceContext, mandate: Mandate, code: str) -> bool:
    """True when `code` is the mandate's live call code and this request is the one that used it."""
    assert mandate.id is not None
    live = await _matching_live_code(ctx, mandate.id, code)
    return (
        live is not None
        and live.id is not None
        and await CodeRepository(ctx.session).use(live.id, ctx.clock.now())
    )


async def looks_like(ctx: ServiceContext, mandate_id: int, code: str) -> bool:
    """Compare `code` with the live call code without spending it (the decoy of a failed check)."""
    return await _matching_live_code(ctx, mandate_id, code) is not None


def parse_lifetime(text: str) -> timedelta:
    """`15m`, `2h`, `24h`, `7d` as a timedelta."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not value.isdigit():
        raise InvalidInput.for_field("valid", "Give a lifetime such as 15m, 2h, 24h or 7d.")
    return timedelta(**{units[unit]: int(value)})
