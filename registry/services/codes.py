"""Call codes: 8 digits the holder gives the proxy, single use, 15 minutes to 7 days, kept as an HMAC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from registry.crypto import otp
from registry.crypto.security import equal, keyed_hash, keyed_hashes
from registry.domain.vocabulary import EffectiveStatus
from registry.errors import InvalidInput, MandateNotActive
from registry.models import CallCode, Mandate
from registry.repositories import CodeRepository, MandateRepository
from registry.services import ServiceContext, audit
from registry.services.mandates import effective_status
from registry.settings import Keys

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


def code_hash(keys: Keys, mandate_id: int, code: str) -> str:
    return keyed_hash(keys, "call-code", f"{mandate_id}:{code}")


def is_code(keys: Keys, stored: str, mandate_id: int, code: str) -> bool:
    """Whether `code` is the one hashed as `stored`, with the current HMAC key or a previous one (each
    compared, so the time taken does not tell which)."""
    matches = [equal(stored, digest) for digest in keyed_hashes(keys, "call-code", f"{mandate_id}:{code}")]
    return any(matches)


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
            code_hash=code_hash(ctx.keys, mandate.id, code),
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


def decoy(keys: Keys, code: str) -> None:
    """The hashing of a comparison that has nothing to compare with, so that a check of an unknown, locked
    or inactive mandate costs what a wrong code costs."""
    is_code(keys, code_hash(keys, 0, "0" * otp.CALL_CODE_DIGITS), 0, code)


def parse_lifetime(text: str) -> timedelta:
    """`15m`, `2h`, `24h`, `7d` as a timedelta."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in units or not value.isdigit():
        raise InvalidInput.for_field("valid", "Give a lifetime such as 15m, 2h, 24h or 7d.")
    return timedelta(**{units[unit]: int(value)})
