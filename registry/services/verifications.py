"""Verification: may this caller act for this customer, and for what?

The order of work is the security of it (SECURITY.md): the key's failure budget is checked first; only
the calling organisation's mandates are candidates, so another organisation can neither probe nor lock
them; each candidate's attempt is counted by one atomic UPDATE before any code is looked at, and that
UPDATE holds the mandate's guard row until the transaction ends, so checks of one mandate take turns; a
locked mandate is answered without evaluating the code; and the code is spent by a conditional UPDATE
whose row count decides, a second line should the turns ever be lost. Every failure is the same answer,
and does the same work (`_decoy`).
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from registry import otp, references
from registry.clock import rfc3339
from registry.errors import (
    FieldError,
    InvalidCode,
    InvalidInput,
    InvalidReference,
    RateLimited,
    VerificationNotFound,
)
from registry.models import Holder, Mandate, MandateGuard, Verification
from registry.repositories import (
    ApiKeyRepository,
    GuardRepository,
    HolderRepository,
    MandateRepository,
    VerificationRepository,
)
from registry.security import keyed_hash
from registry.services import (
    ServiceContext,
    api_keys,
    audit,
    authenticators,
    codes,
    mandates,
    notifications,
    webhooks,
)
from registry.services.api_keys import Caller
from registry.services.holders import normalise_email
from registry.services.mandates import effective_status
from registry.vocabulary import Action, Binding, EffectiveStatus

SOFT_LOCK_AFTER = 5
SOFT_LOCK_FOR = timedelta(minutes=15)
HARD_LOCK_AFTER = 10
HARD_LOCK_WINDOW = timedelta(hours=24)
KEY_ALERT_AT = 20
KEY_BLOCK_AT = 100
BUDGET_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Check:
    code: str
    mandate_reference: str | None = None
    customer_reference: str | None = None
    action: str | None = None
    customer_email: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True)
class _Clean:
    code: str
    reference: str | None
    customer_reference: str | None
    action: Action | None
    customer_email: str | None
    agent: str | None


def agent_pseudonym(ctx: ServiceContext, organisation_id: int, agent_id: str) -> str:
    """A stable name such as `Agent 4F2A` that holders see instead of the CRM's id for its agent."""
    return "Agent " + keyed_hash(ctx.keys, "agent", f"{organisation_id}:{agent_id}")[:4].upper()


def _clean(ctx: ServiceContext, caller: Caller, check: Check) -> _Clean:
    errors: list[FieldError] = []
    code = _field(errors, lambda: otp.normalise_code(check.code))
    if (check.mandate_reference is None) == (check.customer_reference is None):
        errors.append(FieldError("mandate_reference", "Give either mandate_reference or customer_reference."))
    reference = _field(
        errors,
        lambda: (
            references.parse_reference(check.mandate_reference, "mandate_reference")
            if check.mandate_reference is not None
            else None
        ),
    )
    customer_reference = (check.customer_reference or "").strip() or None
    if check.customer_reference is not None and not customer_reference:
        errors.append(FieldError("customer_reference", "The customer reference is empty."))
    if check.action is not None and check.action not in Action.__members__:
        errors.append(FieldError("action", f"Use one of: {', '.join(Action)}."))
    email = _field(
        errors,
        lambda: normalise_email(check.customer_email, "customer_email") if check.customer_email else None,
    )
    if check.agent_id is not None and not 1 <= len(check.agent_id) <= 100:
        errors.append(FieldError("agent_id", "Give the CRM's id for its agent in 1 to 100 characters."))
    if errors:
        fields = {e.field for e in errors}
        if fields == {"mandate_reference"}:  # one problem: its own code, so a client can tell it apart
            raise InvalidReference(errors[0].message, errors)
        if fields == {"code"}:
            raise InvalidCode(errors[0].message, errors)
        raise InvalidInput("The check cannot be made as sent.", errors)
    agent = agent_pseudonym(ctx, _id(caller.organisation), check.agent_id) if check.agent_id else None
    action = Action(check.action) if check.action else None
    return _Clean(code or "", reference, customer_reference, action, email, agent)


def _field(errors: list[FieldError], parse: Any) -> Any:
    try:
        return parse()
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return None


