"""One-time codes: the input rule for codes, call codes and TOTP (RFC 6238) through pyotp.

pyotp's own clock read is never used: every call passes the instant from `registry.clock` as an aware
UTC datetime (a naive one is read as local time, which is wrong for an hour a year on non-UTC servers).
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import UTC, datetime

import pyotp

from registry.errors import FieldError, InvalidCode

CALL_CODE_DIGITS = 8
TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_WINDOW = 1  # steps T-1, T, T+1
ISSUER = "Machtigingenregister"

_ASCII_CODE = re.compile(r"[0-9]{8}|[0-9]{6}")


def normalise_code(text: str, field: str = "code") -> str:
    """Strip ASCII spaces and dashes, then accept only 8 or 6 ASCII digits. Anything else (full-width or
    Arabic-Indic digits included, which pyotp would quietly normalise) is refused before any secret is
    touched."""
    compact = text.replace(" ", "").replace("-", "")
    if not _ASCII_CODE.fullmatch(compact) or not compact.isascii():
        message = "A code has 8 digits (a call code) or 6 digits (an authenticator app), 0 to 9 only."
        raise InvalidCode(message, [FieldError(field, message)])
    return compact


def new_call_code() -> str:
    return f"{secrets.randbelow(10**CALL_CODE_DIGITS):0{CALL_CODE_DIGITS}d}"


def group(code: str) -> str:
    """`48291337` as `4829 1337`, for people."""
    return f"{code[:4]} {code[4:]}" if len(code) == CALL_CODE_DIGITS else f"{code[:3]} {code[3:]}"


def new_totp_secret() -> str:
    """160 random bits in base32 (32 characters, no padding)."""
    return pyotp.random_base32()


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("aware datetime needed")
    return at.astimezone(UTC)


def totp(secret: str, digits: int = TOTP_DIGITS, digest: str = "sha1") -> pyotp.TOTP:
    import hashlib

    return pyotp.TOTP(secret, digits=digits, interval=TOTP_STEP_SECONDS, digest=getattr(hashlib, digest))


def step_at(at: datetime) -> int:
    return int(_utc(at).timestamp()) // TOTP_STEP_SECONDS


def code_for_step(secret: str, step: int, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    return totp(secret, digits, digest).generate_otp(step)


def matching_step(secret: str, code: str, at: datetime, digits: int = TOTP_DIGITS) -> int | None:
    """The time step in T-1..T+1 whose code is `code`, or None. Every step is compared (no early exit)."""
    now = step_at(at)
    found = None
    for step in range(now - TOTP_WINDOW, now + TOTP_WINDOW + 1):
        if hmac.compare_digest(code_for_step(secret, step, digits), code):
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """`otpauth://totp/Machtigingenregister:<account>?secret=...&issuer=Machtigingenregister`."""
    return totp(secret).provisioning_uri(name=account, issuer_name=ISSUER)
