"""Webhooks: an organisation hears of changes to its mandates at once, signed per Standard Webhooks.

`emit` writes one delivery per matching endpoint in the transaction of the change (a transactional
outbox); `registry.worker.webhook_delivery` sends them. Payloads are thin (`type`, `timestamp`, `data` with
references only): the receiver fetches what it needs through the API with its own key.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import re
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from registry.clock import rfc3339
from registry.crypto.security import decrypt, encrypt
from registry.errors import Conflict, InvalidInput, WebhookDeliveryNotFound, WebhookEndpointNotFound
from registry.models import Mandate, Organisation, WebhookDelivery, WebhookEndpoint
from registry.repositories import WebhookDeliveryRepository
from registry.services import ServiceContext, audit

EVENTS = {
    "mandate.activated": "A mandate works from now: granted on the web, or an oral mandate confirmed.",
    "mandate.updated": "Its scope, end date or customer binding changed.",
    "mandate.revoked": "The holder ended it; checks fail from now on.",
    "mandate.expired": "It passed its end date.",
    "mandate_request.confirmed": "The holder confirmed an oral mandate you registered.",
    "mandate_request.declined": "The holder declined it (`reason` says `not_me` when they never gave it).",
    "mandate_request.lapsed": "Nobody answered the request within 24 hours.",
    "verification.locked": "Wrong codes locked a mandate (15 minutes, or until the holder unlocks it).",
}
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix Standard Webhooks gives every secret


@dataclass(frozen=True)
class Failure:
    """What went wrong with a delivery, as one word the console puts in words for the admin
    (console/_labels.html): `connect`, `tls`, `timeout`, `dropped`, `server` (5xx), `client` (4xx),
    `redirect`, `gone`, `private`, `disabled` or `other`; and the HTTP status, if one came."""

    kind: str
    status_code: int | None = None


def failure_of(status_code: int | None, error: str | None) -> Failure | None:
    """Read the delivery worker's record of a try (its status code and error text); None: no failure."""
    text = (error or "").lower()
    if status_code is None and (found := _HTTP_STATUS.search(text)):
        status_code = int(found.group(1))
    if status_code is not None and not 200 <= status_code < 300:
        if status_code == 410:
            return Failure("gone", status_code)
        kind = "redirect" if status_code < 400 else "client" if status_code < 500 else "server"
        return Failure(kind, status_code)
    if not text:
        return None
    for kind, words in _FAILURE_WORDS:
        if any(word in text for word in words):
            return Failure(kind)
    return Failure("other")


def stop_of(reason: str | None) -> Failure | None:
    """Why deliveries to an endpoint stopped: `by_organisation`, or the failure that stopped them."""
    if not reason:
        return None
    if reason == STOPPED_BY_ORGANISATION:
        return Failure("by_organisation")
    return failure_of(None, reason.rpartition(": ")[2] if "tries: " in reason else reason)


STOPPED_BY_ORGANISATION = "disabled by the organisation"
_HTTP_STATUS = re.compile(r"(?:http|answered) (\d{3})")
_FAILURE_WORDS = (  # the first that matches wins: a TLS failure is a ConnectError too
    ("tls", ("ssl", "certificate", "tls")),
    ("timeout", ("timeout", "timed out")),
    ("redirect", ("redirect",)),
    ("private", ("private or loopback",)),
    ("disabled", ("endpoint is disabled",)),
    ("dropped", ("remoteprotocolerror", "disconnected", "readerror", "writeerror")),
    ("connect", ("connecterror", "connect", "name or service", "refused", "unreachable")),
)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_of(ctx: ServiceContext, endpoint: WebhookEndpoint) -> str:
    return decrypt(ctx.keys, endpoint.secret_encrypted, endpoint.public_id.encode()).decode()


async def private_address(host: str) -> bool:
    """True for loopback, private, link-local and other non-public addresses, and for names that
    resolve to one (checked again before each delivery, since a name can change its answer). The name is
    resolved without blocking the event loop."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except socket.gaierror:
        return False  # unknown now: the delivery will fail and retry
    addresses = {info[4][0] for info in infos}
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return True
    return False


async def check_url(url: str, allow_private: bool) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput.for_field("url", "Give a whole https URL, such as https://crm.example.com/hooks.")
    if parts.scheme == "http" and not allow_private:
        raise InvalidInput.for_field("url", "Use https: deliveries carry signed data about your customers.")
    if parts.username or parts.password:
        raise InvalidInput.for_field("url", "Leave user names and passwords out of the URL.")
    if not allow_private and await private_address(parts.hostname):
        raise InvalidInput.for_field(
            "url", "This address is private or local; the registry only delivers to public addresses."
        )
    return url.strip()


def _types(event_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(event_types) - EVENTS.keys())
    if unknown:
        raise InvalidInput.for_field(
            "event_types", f"Unknown event(s) {', '.join(unknown)}; use: {', '.join(EVENTS)}."
        )
    return sorted(set(event_types))


async def create_endpoint(
    ctx: ServiceContext,
    organisation: Organisation,
    url: str,
    *,
    event_types: Sequence[str] = (),
    description: str | None = None,
    allow_private: bool = False,
    actor: str,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; its signing secret is returned this once (kept encrypted, for signing)."""
    checked, types = await check_url(url, allow_private), _types(event_types)
    if description and len(description) > 200:
        raise InvalidInput.for_field("description", "Use at most 200 characters.")
    public_id = "whe_" + secrets.token_urlsafe(12)
    secret = new_secret()
    assert organisation.id is not None
    endpoint = await WebhookDeliveryRepository(ctx.session).add(
        WebhookEndpoint(
            public_id=public_id,
            organisation_id=organisation.id,
            url=checked,
            description=(description or "").strip() or None,
            secret_encrypted=encrypt(ctx.keys, secret.encode(), public_id.encode()),
            event_types=types,
            created_at=ctx.clock.now(),
        )
    )
    await _event(ctx, organisation, "webhook_endpoint.created", actor, endpoint)
    return endpoint, secret