async def _claim_failure(ctx: ServiceContext, caller: Caller) -> int:
    """Count this check as a failure of the key before any code is looked at (given back on success),
    and refuse it with 429 once the key has KEY_BLOCK_AT failures within the last 60 minutes. Claiming
    first makes the budget exact under parallel requests: the bucket row is the key's turnstile."""
    now = ctx.clock.now()
    keys = ApiKeyRepository(ctx.session)
    await keys.count_failure(_id(caller.key), _minute(now), now - BUDGET_WINDOW - timedelta(minutes=1))
    buckets = await keys.failures(_id(caller.key), now - BUDGET_WINDOW)
    total = sum(count for _, count in buckets)
    if total <= KEY_BLOCK_AT:
        return total
    release_at = now
    for minute, count in buckets:  # wait until enough of the oldest minutes have left the window
        total -= count
        release_at = minute + BUDGET_WINDOW
        if total < KEY_BLOCK_AT:
            break
    raise RateLimited(
        f"This key failed {KEY_BLOCK_AT} checks within an hour; it may check again later.",
        retry_after=max(1, math.ceil((release_at - now).total_seconds())),
    )


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def _candidates(ctx: ServiceContext, caller: Caller, clean: _Clean, now: datetime) -> list[Mandate]:
    organisation_id = _id(caller.organisation)
    if clean.reference is not None:
        mandate = await MandateRepository(ctx.session).by_reference(clean.reference)
        return [mandate] if mandate is not None and mandate.organisation_id == organisation_id else []
    assert clean.customer_reference is not None
    return list(
        await VerificationRepository(ctx.session).active_for_customer(
            organisation_id, clean.customer_reference, now
        )
    )


def _may_evaluate(guard: MandateGuard, now: datetime) -> bool:
    return (
        guard.hard_locked_at is None
        and (guard.locked_until is None or guard.locked_until <= now)
        and guard.streak <= SOFT_LOCK_AFTER
    )


async def _spend(ctx: ServiceContext, mandate: Mandate, code: str) -> bool:
    if len(code) == otp.CALL_CODE_DIGITS:
        return await codes.spend(ctx, mandate, code)
    return await authenticators.spend(ctx, mandate, code)


async def verify(ctx: ServiceContext, caller: Caller, check: Check) -> str:
    """Check a code; return the JSON answer, which is kept byte for byte as the receipt."""
    caller.require("verify")
    clean = _clean(ctx, caller, check)
    failures = await _claim_failure(ctx, caller)
    now = ctx.clock.now()
    guards = GuardRepository(ctx.session)
    looked_at: list[Mandate] = []
    tried: list[tuple[Mandate, MandateGuard]] = []
    matched: Mandate | None = None
    candidates = await _candidates(ctx, caller, clean, now)
    if not candidates:
        await guards.claim_nothing()
        await _decoy(ctx, None, clean.code, now)
    for mandate in candidates:
        looked_at.append(mandate)
        if effective_status(mandate, now) != EffectiveStatus.active:
            # Not counted: a mandate that cannot be used yet (or any more) must not lock up silently.
            await guards.claim_nothing()
            await _decoy(ctx, mandate, clean.code, now)
            continue
        guard = await guards.claim(_id(mandate), now)
        if not _may_evaluate(guard, now):
            await _decoy(ctx, mandate, clean.code, now)
            continue
        tried.append((mandate, guard))
        if await _spend(ctx, mandate, clean.code):
            matched = mandate
            break
    public_id = "vrf_" + secrets.token_urlsafe(18)
    if matched is not None:
        await ApiKeyRepository(ctx.session).give_back_failure(_id(caller.key), _minute(now))
        await guards.succeeded(_id(matched))
        for other, _ in tried:  # the code was another of the customer's mandates': give their claim back
            if other is not matched:
                await guards.release(_id(other))
        answer = await _verified(ctx, public_id, matched, clean)
        if matched.notify_checks:
            await notifications.checked(
                ctx, matched, clean.action.value if clean.action else None, clean.agent
            )
    else:
        answer = {"result": "not_verified", "verification_id": public_id}
        await _failed(ctx, caller, tried, now, failures)
    # Rows are written in one order by every check (guards, the key, audit heads), so none deadlock.
    await api_keys.record_use(ctx, caller)
    return await _keep(ctx, caller, public_id, matched, clean, answer, looked_at, {m.id for m, _ in tried})


async def _decoy(ctx: ServiceContext, mandate: Mandate | None, code: str, now: datetime) -> None:
    """The reads and hashing of an evaluated failure, without its effects: a mandate that is unknown,
    locked or not active must not answer measurably faster than a wrong code (SECURITY.md: 5 ms)."""
    mandate_id = mandate.id if mandate is not None and mandate.id is not None else -1
    await codes.looks_like(ctx, mandate_id, code)
    await GuardRepository(ctx.session).count_failures(mandate_id, now - HARD_LOCK_WINDOW)


async def _verified(ctx: ServiceContext, public_id: str, mandate: Mandate, clean: _Clean) -> dict[str, Any]:
    binding = mandates.binding_of(mandate)
    if binding != Binding.organisation_confirmed and clean.customer_email:
        holder = await HolderRepository(ctx.session).by_id(mandate.holder_id)
        if holder is not None and holder.email == clean.customer_email:
            binding = Binding.email_match
    return {
        "result": "verified",
        "verification_id": public_id,
        "mandate_reference": mandate.reference,
        "proxy_name": mandate.proxy_name,
        "relation": mandate.proxy_relation,
        "scope": list(mandate.scope),
        "valid_until": rfc3339(mandate.valid_until),
        "action": clean.action.value if clean.action else None,
        "action_permitted": (clean.action.value in mandate.scope) if clean.action else None,
        "binding": binding.value,
    }


