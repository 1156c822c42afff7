"""Verification: may this caller act for this customer, and for what?

The order of work is the security of it (SECURITY.md): the key's failure budget is checked first; only
the calling organisation's mandates are candidates, so another organisation can neither probe nor lock
them; the candidates' guard rows are locked before any code is looked at, and held until the transaction
ends, so checks of one mandate take turns and every attempt is counted, in the same transaction that
answers it, before the answer can be seen; a locked mandate is answered without evaluating the code; and
the code is spent by a conditional UPDATE whose row count decides. Every failure is the same answer and
does the same work: the same statements, and the code hashed even when there is nothing to compare.

This is the hot path of the service, so it talks to the database in two batches of plain SQL
(`registry.db.rawsql`; one round trip each on PostgreSQL) instead of the ORM's fifteen statements:
first lock and read (guards, the key's use, audit head, candidates, the key's failures), then decide in
Python, then write (guards, failures, the spend, the receipt, the audit events and heads, the key's
failure bucket). docs/performance.md has the numbers.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm.attributes import set_committed_value

from registry.clock import rfc3339
from registry.crypto import otp
from registry.crypto.security import decrypt, keyed_hash
from registry.db import rawsql
from registry.db.rawsql import Call, Result, json_of, time_of
from registry.domain import references
from registry.domain.vocabulary import Action, Binding, EffectiveStatus
from registry.errors import (
    Conflict,
    FieldError,
    InvalidCode,
    InvalidInput,
    InvalidReference,
    RateLimited,
    VerificationNotFound,
)
from registry.http import metrics
from registry.models import Holder, Mandate
from registry.repositories import (
    GENESIS,
    ApiKeyRepository,
    GuardRepository,
    VerificationRepository,
    check_sql,
)
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
from registry.settings import Keys

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
    agent_id: str | None

    def agent(self, keys: Keys, organisation_id: int) -> str | None:
        return _pseudonym(keys, organisation_id, self.agent_id) if self.agent_id else None

    def permitted_in(self, scope: Sequence[str]) -> bool | None:
        """Whether the action asked about is in the mandate's scope; None when no action was asked about."""
        return self.action.value in scope if self.action else None

    @property
    def with_email(self) -> bool:
        """Whether the holder's address is needed: only to compare it with the customer's given here."""
        return self.customer_email is not None


def agent_pseudonym(ctx: ServiceContext, organisation_id: int, agent_id: str) -> str:
    """A stable name such as `Agent 4F2A` that holders see instead of the CRM's id for its agent."""
    return _pseudonym(ctx.keys, organisation_id, agent_id)


def _pseudonym(keys: Keys, organisation_id: int, agent_id: str) -> str:
    return "Agent " + keyed_hash(keys, "agent", f"{organisation_id}:{agent_id}")[:4].upper()


def clean(check: Check) -> _Clean:
    """The check as sent, normalised; InvalidInput (or InvalidReference, InvalidCode) names each field."""
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
    action = Action(check.action) if check.action else None
    return _Clean(code or "", reference, customer_reference, action, email, check.agent_id)


def _field(errors: list[FieldError], parse: Any) -> Any:
    try:
        return parse()
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return None


@dataclass(frozen=True)
class _Terms:
    """The columns of a mandate a check reads (a plain row: an ORM object costs more than the check)."""

    id: int
    reference: str
    holder_id: int | None
    organisation_id: int
    customer_reference: str | None
    proxy_name: str
    proxy_relation: str
    scope: list[str]
    valid_from: datetime
    valid_until: datetime
    status: str
    binding: str
    customer_confirmed_at: datetime | None
    notify_checks: bool


