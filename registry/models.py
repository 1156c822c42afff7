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
    contact_email: str | None = Field(default=None, max_length=320)  # security alerts until admins exist
    # Origins (such as https://crm.example.com) whose pages may show the console in a frame.
    frame_ancestors: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = _utc()


class Holder(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    email_verified_at: datetime | None = _utc(default=None, nullable=True)
    language: str = Field(default="nl", max_length=2)
    created_at: datetime = _utc()


class Mandate(SQLModel, table=True):
    __table_args__ = (
        Index(None, "organisation_id", "customer_reference"),
        Index(None, "status", "valid_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True)
    # None only while an oral mandate waits for its holder: the address is then the request's.
    holder_id: int | None = Field(default=None, foreign_key="holder.id", index=True)
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
    # The organisation stated, after its own check, that the holder is its customer (withdrawable).
    customer_confirmed_at: datetime | None = _utc(default=None, nullable=True)
    notify_checks: bool = False  # e-mail the holder after each successful check (on for high-risk scopes)
    expiry_notice_at: datetime | None = _utc(default=None, nullable=True)  # "ends in 14 days" was sent
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


class ApiKey(SQLModel, table=True):
    """An organisation's key for the JSON API. Only a keyed hash of the secret is kept.

    A console member's checks run under a key of their own (`member_id` set, a secret nobody was ever
    shown), so that the per-key failure budget guards each agent as it guards each integration."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", unique=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, description="The first characters, to recognise a key in lists")
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_type=JSON)
    created_at: datetime = _utc()
    last_used_at: datetime | None = _utc(default=None, nullable=True)
    revoked_at: datetime | None = _utc(default=None, nullable=True)


class ApiKeyFailures(SQLModel, table=True):
    """Failed checks of one key in one minute: summed over the last 60 minutes for the key's budget."""

    __tablename__ = "api_key_failures"

    api_key_id: int = Field(
        primary_key=True, foreign_key="api_key.id", sa_column_kwargs={"autoincrement": False}
    )
    minute: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    count: int = 0


class MandateGuard(SQLModel, table=True):
    """Attempt counters of one mandate, claimed by one atomic UPDATE before any code is evaluated."""

    __tablename__ = "mandate_guard"

    mandate_id: int = Field(
        primary_key=True, foreign_key="mandate.id", sa_column_kwargs={"autoincrement": False}
    )
    streak: int = 0  # attempts since the last success, those in flight included
    locked_until: datetime | None = _utc(default=None, nullable=True)
    hard_locked_at: datetime | None = _utc(default=None, nullable=True)


class MandateFailure(SQLModel, table=True):
    """One evaluated, failed check; counted over a rolling 24 hours for the hard lock."""

    __tablename__ = "mandate_failure"
    __table_args__ = (Index(None, "mandate_id", "failed_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    mandate_id: int = Field(foreign_key="mandate.id")
    failed_at: datetime = _utc()


class CallCode(SQLModel, table=True):
    """An 8-digit single-use code the holder gives the proxy. Only its HMAC is kept."""

    __tablename__ = "call_code"
    __table_args__ = (Index(None, "mandate_id", "retired_at", "used_at"),)

    id: int | None = Field(default=None, primary_key=True)
    mandate_id: int = Field(foreign_key="mandate.id")
    code_hash: str = Field(max_length=64)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(default=None, nullable=True)
    retired_at: datetime | None = _utc(default=None, nullable=True)


class Authenticator(SQLModel, table=True):
    """The proxy's TOTP authenticator for one mandate; the secret is encrypted at rest."""

    __tablename__ = "authenticator"

    id: int | None = Field(default=None, primary_key=True)
    mandate_id: int = Field(foreign_key="mandate.id", unique=True)
    secret_encrypted: str = Field(max_length=200)
    status: str = Field(max_length=16)  # pending until the first correct code, then active
    last_step: int = Field(default=-1, sa_type=BigInteger)
    created_at: datetime = _utc()
    activated_at: datetime | None = _utc(default=None, nullable=True)


class Verification(SQLModel, table=True):
    """The receipt of one check: exactly what the organisation was told, kept as evidence."""

    __tablename__ = "verification"
    __table_args__ = (Index(None, "organisation_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    public_id: str = Field(max_length=40, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    mandate_id: int | None = Field(default=None, foreign_key="mandate.id", index=True)
    agent_pseudonym: str | None = Field(default=None, max_length=32)
    action: str | None = Field(default=None, max_length=32)
    result: str = Field(max_length=16)
    answer: str = Field(sa_type=Text)  # the JSON body as answered, byte for byte
    created_at: datetime = _utc()


class SignInLink(SQLModel, table=True):
    """A sign-in link e-mailed to an address; only the token's keyed hash is kept."""

    __tablename__ = "sign_in_link"
    __table_args__ = (Index(None, "email", "created_at"), Index(None, "client_ip", "created_at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    email: str = Field(max_length=320)
    token_hash: str = Field(max_length=64, unique=True)
    client_ip: str = Field(max_length=64)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(default=None, nullable=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a secret whose keyed hash is the lookup key."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    token_hash: str = Field(max_length=64, unique=True)
    holder_id: int = Field(foreign_key="holder.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _utc()
    last_seen_at: datetime = _utc()
    expires_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None, nullable=True)


class AuthenticatorInvitation(SQLModel, table=True):
    """An e-mailed link with which the proxy sets up an authenticator app; only the token's hash is kept."""

    __tablename__ = "authenticator_invitation"

    id: int | None = Field(default=None, primary_key=True)
    mandate_id: int = Field(foreign_key="mandate.id", index=True)
    email: str = Field(max_length=320)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(default=None, nullable=True)


class RevokeLink(SQLModel, table=True):
    """The link in the 'mandate granted' e-mail that revokes without signing in (after a confirmation)."""

    __tablename__ = "revoke_link"

    id: int | None = Field(default=None, primary_key=True)
    mandate_id: int = Field(foreign_key="mandate.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _utc()


class MandateRequest(SQLModel, table=True):
    """An oral mandate waiting for the holder's confirmation from an e-mailed link (24 hours).

    Asked by an organisation (API or console) with the address it has on file, or by the proxy on the web.
    Only the link token's keyed hash is kept. `status` is stored as pending, confirmed, declined or lapsed;
    a pending request past `expires_at` is lapsed whether or not the tidying job has run.
    """

    __tablename__ = "mandate_request"
    __table_args__ = (
        Index(None, "email", "organisation_id", "status"),
        Index(None, "client_ip", "created_at"),
        Index(None, "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    public_id: str = Field(max_length=40, unique=True)
    mandate_id: int = Field(foreign_key="mandate.id", unique=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    origin: str = Field(max_length=16)  # organisation | proxy
    email: str = Field(max_length=320)
    language: str = Field(max_length=2)
    note: str | None = Field(default=None, max_length=500)
    token_hash: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=16)
    decline_reason: str | None = Field(default=None, max_length=16)  # declined | not_me
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    agent_pseudonym: str | None = Field(default=None, max_length=32)
    client_ip: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    decided_at: datetime | None = _utc(default=None, nullable=True)


class RequestBlock(SQLModel, table=True):
    """A holder asked for no more proxy-initiated requests to this address at this organisation. Only a
    keyed hash of the address is kept: the block outlives a deleted account without keeping the address."""

    __tablename__ = "request_block"
    __table_args__ = (UniqueConstraint("email_hash", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    email_hash: str = Field(max_length=64)
    organisation_id: int = Field(foreign_key="organisation.id")
    created_at: datetime = _utc()


class IdempotencyRecord(SQLModel, table=True):
    """The answer to one `Idempotency-Key` of an organisation, written with the work it answers; 24 hours."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("organisation_id", "key"), Index(None, "created_at"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    organisation_id: int = Field(foreign_key="organisation.id")
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)  # SHA-256 of method, path and the canonical JSON body
    response_status: int
    response_body: str = Field(sa_type=Text)
    created_at: datetime = _utc()


class Member(SQLModel, table=True):
    """A person of an organisation who uses the console: `admin` or `agent`. Holders and API answers see
    only the member's pseudonym. One membership per address, so signing in needs no choice."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    email: str = Field(max_length=320, unique=True)
    role: str = Field(max_length=16)
    language: str = Field(default="nl", max_length=2)
    created_at: datetime = _utc()
    deactivated_at: datetime | None = _utc(default=None, nullable=True)


class ConsoleSession(SQLModel, table=True):
    """A signed-in console browser; kept apart from holders' sessions (another cookie, another table)."""

    __tablename__ = "console_session"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    token_hash: str = Field(max_length=64, unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _utc()
    last_seen_at: datetime = _utc()
    expires_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None, nullable=True)


class WebhookEndpoint(SQLModel, table=True):
    """Where an organisation wants to hear of changes. The signing secret is encrypted at rest."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    secret_encrypted: str = Field(max_length=300)
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)  # empty: every event
    status: str = Field(default="active", max_length=16)  # active | disabled
    disabled_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc()
    disabled_at: datetime | None = _utc(default=None, nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: written with the change, delivered by the worker until a 2xx answer,
    with retries over about three days. `public_id` is the `webhook-id` the receiver sees on every try."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index(None, "status", "next_attempt_at"), Index(None, "endpoint_id", "id"))

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    public_id: str = Field(max_length=40, unique=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id")
    event_type: str = Field(max_length=64)
    payload: str = Field(sa_type=Text)  # the JSON body, the same on every try
    status: str = Field(default="pending", max_length=16)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: datetime = _utc()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _utc(default=None, nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    delivered_at: datetime | None = _utc(default=None, nullable=True)