async def _failed(
    ctx: ServiceContext,
    caller: Caller,
    tried: list[tuple[Mandate, MandateGuard]],
    now: datetime,
    failures: int,
) -> None:
    guards = GuardRepository(ctx.session)
    for mandate, guard in tried:
        mandate_id = _id(mandate)
        in_day = await guards.record_failure(mandate_id, now, now - HARD_LOCK_WINDOW)
        if in_day >= HARD_LOCK_AFTER and guard.hard_locked_at is None:
            await guards.hard_lock(mandate_id, now)
            await _lock_event(ctx, mandate, "verification.hard_locked", {"failures_24h": in_day})
            await notifications.mandate_locked(ctx, mandate, hard=True)
        elif guard.streak == SOFT_LOCK_AFTER:
            await guards.lock(mandate_id, now + SOFT_LOCK_FOR)
            await _lock_event(
                ctx, mandate, "verification.locked", {"until": (now + SOFT_LOCK_FOR).isoformat()}
            )
            await notifications.mandate_locked(ctx, mandate, hard=False)
    if failures == KEY_ALERT_AT:
        await audit.record(
            ctx,
            f"organisation:{caller.organisation.slug}",
            "api_key.failure_alert",
            "registry",
            {"key_id": caller.key.id, "failures_this_hour": failures},
            organisation_id=caller.organisation.id,
        )
        await notifications.key_failures(ctx, caller.organisation, caller.key.prefix, failures)


async def _lock_event(ctx: ServiceContext, mandate: Mandate, kind: str, data: dict[str, Any]) -> None:
    if kind in ("verification.locked", "verification.hard_locked"):
        await webhooks.mandate_event(
            ctx, mandate, "verification.locked", until_holder_unlocks=kind.endswith("hard_locked")
        )
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        kind,
        "registry",
        data,
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )


async def _keep(
    ctx: ServiceContext,
    caller: Caller,
    public_id: str,
    matched: Mandate | None,
    clean: _Clean,
    answer: dict[str, Any],
    looked_at: list[Mandate],
    evaluated: set[int | None],
) -> str:
    """Store the receipt and one audit event per mandate that was looked at (never the code)."""
    body = json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
    await VerificationRepository(ctx.session).add(
        Verification(
            public_id=public_id,
            organisation_id=_id(caller.organisation),
            api_key_id=caller.key.id,
            mandate_id=matched.id if matched else None,
            agent_pseudonym=clean.agent,
            action=clean.action.value if clean.action else None,
            result=answer["result"],
            answer=body,
            created_at=ctx.clock.now(),
        )
    )
    data = {
        "verification_id": public_id,
        "action": clean.action.value if clean.action else None,
        "agent": clean.agent,
        "key_id": caller.key.id,
    }
    actor = f"organisation:{caller.organisation.slug}"
    for mandate in looked_at:
        kind = "verification.succeeded" if mandate is matched else "verification.failed"
        await audit.record(
            ctx,
            f"mandate:{mandate.reference}",
            kind,
            actor,
            {**data, "evaluated": mandate.id in evaluated},
            organisation_id=mandate.organisation_id,
            holder_id=mandate.holder_id,
            mandate_id=mandate.id,
        )
    if not looked_at:
        await audit.record(
            ctx, actor, "verification.failed", actor, data, organisation_id=caller.organisation.id
        )
    return body


async def receipt(ctx: ServiceContext, caller: Caller, public_id: str) -> str:
    """The answer of an earlier check by the same organisation, exactly as it was sent."""
    caller.require("verify")
    found = await VerificationRepository(ctx.session).by_public_id(public_id, _id(caller.organisation))
    if found is None:
        raise VerificationNotFound("There is no such verification for this organisation.")
    await api_keys.record_use(ctx, caller)
    return found.answer


def _id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


async def unlock(ctx: ServiceContext, holder: Holder, reference: str) -> None:
    """The holder lifts a lock (the hard one needs this); the streak starts again from zero."""
    view = await mandates.get_for_holder(ctx, holder, reference)
    await GuardRepository(ctx.session).unlock(_id(view.mandate))
    await _lock_event(ctx, view.mandate, "verification.unlocked", {"by": f"holder:{holder.id}"})


async def lock_state(ctx: ServiceContext, mandate: Mandate) -> str | None:
    """`hard` (until the holder unlocks), `soft` (15 minutes) or None, for the holder's pages."""
    guard = await GuardRepository(ctx.session).get(_id(mandate))
    if guard is None:
        return None
    if guard.hard_locked_at is not None:
        return "hard"
    if guard.locked_until is not None and guard.locked_until > ctx.clock.now():
        return "soft"
    return None