@dataclass
class _Candidate:
    """One of the organisation's mandates the check may be for, with its guard and secrets, as read."""

    mandate: _Terms
    streak: int
    locked_until: datetime | None
    hard_locked_at: datetime | None
    code_id: int | None
    code_hash: str | None
    authenticator_id: int | None
    authenticator_active: bool
    secret_encrypted: str | None
    last_step: int
    holder_email: str | None
    failures_24h: int
    claimed: bool = False
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    as_read: tuple[int, datetime | None, datetime | None] = field(init=False)

    def __post_init__(self) -> None:
        self.as_read = self.guard

    @property
    def guard(self) -> tuple[int, datetime | None, datetime | None]:
        return self.streak, self.locked_until, self.hard_locked_at

    @property
    def id(self) -> int:
        return self.mandate.id

    @property
    def chain(self) -> str:
        return f"mandate:{self.mandate.reference}"

    def claim(self, now: datetime) -> bool:
        """Count the attempt (an expired soft lock starts a new streak); may the code be evaluated?"""
        self.claimed = True
        if self.locked_until is not None and self.locked_until <= now:
            self.streak, self.locked_until = 1, None
        else:
            self.streak += 1
        return self.hard_locked_at is None and self.locked_until is None and self.streak <= SOFT_LOCK_AFTER


def _candidate(row: tuple[Any, ...]) -> _Candidate:
    (mid, reference, holder_id, organisation_id, customer_reference, proxy_name, relation, scope,
     valid_from, valid_until, status, binding, confirmed_at, notify_checks, streak, locked_until,
     hard_locked_at, code_id, code_hash, authenticator_id, authenticator_status, secret, last_step,
     holder_email, failures) = row  # fmt: skip
    mandate = _Terms(
        mid,
        reference,
        holder_id,
        organisation_id,
        customer_reference,
        proxy_name,
        relation,
        json_of(scope),
        _at(valid_from),
        _at(valid_until),
        status,
        binding,
        time_of(confirmed_at),
        bool(notify_checks),
    )
    return _Candidate(
        mandate,
        int(streak or 0),
        time_of(locked_until),
        time_of(hard_locked_at),
        code_id,
        code_hash,
        authenticator_id,
        authenticator_status == authenticators.ACTIVE,
        secret,
        -1 if last_step is None else int(last_step),
        holder_email,
        int(failures),
    )


class Raced(Exception):
    """A code changed under the check (the holder retired it): undo and check again."""


RACE_RETRIES = 3


Run = Callable[[Sequence[Call]], Awaitable[list[Result]]]


@dataclass(frozen=True)
class Who:
    """The calling key and its organisation, as much of them as a check needs."""

    key_id: int
    key_hash: str
    organisation_id: int
    organisation_slug: str
    touch: bool = False  # note the key's use with the check's writes (the fast lane: its use is read there)

    @classmethod
    def of(cls, caller: Caller) -> Who:
        key, organisation = caller.key, caller.organisation
        return cls(_id(key), key.key_hash, _id(organisation), organisation.slug)


class NotAdmitted(Exception):
    """The caller may not make this check here (the fast lane then hands it to the full route)."""


class Handover(Exception):
    """The check sets off more than its receipt (a lock, the holder's notice): the full route makes it."""


# Given the key's row as the first batch read it, the caller; or raise NotAdmitted.
Admit = Callable[[tuple[Any, ...] | None], Awaitable[Who]]


@dataclass
class Outcome:
    """What a check answered and wrote, and what it sets off besides."""

    body: str
    candidates: list[_Candidate]
    matched: _Candidate | None
    alert: int | None  # the key's failures within the hour, when they call for the alert

    @property
    def sets_off(self) -> bool:
        """Lock e-mails and webhooks, the holder's notice of a check, the key's alert: the ORM's work."""
        notice = self.matched is not None and self.matched.mandate.notify_checks
        return notice or self.alert is not None or any(c.events for c in self.candidates)


async def verify(ctx: ServiceContext, caller: Caller, check: Check) -> str:
    """Check a code; return the JSON answer, which is kept byte for byte as the receipt."""
    caller.require("verify")
    cleaned = clean(check)
    who = Who.of(caller)

    async def admit(_row: tuple[Any, ...] | None) -> Who:
        return who  # the caller was authenticated before

    for _ in range(RACE_RETRIES):
        now = ctx.clock.now()
        touch = api_keys.due_for_touch(caller.key.last_used_at, now)
        run = partial(rawsql.batch, ctx.session)
        try:
            outcome = await check_with(run, ctx.keys, now, who.key_hash, cleaned, admit, touch=touch)
        except Raced:
            continue
        if touch:
            set_committed_value(caller.key, "last_used_at", now)
        await _tell(ctx, caller, cleaned, outcome)
        return outcome.body
    raise Conflict("The code changed while it was being checked; check again.")


