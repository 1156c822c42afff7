"""SQLModel tables only. Constraint names come from one naming convention, so migrations can name them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no offset) and PostgreSQL (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use registry.clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


# 64-bit on PostgreSQL for tables that grow with every check; SQLite's rowid is 64-bit already, and only
# INTEGER PRIMARY KEY (not BIGINT) is its rowid.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    active: bool = True
    default_language: str = Field(default="nl", max_length=2)
    created_at: datetime = _utc()


class Holder(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    email_verified_at: datetime | None = _utc(default=None, nullable=True)
    language: str = Field(default="nl", max_length=2)
    created_at: datetime = _utc()


class Mandate(SQLModel, table=True):
    __table_args__ = (Index(None, "organisation_id", "customer_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True)
    holder_id: int = Field(foreign_key="holder.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    customer_reference: str | None = Field(default=None, max_length=100)
    proxy_name: str = Field(max_length=200)
    proxy_relation: str = Field(max_length=20)
    proxy_email: str | None = Field(default=None, max_length=320)
    proxy_phone: str | None = Field(default=None, max_length=32)
    scope: list[str] = Field(sa_type=JSON)
    valid_from: datetime = _utc()
    valid_until: datetime = _utc()
    basis: str = Field(max_length=32)
    status: str = Field(max_length=16)
    binding: str = Field(max_length=32)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None, nullable=True)


class AuditEvent(SQLModel, table=True):
    """Append-only. `hash` = SHA-256 over the previous event's hash of the same chain and this event."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq"), Index(None, "occurred_at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    chain: str = Field(max_length=64)
    seq: int
    occurred_at: datetime = _utc()
    kind: str = Field(max_length=64)
    actor: str = Field(max_length=128)
    organisation_id: int | None = Field(default=None, index=True)
    holder_id: int | None = Field(default=None, index=True)
    mandate_id: int | None = Field(default=None, index=True)
    data: str = Field(sa_type=Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The newest event of each chain, kept apart, so that deleting the newest events is detected."""

    __tablename__ = "audit_head"

    chain: str = Field(primary_key=True, max_length=64)
    count: int
    head_hash: str = Field(max_length=64)
    updated_at: datetime = _utc()


class OutboxMessage(SQLModel, table=True):
    """A message written in the same transaction as the change that causes it; the worker delivers it."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    channel: str = Field(default="email", max_length=16)
    template: str = Field(max_length=64)
    language: str = Field(max_length=2)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body_text: str | None = Field(default=None, sa_type=Text)
    body_html: str | None = Field(default=None, sa_type=Text)
    message_id: str = Field(max_length=200, unique=True)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _utc(default=None, nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None, nullable=True)


class AuditSeal(SQLModel, table=True):
    """Seals every committed audit event, in the order the background sealer found them, into one chain.

    Only the sealer writes here, so no request waits on it. A sealed event that is deleted (even a whole
    chain with its head) or rewritten together with its own chain no longer matches its seal.
    """

    __tablename__ = "audit_seal"

    seq: int = Field(primary_key=True, sa_type=BigId, sa_column_kwargs={"autoincrement": False})
    event_id: int = Field(unique=True, sa_type=BigId)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
