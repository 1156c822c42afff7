"""Settings from the environment (prefix `REGISTRY_`) or a `.env` file. Nothing reads them at import time."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.errors import ConfigurationError

KEY_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses missing secret keys and the in-memory e-mail sender.",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./registry.db",
        description="SQLAlchemy URL: `sqlite+aiosqlite:///path` or `postgresql+psycopg://user@host/db`.",
    )
    db_pool_size: int = Field(
        10,
        ge=1,
        le=200,
        description="Connections per process and pool (PostgreSQL): the ORM's, and the verification lane's.",
    )
    verification_lane: bool = Field(
        True,
        description="PostgreSQL: answer well-formed checks in the fast lane (docs/performance.md); "
        "false sends every check through the full route.",
    )
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public address of the service, used in e-mailed links."
    )
    hmac_key: SecretStr | None = Field(
        None, description="Base64 of 32 random bytes; keys the HMACs of codes and tokens. Never in the DB."
    )
    encryption_key: SecretStr | None = Field(
        None, description="Base64 of 32 random bytes; AES-GCM key for secrets at rest (TOTP seeds)."
    )
    encryption_key_id: str = Field("k1", description="Id stored next to each encrypted value, for rotation.")
    previous_hmac_keys: SecretStr | None = Field(
        None,
        description="During a rotation: HMAC keys that hashes may still be made with, comma-separated. "
        "Lookups accept them and API keys are hashed anew when used; drop them when no longer needed.",
    )
    previous_encryption_keys: SecretStr | None = Field(
        None,
        description="During a rotation: the keys values may still be encrypted with, as `id:key,id:key`; "
        "`mandate-registry keys reencrypt` moves every value to the current key, then drop them.",
    )
    key_file: Path = Field(
        Path("registry-keys.json"),
        description="Where keys not given in the environment are read from; in development it is "
        "created with fresh keys on first run (mode 0600).",
    )
    default_language: Literal["nl", "en"] = Field("nl", description="Language when none is known.")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="Log lines as JSON or text; `auto` is JSON in production and text otherwise."
    )
    email_backend: Literal["smtp", "console", "memory"] = Field(
        "console", description="`smtp` sends for real, `console` prints, `memory` keeps (tests)."
    )
    email_from: str = Field("Mandate Registry <no-reply@localhost>", description="The From header.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str | None = Field(None, description="SMTP user name, if the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "none", description="`starttls` upgrades a plain connection, `tls` connects with TLS (port 465)."
    )
    smtp_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one SMTP conversation.")
    worker_in_process: bool = Field(
        True, description="`serve` also delivers the outbox; set false when `worker` processes run."
    )
    outbox_poll_seconds: float = Field(2.0, gt=0, description="How often the worker looks for due messages.")
    outbox_batch_size: int = Field(20, ge=1, le=1000, description="Messages claimed per round.")
    outbox_lease_seconds: int = Field(
        120, ge=5, description="A claimed message is retried by another worker after this if not done."
    )
    outbox_max_attempts: int = Field(
        20, ge=1, le=100, description="Tries before a message is dead (about 2 to 3 days)."
    )
    outbox_retry_base_seconds: float = Field(
        30.0, gt=0, description="First retry delay; doubles each try, with jitter."
    )
    outbox_retry_max_seconds: float = Field(6 * 3600.0, gt=0, description="Longest delay between tries.")

    rate_limit: str = Field(
        "600/minute", description="Requests per API key, in the notation of `limits` (such as 600/minute)."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where the counters live: memory:// (one process) or redis://host:6379/0 (shared).",
    )

    webhook_allow_private: bool = Field(
        False,
        description="Deliver webhooks to private and loopback addresses and plain http (tests, development).",
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60, description="Timeout of one webhook delivery.")
    webhook_retry_seconds: list[float] = Field(
        [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000],
        description="Waits between webhook tries (about three days in all); then the endpoint is disabled.",
    )

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as exc:
            raise ValueError("use the notation of `limits`, such as 600/minute or 20/second") from exc
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        if not value.removeprefix("async+").startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("use memory:// or a redis:// URL")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.environment == "production" and self.email_backend != "smtp":
            raise ValueError(
                f"email_backend {self.email_backend!r} in production would lose e-mails or "
                "print their links; use 'smtp'"
            )
        if self.outbox_lease_seconds <= self.smtp_timeout_seconds:
            raise ValueError(
                "outbox_lease_seconds must be longer than smtp_timeout_seconds, or a slow send "
                "could be claimed and sent again by another worker"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def keys(self) -> Keys:
        """The secret keys: from the environment, else the key file, else (development only) made anew."""
        return resolve_keys(self)


@dataclass(frozen=True)
class Keys:
    hmac_key: bytes
    encryption_key: bytes
    encryption_key_id: str
    previous_encryption_keys: dict[str, bytes] = field(default_factory=dict)  # readable, never written
    previous_hmac_keys: tuple[bytes, ...] = ()  # hashes made with these are still found, never made

    def encryption_key_for(self, key_id: str) -> bytes:
        if key_id == self.encryption_key_id:
            return self.encryption_key
        if key_id in self.previous_encryption_keys:
            return self.previous_encryption_keys[key_id]
        raise ValueError(f"value was encrypted with key {key_id!r}, which is not loaded")


def _decode_key(name: str, value: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError(f"{name} is not valid base64") from exc
    if len(raw) < KEY_BYTES:
        raise ConfigurationError(f"{name} must hold at least {KEY_BYTES} bytes, it holds {len(raw)}")
    return raw


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip("=")


def _read_key_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"the key file {path} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"the key file {path} must hold a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def _write_key_file(path: Path) -> dict[str, str]:
    data = {"hmac_key": new_key(), "encryption_key": new_key()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    return data


def resolve_keys(settings: Settings) -> Keys:
    given = {
        "hmac_key": settings.hmac_key.get_secret_value() if settings.hmac_key else None,
        "encryption_key": settings.encryption_key.get_secret_value() if settings.encryption_key else None,
    }
    if None in given.values():
        path = settings.key_file
        if path.exists():
            stored = _read_key_file(path)
        elif settings.environment == "development":
            stored = _write_key_file(path)
        else:
            missing = ", ".join(f"REGISTRY_{k.upper()}" for k, v in given.items() if v is None)
            raise ConfigurationError(
                f"{missing} not set and no key file at {path}: production never makes keys itself. "
                "Generate them with `mandate-registry keys generate` and pass them in the environment."
            )
        for name in given:
            if given[name] is None:
                if name not in stored:
                    raise ConfigurationError(f"the key file {path} has no {name}")
                given[name] = stored[name]
    return Keys(
        hmac_key=_decode_key("REGISTRY_HMAC_KEY", given["hmac_key"] or ""),
        encryption_key=_decode_key("REGISTRY_ENCRYPTION_KEY", given["encryption_key"] or ""),
        encryption_key_id=settings.encryption_key_id,
        previous_encryption_keys=_previous_keys(settings),
        previous_hmac_keys=_previous_hmac_keys(settings),
    )


def _previous_hmac_keys(settings: Settings) -> tuple[bytes, ...]:
    text = settings.previous_hmac_keys.get_secret_value() if settings.previous_hmac_keys else ""
    given = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(_decode_key("REGISTRY_PREVIOUS_HMAC_KEYS", part) for part in given)


PREVIOUS = "REGISTRY_PREVIOUS_ENCRYPTION_KEYS"


def _previous_keys(settings: Settings) -> dict[str, bytes]:
    text = settings.previous_encryption_keys.get_secret_value() if settings.previous_encryption_keys else ""
    found: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key_id, _, value = entry.partition(":")
        if not key_id or not value:
            raise ConfigurationError(f"{PREVIOUS}: give each key as id:key, comma-separated")
        if key_id == settings.encryption_key_id:
            message = f"{PREVIOUS} names {key_id!r}, the current key's id: give the new key a new id"
            raise ConfigurationError(message)
        found[key_id] = _decode_key(f"{PREVIOUS} ({key_id})", value)
    return found