async def check_with(
    run: Run,
    keys: Keys,
    now: datetime,
    key_hash: str,
    clean: _Clean,
    admit: Admit,
    *,
    touch: bool,
    savepoint: bool = True,
    postgres_lane: bool = False,
) -> Outcome:
    """One attempt on the statements `run` sends: two batches in the common case (on PostgreSQL two round
    trips), the first of which also reads the caller's key for `admit`. `touch` notes the key's use in the
    check's lock order. In a savepoint, unless the transaction is the check's own (the fast lane's).
    `postgres_lane`: the fast lane on PostgreSQL, which locks and reads in one statement, writes in one,
    and commits in the same round trip. Raises Raced when a code changed under it: all undone, try again."""
    day_ago, since = now - HARD_LOCK_WINDOW, now - BUDGET_WINDOW
    try:
        if postgres_lane:
            key_row, heads, candidates = await _lock_and_read(run, key_hash, clean, now, since, day_ago)
        else:
            key_row, heads, candidates = await _lock_then_read(
                run, key_hash, clean, now, since, day_ago, touch=touch, savepoint=savepoint
            )
        who = await admit(key_row[: check_sql.KEY_WIDTH] if key_row else None)
        assert key_row is not None
        failures = int(key_row[8])
        if failures >= KEY_BLOCK_AT:
            (buckets,) = await run([check_sql.key_buckets(who.key_id, since)])
            raise _key_blocked([*_buckets(buckets), (_minute(now), 1)], now)
        return await _decide(run, keys, who, clean, now, candidates, heads, combine=postgres_lane)
    except BaseException:
        if savepoint and not postgres_lane:
            await run([(check_sql.ROLLBACK, {})])
        raise


Read = tuple[tuple[Any, ...] | None, dict[str, tuple[int, str]], list[_Candidate]]


async def _lock_then_read(
    run: Run,
    key_hash: str,
    clean: _Clean,
    now: datetime,
    since: datetime,
    day_ago: datetime,
    *,
    touch: bool,
    savepoint: bool,
) -> Read:
    """The key's row, the locked audit head (by reference) and the candidates, read after the locks."""
    first: list[Call] = [(check_sql.SAVEPOINT, {})] if savepoint else []
    first.append(check_sql.key(key_hash, since))
    if clean.reference is not None:
        first.append(check_sql.guards_by_reference(clean.reference, key_hash))
    else:
        assert clean.customer_reference is not None
        first.append(check_sql.guards_for_customer(clean.customer_reference, key_hash, now))
    if touch:  # after the guards, before the heads: the one lock order of every check
        first.append(check_sql.touch_key(key_hash, now, now - api_keys.TOUCH_EVERY))
    first += _heads_and_candidates(key_hash, clean, now, day_ago)
    read = await run(first)
    heads = {c: (n, d) for c, n, d in read[-2].rows} if clean.reference else {}
    return read[1 if savepoint else 0].one(), heads, [_candidate(row) for row in read[-1].rows]


def _heads_and_candidates(key_hash: str, clean: _Clean, now: datetime, day_ago: datetime) -> list[Call]:
    if clean.reference is not None:
        return [
            check_sql.head_by_reference(clean.reference, key_hash, GENESIS, now),
            check_sql.candidate_by_reference(clean.reference, key_hash, now, day_ago, clean.with_email),
        ]
    assert clean.customer_reference is not None
    customer = clean.customer_reference
    return [check_sql.candidates_for_customer(customer, key_hash, now, day_ago, clean.with_email)]


