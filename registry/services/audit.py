"""The hash-chained audit trail.

There is one chain per subject (a mandate, an organisation, a holder), never one global chain: a global
head would be a lock that every verification waits on. Each event carries the SHA-256 of the previous
event of its chain; the newest hash and the count of every chain are kept apart in `audit_head`, so that
deleting the newest events of a chain is detected as well as any change or reordering in the middle.

A background sealer (`seal`, run by the worker every round) then links every committed event, in the
order it finds them, into one more chain in `audit_seal`. Only the sealer writes that chain, so no request
waits for it; it catches what per-subject chains cannot: a whole chain deleted together with its head, or
one rewritten with recomputed hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from registry.models import AuditEvent, AuditSeal
from registry.repositories import GENESIS, SEAL_CHAIN, AuditRepository
from registry.services import ServiceContext


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    return digest(
        prev_hash,
        chain=event.chain,
        seq=event.seq,
        occurred_at=event.occurred_at,
        kind=event.kind,
        actor=event.actor,
        organisation_id=event.organisation_id,
        holder_id=event.holder_id,
        mandate_id=event.mandate_id,
        data=event.data,
    )


def digest(
    prev_hash: str,
    *,
    chain: str,
    seq: int,
    occurred_at: datetime,
    kind: str,
    actor: str,
    organisation_id: int | None,
    holder_id: int | None,
    mandate_id: int | None,
    data: str,
) -> str:
    """The hash of an event with these fields after `prev_hash` (the hot path hashes without a model)."""
    body = canonical(
        {
            "chain": chain,
            "seq": seq,
            "occurred_at": occurred_at.isoformat(timespec="microseconds"),
            "kind": kind,
            "actor": actor,
            "organisation_id": organisation_id,
            "holder_id": holder_id,
            "mandate_id": mandate_id,
            "data": data,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


async def record(
    ctx: ServiceContext,
    chain: str,
    kind: str,
    actor: str,
    data: dict[str, Any] | None = None,
    *,
    organisation_id: int | None = None,
    holder_id: int | None = None,
    mandate_id: int | None = None,
) -> AuditEvent:
    """Append an event to `chain` in the caller's transaction; it commits with the change it records."""
    repo = AuditRepository(ctx.session)
    now = ctx.clock.now()
    head = await repo.lock_head(chain, now)
    event = AuditEvent(
        chain=chain,
        seq=head.count + 1,
        occurred_at=now,
        kind=kind,
        actor=actor,
        organisation_id=organisation_id,
        holder_id=holder_id,
        mandate_id=mandate_id,
        data=canonical(data or {}),
        prev_hash=head.head_hash,
        hash="",
    )
    event.hash = event_hash(head.head_hash, event)
    head.count, head.head_hash, head.updated_at = event.seq, event.hash, now
    await repo.add(event)
    return event


def seal_hash(prev_hash: str, event_id: int, event_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{event_id}:{event_hash}".encode()).hexdigest()


# An event is sealed after it commits. Looking back this far from the newest sealed event catches the
# ones that committed late (a lower id committed after a higher one) or were stamped by a slower clock,
# without scanning the whole table every round.
SEAL_LOOKBACK = timedelta(minutes=15)


async def seal(ctx: ServiceContext, limit: int = 5000) -> int:
    """Seal up to `limit` unsealed events, oldest id first; return how many. Safe to run in many workers."""
    repo = AuditRepository(ctx.session)
    head = await repo.lock_seal_head(ctx.clock.now())
    # The seal head's updated_at holds the time of the newest sealed event (not of the sealing).
    since = head.updated_at - SEAL_LOOKBACK if head.count else None
    events = await repo.unsealed(since, limit)
    for event in events:
        assert event.id is not None
        digest = seal_hash(head.head_hash, event.id, event.hash)
        repo.stage(AuditSeal(seq=head.count + 1, event_id=event.id, prev_hash=head.head_hash, hash=digest))
        head.count, head.head_hash = head.count + 1, digest
        head.updated_at = max(head.updated_at, event.occurred_at) if head.count > 1 else event.occurred_at
    await ctx.session.flush()
    return len(events)


@dataclass(frozen=True)
class ChainReport:
    events: int
    chains: int
    unsealed: int = 0
    first_bad_event_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class _Finding:
    event_id: int | None
    problem: str


async def verify(ctx: ServiceContext) -> ChainReport:
    """Recompute every chain; report the first bad event by id (or the chain whose head disagrees)."""
    repo = AuditRepository(ctx.session)
    heads = await repo.heads()
    seal_head = heads.pop(SEAL_CHAIN, None)
    findings: list[_Finding] = await _check_seals(repo, seal_head)
    seen: dict[str, tuple[int, str]] = {}
    broken: set[str] = set()
    events = 0
    async for event in repo.stream_events():
        events += 1
        count, prev = seen.get(event.chain, (0, GENESIS))
        if event.chain not in broken:
            problem = _check_event(event, count, prev)
            if problem:
                findings.append(_Finding(event.id, problem))
                broken.add(event.chain)
        seen[event.chain] = (event.seq, event.hash)
    findings.extend(_check_heads(heads, seen, broken))
    unsealed = await repo.count_unsealed()
    if not findings:
        return ChainReport(events=events, chains=len(seen), unsealed=unsealed)
    first = min(findings, key=lambda f: (f.event_id is None, f.event_id or 0))
    return ChainReport(events, len(seen), unsealed, first.event_id, first.problem)


def _check_event(event: AuditEvent, count: int, prev: str) -> str | None:
    if event.seq != count + 1:
        return f"event {event.id}: chain {event.chain} jumps from #{count} to #{event.seq} (events removed)"
    if event.prev_hash != prev:
        return f"event {event.id}: does not follow the previous event of chain {event.chain}"
    if event.hash != event_hash(prev, event):
        return f"event {event.id}: its content was changed after it was written"
    return None


def _check_heads(heads: dict[str, Any], seen: dict[str, tuple[int, str]], broken: set[str]) -> list[_Finding]:
    findings = []
    for chain, head in heads.items():
        count, last = seen.get(chain, (0, GENESIS))
        if chain not in broken and (head.count, head.head_hash) != (count, last):
            findings.append(
                _Finding(
                    None,
                    f"chain {chain}: the head records {head.count} events but "
                    f"{count} remain (the newest events were deleted or changed)",
                )
            )
    for chain in seen.keys() - heads.keys():
        findings.append(_Finding(None, f"chain {chain}: its head is missing"))
    return findings


async def _check_seals(repo: AuditRepository, head: Any) -> list[_Finding]:
    count, prev = 0, GENESIS
    async for seal_row, event_hash in repo.stream_seals():
        if seal_row.seq != count + 1 or seal_row.prev_hash != prev:
            return [_Finding(seal_row.event_id, f"seal #{seal_row.seq}: seals were removed or reordered")]
        if event_hash is None:
            return [_Finding(seal_row.event_id, f"event {seal_row.event_id}: sealed, but deleted since")]
        if seal_row.hash != seal_hash(prev, seal_row.event_id, event_hash):
            return [_Finding(seal_row.event_id, f"event {seal_row.event_id}: rewritten after it was sealed")]
        count, prev = seal_row.seq, seal_row.hash
    recorded = (head.count, head.head_hash) if head is not None else (0, GENESIS)
    if recorded != (count, prev):
        return [_Finding(None, f"seals: the head records {recorded[0]} seals but {count} remain")]
    return []
