"""`Idempotency-Key`: a retried POST gets the first answer again, and its work is done once.

The key is held for the length of the request's transaction (PostgreSQL: an advisory lock, so a second
request with the same key while the first runs gets 409; SQLite runs one writing transaction at a time,
so the second waits and is then answered from the first). The answer is written in the same transaction
as the work it answers: both are kept, or neither is. Keys are kept 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from registry.errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput
from registry.models import IdempotencyRecord
from registry.repositories import IdempotencyRepository
from registry.services import ServiceContext

KEEP = timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Stored:
    status: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The same request whatever the JSON's spacing or key order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInput.for_field(
            HEADER, "Use 1 to 255 visible ASCII characters without spaces, such as a UUID."
        )
    return key


async def look_up(ctx: ServiceContext, organisation_id: int, key: str, print_: str) -> Stored | None:
    """The answer kept for this key, or None when the work is still to be done (in this transaction)."""
    repo = IdempotencyRepository(ctx.session)
    if not await repo.hold(organisation_id, check_key(key)):
        raise IdempotencyKeyInUse("A request with this Idempotency-Key is still running. Try again shortly.")
    record = await repo.get(organisation_id, key)
    if record is None or record.created_at <= ctx.clock.now() - KEEP:
        return None
    if record.fingerprint != print_:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used in the last 24 hours for a request with another body.",
            [IdempotencyKeyReused.for_field(HEADER, "Use a new key for a new request.").errors[0]],
        )
    return Stored(record.response_status, record.response_body)


async def keep(
    ctx: ServiceContext, organisation_id: int, key: str, print_: str, status: int, body: str
) -> None:
    """Keep the answer with the work, in the same transaction; a key older than 24 hours starts over."""
    repo = IdempotencyRepository(ctx.session)
    record = await repo.get(organisation_id, key)
    now = ctx.clock.now()
    if record is None:
        record = IdempotencyRecord(
            organisation_id=organisation_id,
            key=key,
            created_at=now,
            fingerprint=print_,
            response_status=status,
            response_body=body,
        )
        await repo.add(record)
        return
    record.fingerprint, record.response_status, record.response_body = print_, status, body
    record.created_at = now
    await ctx.session.flush()


async def forget_old(ctx: ServiceContext) -> int:
    """Remove keys older than 24 hours (the worker runs this; reads ignore them anyway)."""
    return await IdempotencyRepository(ctx.session).forget_before(ctx.clock.now() - KEEP)