async def _lock_and_read(
    run: Run, key_hash: str, clean: _Clean, now: datetime, since: datetime, day_ago: datetime
) -> Read:
    """PostgreSQL's fast lane: the same in one statement, whose candidates are as its snapshot saw them.
    When another check of a candidate committed after that snapshot (it waited for the guard, say), the
    candidates are read again, locks held, with the head's lock (`check_sql.lock_and_read`)."""
    call = check_sql.lock_and_read(
        clean.reference, clean.customer_reference, key_hash, since, now, day_ago, clean.with_email
    )
    (result,) = await run([call])
    if not result.rows:
        return None, {}, []
    key_row, at, width = result.rows[0], check_sql.CANDIDATE_AT, check_sql.CANDIDATE_WIDTH
    found = [row[at : at + width + 1] for row in result.rows if row[at] is not None]
    if all(row[width] for row in found):  # each candidate's last column: `fresh`
        chain, count, digest = key_row[check_sql.KEY_WIDTH : at]
        heads = {chain: (count, digest)} if chain is not None else {}
        return key_row, heads, [_candidate(row[:width]) for row in found]
    read = await run(_heads_and_candidates(key_hash, clean, now, day_ago))
    heads = {c: (n, d) for c, n, d in read[0].rows} if clean.reference else {}
    return key_row, heads, [_candidate(row) for row in read[-1].rows]


def _buckets(result: Result) -> list[tuple[datetime, int]]:
    return [(_at(minute), int(count)) for minute, count in result.rows]


def _at(value: Any) -> datetime:
    at = time_of(value)
    assert at is not None
    return at


async def _decide(
    run: Run,
    keys: Keys,
    who: Who,
    clean: _Clean,
    now: datetime,
    candidates: list[_Candidate],
    heads: dict[str, tuple[int, str]],
    *,
    combine: bool,
) -> Outcome:
    tried: list[_Candidate] = []
    matched: _Candidate | None = None
    spend: Call | None = None
    if not candidates:
        codes.decoy(keys, clean.code)
    for candidate in candidates:
        # A mandate that cannot be used (yet, or any more) is not counted, so it cannot lock up silently;
        # a locked one is answered without evaluating the code. Both hash the code all the same.
        if effective_status(candidate.mandate, now) != EffectiveStatus.active or not candidate.claim(now):
            codes.decoy(keys, clean.code)
            continue
        tried.append(candidate)
        spend = _evaluate(keys, candidate, clean.code, now)
        if spend is not None:
            matched = candidate
            break
    public_id = "vrf_" + secrets.token_urlsafe(18)
    writes: list[Call] = []
    if matched is not None and spend is not None:
        writes.append(spend)
        for other in tried:  # the code was another of the customer's mandates': give their claim back
            other.streak = 0 if other is matched else max(other.streak - 1, 0)
        answer = _verified(public_id, matched, clean)
    else:
        answer = {"result": "not_verified", "verification_id": public_id}
        for candidate in tried:
            writes.append(check_sql.record_failure(candidate.id, now))
            in_day = candidate.failures_24h + 1
            if in_day >= HARD_LOCK_AFTER and candidate.hard_locked_at is None:
                candidate.hard_locked_at = now
                candidate.events.append(("verification.hard_locked", {"failures_24h": in_day}))
            elif candidate.streak == SOFT_LOCK_AFTER:
                candidate.locked_until = now + SOFT_LOCK_FOR
                candidate.events.append(
                    ("verification.locked", {"until": candidate.locked_until.isoformat()})
                )
    for candidate in candidates:
        # Its row is locked either way; written only when the check changed it (a success from a clean
        # streak leaves it as it was).
        if candidate.claimed and candidate.guard != candidate.as_read:
            writes.append(check_sql.set_guard(candidate.id, *candidate.guard))
    body = json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
    writes.append(
        check_sql.receipt(
            public_id=public_id,
            organisation=who.organisation_id,
            key=who.key_id,
            mandate=matched.id if matched else None,
            agent=clean.agent(keys, who.organisation_id),
            action=clean.action.value if clean.action else None,
            result=answer["result"],
            answer=body,
            now=now,
        )
    )
    writes += await _audit(run, keys, who, clean, now, public_id, candidates, matched, tried, heads)
    if who.touch:
        touch = check_sql.touch_key_unless_busy if combine else check_sql.touch_key
        writes.append(touch(who.key_hash, now, now - api_keys.TOUCH_EVERY))
    failed = matched is None
    since = now - BUDGET_WINDOW
    if combine:
        # The check's own transaction (the fast lane, PostgreSQL): the writes in one statement, then
        # COMMIT in the same round trip. What cannot be known before (the code spent by someone else,
        # the key's alert or budget reached) is asserted, and aborts the transaction instead.
        if any(c.events for c in candidates) or (matched is not None and matched.mandate.notify_checks):
            raise Handover()
        batch = [rawsql.combined(writes, one_row=[(0, "the code was used meanwhile")] if spend else [])]
        if failed:
            batch.append(
                check_sql.count_failure_within_budget(
                    who.key_id, _minute(now), since, KEY_BLOCK_AT, KEY_ALERT_AT
                )
            )
        await run([*batch, (check_sql.COMMIT, {})])
        return Outcome(body, candidates, matched, None)
    if failed:  # the key's failure bucket is the last lock taken
        writes.append(check_sql.count_key_failure(who.key_id, _minute(now)))
        writes.append(check_sql.key_buckets(who.key_id, since))
    done = await run(writes)
    if spend is not None and matched is not None and not done[0].rows:
        raise Raced()
    alert = None
    if failed:
        buckets = _buckets(done[-1])
        failures = sum(count for _, count in buckets)
        if failures > KEY_BLOCK_AT:
            raise _key_blocked(buckets, now)
        alert = failures if failures == KEY_ALERT_AT else None
    return Outcome(body, candidates, matched, alert)


