"""The registry's answers as frozen dataclasses. Instants are aware `datetime`s in UTC.

Words the registry may add to later (actions, relations, statuses, bindings) are plain strings, so that a
new value never breaks a client that does not know it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _required_instant(value: Any) -> datetime:
    found = _instant(value)
    if found is None:
        raise ValueError(f"expected an RFC 3339 instant, got {value!r}")
    return found


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class VerificationResult:
    """The answer to a check. When `verified` is False the answer holds nothing but its receipt id: a
    wrong code, an unknown reference, a revoked, expired or locked mandate all look the same."""

    result: str  # "verified" or "not_verified"
    verification_id: str
    mandate_reference: str | None = None
    proxy_name: str | None = None
    relation: str | None = None
    scope: list[str] | None = None
    valid_until: datetime | None = None
    action: str | None = None
    action_permitted: bool | None = None
    binding: str | None = None  # organisation_confirmed, email_match or unconfirmed

    @property
    def verified(self) -> bool:
        return self.result == "verified"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerificationResult:
        return cls(
            result=data["result"],
            verification_id=data["verification_id"],
            mandate_reference=data.get("mandate_reference"),
            proxy_name=data.get("proxy_name"),
            relation=data.get("relation"),
            scope=_strings(data["scope"]) if data.get("scope") is not None else None,
            valid_until=_instant(data.get("valid_until")),
            action=data.get("action"),
            action_permitted=data.get("action_permitted"),
            binding=data.get("binding"),
        )


@dataclass(frozen=True)
class MandateRequest:
    """An oral mandate: `pending` until the holder answers, then `confirmed` (with `mandate_reference`),
    `declined` (with `decline_reason`), or `lapsed` after 24 hours without an answer."""

    id: str
    status: str
    customer_reference: str | None
    scope: list[str]
    valid_until: datetime
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    mandate_reference: str | None = None
    decline_reason: str | None = None  # `not_me`: the holder says they never gave this mandate

    @property
    def answered(self) -> bool:
        """True once the status will not change any more."""
        return self.status != "pending"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MandateRequest:
        return cls(
            id=data["id"],
            status=data["status"],
            customer_reference=data.get("customer_reference"),
            scope=_strings(data.get("scope")),
            valid_until=_required_instant(data["valid_until"]),
            created_at=_required_instant(data["created_at"]),
            expires_at=_required_instant(data["expires_at"]),
            decided_at=_instant(data.get("decided_at")),
            mandate_reference=data.get("mandate_reference"),
            decline_reason=data.get("decline_reason"),
        )


@dataclass(frozen=True)
class Mandate:
    """One of your organisation's mandates, with nothing about its holder."""

    reference: str
    customer_reference: str | None
    proxy_name: str
    relation: str
    scope: list[str]
    valid_from: datetime
    valid_until: datetime  # the mandate ends at this instant
    status: str  # active, scheduled, expired or revoked, at the moment of the answer
    basis: str  # web or oral_confirmed_by_email
    binding: str  # organisation_confirmed, email_match or unconfirmed

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mandate:
        return cls(
            reference=data["reference"],
            customer_reference=data.get("customer_reference"),
            proxy_name=data["proxy_name"],
            relation=data["relation"],
            scope=_strings(data.get("scope")),
            valid_from=_required_instant(data["valid_from"]),
            valid_until=_required_instant(data["valid_until"]),
            status=data["status"],
            basis=data["basis"],
            binding=data["binding"],
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next one. None on the last page."""

    items: list[T]
    next_cursor: str | None

    @staticmethod
    def of_mandates(data: dict[str, Any]) -> Page[Mandate]:
        return Page([Mandate.from_json(item) for item in data["items"]], data.get("next_cursor"))


@dataclass(frozen=True)
class ActionInfo:
    """One word of the scope vocabulary. Show a warning when a proxy asks for a `high_risk` one."""

    action: str
    high_risk: bool
    label_nl: str
    label_en: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionInfo:
        return cls(data["action"], bool(data["high_risk"]), data["label_nl"], data["label_en"])


@dataclass(frozen=True)
class Readiness:
    status: str
    database: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Readiness:
        return cls(data["status"], data["database"])


@dataclass(frozen=True)
class RateLimit:
    """The key's request budget as the last answer told it (`RateLimit` and `RateLimit-Policy` headers):
    `remaining` of `limit` requests per `window` seconds, the next one free in `reset` seconds."""

    limit: int
    window: int
    remaining: int
    reset: int