async def endpoints(ctx: ServiceContext, organisation: Organisation) -> Sequence[WebhookEndpoint]:
    assert organisation.id is not None
    return await WebhookDeliveryRepository(ctx.session).endpoints_of(organisation.id)


async def endpoint(ctx: ServiceContext, organisation: Organisation, public_id: str) -> WebhookEndpoint:
    assert organisation.id is not None
    found = await WebhookDeliveryRepository(ctx.session).endpoint_by_public_id(public_id, organisation.id)
    if found is None:
        raise WebhookEndpointNotFound("Your organisation has no such webhook endpoint.")
    return found


async def set_active(
    ctx: ServiceContext, organisation: Organisation, public_id: str, active: bool, actor: str
) -> WebhookEndpoint:
    found = await endpoint(ctx, organisation, public_id)
    now = ctx.clock.now()
    if active and found.status != "active":
        found.status, found.disabled_at, found.disabled_reason = "active", None, None
        await _event(ctx, organisation, "webhook_endpoint.enabled", actor, found)
    elif not active and found.status == "active":
        found.status, found.disabled_at, found.disabled_reason = (
            "disabled",
            now,
            STOPPED_BY_ORGANISATION,
        )
        await _event(ctx, organisation, "webhook_endpoint.disabled", actor, found)
    await ctx.session.flush()
    return found


async def deliveries(
    ctx: ServiceContext, organisation: Organisation, public_id: str, limit: int = 50
) -> tuple[WebhookEndpoint, Sequence[WebhookDelivery]]:
    found = await endpoint(ctx, organisation, public_id)
    assert found.id is not None
    return found, await WebhookDeliveryRepository(ctx.session).deliveries_of(found.id, limit)


async def replay(
    ctx: ServiceContext, organisation: Organisation, public_id: str, delivery_id: str, actor: str
) -> WebhookDelivery:
    """Send one delivery again, now, with its own webhook-id (the receiver can tell it is the same)."""
    found = await endpoint(ctx, organisation, public_id)
    if found.status != "active":
        raise Conflict("This endpoint is disabled: enable it before replaying.")
    assert found.id is not None
    delivery = await WebhookDeliveryRepository(ctx.session).delivery_by_public_id(delivery_id, found.id)
    if delivery is None:
        raise WebhookDeliveryNotFound("This endpoint has no such delivery.")
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, ctx.clock.now()
    delivery.claimed_by = delivery.claimed_until = None
    await ctx.session.flush()
    await _event(ctx, organisation, "webhook_delivery.replayed", actor, found)
    return delivery


async def emit(ctx: ServiceContext, organisation_id: int, event_type: str, data: dict[str, object]) -> int:
    """Queue `event_type` for every active endpoint of the organisation that wants it."""
    assert event_type in EVENTS
    repo = WebhookDeliveryRepository(ctx.session)
    wanted = [
        e
        for e in await repo.endpoints_for(organisation_id)
        if not e.event_types or event_type in e.event_types
    ]
    now = ctx.clock.now()
    payload = json.dumps({"type": event_type, "timestamp": rfc3339(now), "data": data}, separators=(",", ":"))
    for target in wanted:
        assert target.id is not None
        repo.stage(
            WebhookDelivery(
                public_id="msg_" + secrets.token_urlsafe(18),
                endpoint_id=target.id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
        )
    if wanted:
        await ctx.session.flush()
    return len(wanted)


async def mandate_event(ctx: ServiceContext, mandate: Mandate, event_type: str, **extra: object) -> None:
    """The thin payload of a mandate event: its reference and your customer reference, nothing else."""
    await emit(
        ctx,
        mandate.organisation_id,
        event_type,
        {"mandate_reference": mandate.reference, "customer_reference": mandate.customer_reference, **extra},
    )


async def disabled(
    ctx: ServiceContext, organisation: Organisation, endpoint: WebhookEndpoint, reason: str
) -> None:
    """The delivery worker gave up on an endpoint (410, or about three days of failures)."""
    await audit.record(
        ctx,
        f"organisation:{organisation.slug}",
        "webhook_endpoint.disabled",
        "registry",
        {"endpoint": endpoint.public_id, "url": endpoint.url, "reason": reason},
        organisation_id=organisation.id,
    )


async def _event(
    ctx: ServiceContext, organisation: Organisation, kind: str, actor: str, endpoint: WebhookEndpoint
) -> None:
    await audit.record(
        ctx,
        f"organisation:{organisation.slug}",
        kind,
        actor,
        {"endpoint": endpoint.public_id, "url": endpoint.url},
        organisation_id=organisation.id,
    )