def _evaluate(keys: Keys, candidate: _Candidate, code: str, now: datetime) -> Call | None:
    """The write that spends `code` if it is the candidate's live call code or authenticator code."""
    if len(code) == otp.CALL_CODE_DIGITS:
        expected = candidate.code_hash or codes.code_hash(keys, 0, "0" * otp.CALL_CODE_DIGITS)
        right = codes.is_code(keys, expected, candidate.id, code) and candidate.code_id is not None
        return check_sql.spend_code(candidate.code_id, now) if right and candidate.code_id else None
    if (
        not candidate.authenticator_active
        or candidate.authenticator_id is None
        or not candidate.secret_encrypted
    ):
        return None
    secret = decrypt(keys, candidate.secret_encrypted, candidate.mandate.reference.encode()).decode()
    step = otp.matching_step(secret, code, now)
    if step is None or step <= candidate.last_step:
        return None
    return check_sql.accept_step(candidate.authenticator_id, step)


def _verified(public_id: str, candidate: _Candidate, clean: _Clean) -> dict[str, Any]:
    mandate = candidate.mandate
    binding = mandates.binding_of(mandate)
    by_email = clean.customer_email is not None and candidate.holder_email == clean.customer_email
    if binding != Binding.organisation_confirmed and by_email:
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
        "action_permitted": clean.permitted_in(mandate.scope),
        "binding": binding.value,
    }


async def _audit(
    run: Run,
    keys: Keys,
    who: Who,
    clean: _Clean,
    now: datetime,
    public_id: str,
    candidates: list[_Candidate],
    matched: _Candidate | None,
    tried: list[_Candidate],
    heads: dict[str, tuple[int, str]],
) -> list[Call]:
    """The audit events of the check (never the code): per mandate looked at, its lock events first, then
    the check; with no mandate, the check on the organisation's chain. Heads not locked yet are locked
    here, in name order."""
    actor = f"organisation:{who.organisation_slug}"
    data = {
        "verification_id": public_id,
        "action": clean.action.value if clean.action else None,
        "agent": clean.agent(keys, who.organisation_id),
        "key_id": who.key_id,
    }
    evaluated = {c.id for c in tried}
    events: list[tuple[str, str, str, dict[str, Any], _Candidate | None]] = []
    for candidate in candidates:
        for kind, extra in candidate.events:
            events.append((candidate.chain, kind, "registry", extra, candidate))
        kind = "verification.succeeded" if candidate is matched else "verification.failed"
        values = {**data, "evaluated": candidate.id in evaluated}
        if candidate is matched:  # what the holder's activity and e-mail say: allowed, or NOT allowed
            values["action_permitted"] = clean.permitted_in(candidate.mandate.scope)
        events.append((candidate.chain, kind, actor, values, candidate))
    if not candidates:
        events.append((actor, "verification.failed", actor, data, None))
    missing = sorted({chain for chain, *_ in events} - heads.keys())
    if missing:
        locked = await run([check_sql.head(chain, GENESIS, now) for chain in missing])
        heads.update({chain: (count, digest) for result in locked for chain, count, digest in result.rows})
    writes: list[Call] = []
    for chain, kind, by, values, subject in events:
        count, previous = heads[chain]
        event: dict[str, Any] = {
            "chain": chain,
            "seq": count + 1,
            "occurred_at": now,
            "kind": kind,
            "actor": by,
            "organisation_id": subject.mandate.organisation_id if subject else who.organisation_id,
            "holder_id": subject.mandate.holder_id if subject else None,
            "mandate_id": subject.id if subject else None,
            "data": audit.canonical(values),
        }
        event["hash"] = audit.digest(previous, **event)
        heads[chain] = (event["seq"], event["hash"])
        writes.append(check_sql.audit_event(**event, prev_hash=previous))
    for chain in dict.fromkeys(chain for chain, *_ in events):
        writes.append(check_sql.move_head(chain, *heads[chain], now))
    return writes


async def _tell(ctx: ServiceContext, caller: Caller, clean: _Clean, outcome: Outcome) -> None:
    """What the check sets off besides its receipt: lock e-mails and webhooks, the holder's notice of a
    check, the key's alert. Rare, so it takes the ORM's way, in the check's transaction."""
    for candidate in outcome.candidates:
        for kind, _ in candidate.events:
            mandate = await ctx.session.get(Mandate, candidate.id)
            assert mandate is not None
            hard = kind == "verification.hard_locked"
            metrics.LOCKS.labels(kind="hard" if hard else "soft").inc()
            await webhooks.mandate_event(ctx, mandate, "verification.locked", until_holder_unlocks=hard)
            await notifications.mandate_locked(ctx, mandate, hard=hard)
    matched = outcome.matched
    if matched is not None and matched.mandate.notify_checks:
        mandate = await ctx.session.get(Mandate, matched.id)
        assert mandate is not None
        agent = clean.agent(ctx.keys, _id(caller.organisation))
        action = clean.action.value if clean.action else None
        await notifications.checked(ctx, mandate, action, agent, clean.permitted_in(matched.mandate.scope))
    if outcome.alert is not None:
        await _key_alert(ctx, caller, outcome.alert)


async def _key_alert(ctx: ServiceContext, caller: Caller, failures: int) -> None:
    """The key's 20th failure within the hour: an audit event on the key's own chain (taken after the
    key's bucket, never before it) and an e-mail to the organisation."""
    await audit.record(
        ctx,
        f"api_key:{caller.key.id}",
        "api_key.failure_alert",
        "registry",
        {"key_id": caller.key.id, "failures_this_hour": failures},
        organisation_id=caller.organisation.id,
    )
    await notifications.key_failures(ctx, caller.organisation, caller.key, failures)


def _key_blocked(buckets: list[tuple[datetime, int]], now: datetime) -> RateLimited:
    """429 until enough of the oldest minutes have left the window."""
    total = sum(count for _, count in buckets)
    release_at = now
    for minute, count in buckets:
        total -= count
        release_at = minute + BUDGET_WINDOW
        if total < KEY_BLOCK_AT:
            break
    return RateLimited(
        f"This key failed {KEY_BLOCK_AT} checks within an hour; it may check again later.",
        retry_after=max(1, math.ceil((release_at - now).total_seconds())),
    )


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def forget_old_failures(ctx: ServiceContext) -> None:
    """Drop failure buckets older than any key's budget looks (the worker, each round)."""
    await ApiKeyRepository(ctx.session).forget_failures(
        ctx.clock.now() - BUDGET_WINDOW - timedelta(minutes=1)
    )


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
    mandate = view.mandate
    await GuardRepository(ctx.session).unlock(_id(mandate))
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        "verification.unlocked",
        "registry",
        {"by": f"holder:{holder.id}"},
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )


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
