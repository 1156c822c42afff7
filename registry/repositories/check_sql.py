"""The statements of a verification, in plain SQL for `registry.db.rawsql` batches (the hot path).

Each function gives one call of a batch. The first batch finds the caller by its key's hash in the same
round trip as it locks and reads: a revoked key, or one of an inactive organisation, matches no mandate.
Lock order, the same in every check: the candidates' guard rows, the key's row (when its use is noted),
the audit heads, the key's failure bucket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry.db.rawsql import Call, Statement
from registry.repositories.audit import GENESIS

SAVEPOINT = Statement("SAVEPOINT verification")
COMMIT = Statement("COMMIT")
ROLLBACK = Statement("ROLLBACK TO SAVEPOINT verification")

_ORGANISATION = (
    "(SELECT k.organisation_id FROM api_key k JOIN organisation o ON o.id = k.organisation_id "
    "WHERE k.key_hash = :key_hash AND k.revoked_at IS NULL AND o.active)"
)
_KEY_SELECT = (
    "SELECT k.id, k.prefix, k.scopes, k.last_used_at, k.revoked_at, o.id AS organisation_id, o.slug, "
    "o.active, (SELECT coalesce(sum(f.count), 0) FROM api_key_failures f "
    "WHERE f.api_key_id = k.id AND f.minute > :since) AS failures "
    "FROM api_key k JOIN organisation o ON o.id = k.organisation_id WHERE k.key_hash = :key_hash"
)
_KEY = Statement(_KEY_SELECT)
KEY_WIDTH = 9  # the key's columns, first in `key` and in every row of `lock_and_read`
CANDIDATE_AT = KEY_WIDTH + 3  # in a row of `lock_and_read`: after the key's and the head's columns
_BY_REFERENCE = f"reference = :reference AND organisation_id = {_ORGANISATION}"
_FOR_CUSTOMER = (
    f"organisation_id = {_ORGANISATION} AND customer_reference = :customer AND status = 'active' "
    "AND valid_from <= :now AND valid_until > :now"
)
_LOCK = "ON CONFLICT (mandate_id) DO UPDATE SET streak = mandate_guard.streak RETURNING mandate_id"
_GUARDS = (
    "INSERT INTO mandate_guard (mandate_id, streak) SELECT id, 0 FROM mandate WHERE {where} ORDER BY id "
)
# PostgreSQL (the fast lane): the key, the guard locks, the head lock and the candidates in one statement.
# The head's insert reads the guards' RETURNING rows, so the guards are locked first, as in every check.
# The candidates are read from the statement's snapshot, taken before any lock was waited for; that is
# what they were then. A guard row that changed since (another check of the mandate committed meanwhile:
# every check that counts a failure writes its guard) is locked but not updated, so it returns no row:
# its candidate says `fresh` false, and the lane reads the candidates again (`head_by_reference` and
# `candidate_by_reference` / `candidates_for_customer`) with the locks held.
_LOCK_AND_READ = (
    "WITH k AS ("
    + _KEY_SELECT
    + """), g AS (
    INSERT INTO mandate_guard (mandate_id, streak)
    SELECT m.id, 0 FROM mandate m JOIN k ON m.organisation_id = k.organisation_id
    WHERE {where} AND k.revoked_at IS NULL AND k.active{order}
    ON CONFLICT (mandate_id) DO UPDATE SET streak = mandate_guard.streak
    WHERE mandate_guard.xmin = (
        SELECT seen.xmin FROM mandate_guard seen WHERE seen.mandate_id = mandate_guard.mandate_id)
    RETURNING mandate_id, streak, locked_until, hard_locked_at
){heads}
SELECT k.id, k.prefix, k.scopes, k.last_used_at, k.revoked_at, k.organisation_id, k.slug, k.active,
       k.failures, {head_columns}, {candidate_columns}, g.mandate_id IS NOT NULL
FROM k{heads_join}
LEFT JOIN mandate m ON m.organisation_id = k.organisation_id AND k.revoked_at IS NULL AND k.active AND {where}
LEFT JOIN g ON g.mandate_id = m.id
{candidate_joins}{order}
"""
)
# By reference there is one mandate at most, so nothing to order; its chain is named by the reference.
_LOCK_HEADS = """, h AS (
    INSERT INTO audit_head (chain, count, head_hash, updated_at)
    SELECT 'mandate:' || :reference, 0, :genesis, :now FROM g
    ON CONFLICT (chain) DO UPDATE SET count = audit_head.count RETURNING chain, count, head_hash
)"""
_GUARDS_BY_REFERENCE = Statement(_GUARDS.format(where=_BY_REFERENCE) + _LOCK)
_GUARDS_FOR_CUSTOMER = Statement(_GUARDS.format(where=_FOR_CUSTOMER) + _LOCK)
_TOUCH = Statement(
    "UPDATE api_key SET last_used_at = :now WHERE key_hash = :key_hash "
    "AND (last_used_at IS NULL OR last_used_at < :older)"
)
# PostgreSQL, in the fast lane's writes, after the heads: it never waits for the key's row (another check
# noting the same use holds it), so it cannot take the key's lock out of order.
_TOUCH_UNLESS_BUSY = Statement(
    "UPDATE api_key SET last_used_at = :now WHERE id IN (SELECT id FROM api_key WHERE key_hash = :key_hash "
    "AND (last_used_at IS NULL OR last_used_at < :older) FOR NO KEY UPDATE SKIP LOCKED)"
)
_HEAD_LOCK = "ON CONFLICT (chain) DO UPDATE SET count = audit_head.count RETURNING chain, count, head_hash"
_HEAD_BY_REFERENCE = Statement(
    "INSERT INTO audit_head (chain, count, head_hash, updated_at) "
    f"SELECT 'mandate:' || reference, 0, :genesis, :now FROM mandate WHERE {_BY_REFERENCE} {_HEAD_LOCK}"
)
_HEAD = Statement(
    "INSERT INTO audit_head (chain, count, head_hash, updated_at) "
    f"VALUES (:chain, 0, :genesis, :now) {_HEAD_LOCK}"
)
# The holder's address only when the check gives the customer's (it can make the binding `email_match`):
# an index page and a heap page fewer to read for every other check (`:with_email` false: the subquery's
# one-time filter skips its scan).
_CANDIDATE_COLUMNS = """m.id, m.reference, m.holder_id, m.organisation_id, m.customer_reference, m.proxy_name,
       m.proxy_relation, m.scope, m.valid_from, m.valid_until, m.status, m.binding, m.customer_confirmed_at,
       m.notify_checks, g.streak, g.locked_until, g.hard_locked_at, c.id, c.code_hash, a.id, a.status,
       a.secret_encrypted, a.last_step,
       (SELECT hd.email FROM holder hd WHERE hd.id = m.holder_id AND :with_email),
       (SELECT count(*) FROM mandate_failure f WHERE f.mandate_id = m.id AND f.failed_at > :day_ago)"""
_CANDIDATE_JOINS = """LEFT JOIN authenticator a ON a.mandate_id = m.id
    LEFT JOIN call_code c ON c.id = (
        SELECT max(l.id) FROM call_code l
        WHERE l.mandate_id = m.id AND l.retired_at IS NULL AND l.used_at IS NULL AND l.expires_at > :now)"""
CANDIDATE_WIDTH = 25  # the columns of a candidate, as `_candidate` in services/verifications.py reads them
_CANDIDATES = f"""
SELECT {_CANDIDATE_COLUMNS}
FROM mandate m
LEFT JOIN mandate_guard g ON g.mandate_id = m.id
{_CANDIDATE_JOINS}
WHERE m.id IN (SELECT id FROM mandate WHERE {{where}})
ORDER BY m.id
"""
_REFERENCE_WHERE = "m.reference = :reference"
_CUSTOMER_WHERE = (
    "m.customer_reference = :customer AND m.status = 'active' AND m.valid_from <= :now "
    "AND m.valid_until > :now"
)
_LOCK_AND_READ_BY_REFERENCE = Statement(
    _LOCK_AND_READ.format(
        where=_REFERENCE_WHERE,
        heads=_LOCK_HEADS,
        candidate_columns=_CANDIDATE_COLUMNS,
        candidate_joins=_CANDIDATE_JOINS,
        head_columns="h.chain, h.count, h.head_hash",
        heads_join=" LEFT JOIN h ON true",
        order="",
    )
)
_LOCK_AND_READ_FOR_CUSTOMER = Statement(
    _LOCK_AND_READ.format(
        where=_CUSTOMER_WHERE,
        heads="",
        candidate_columns=_CANDIDATE_COLUMNS,
        candidate_joins=_CANDIDATE_JOINS,
        head_columns="NULL, NULL, NULL",
        heads_join="",
        order="\nORDER BY m.id",
    )
)
_CANDIDATE_BY_REFERENCE = Statement(_CANDIDATES.format(where=_BY_REFERENCE))
_CANDIDATES_FOR_CUSTOMER = Statement(_CANDIDATES.format(where=_FOR_CUSTOMER))
_GUARD = Statement(
    "UPDATE mandate_guard SET streak = :streak, locked_until = :locked_until, "
    "hard_locked_at = :hard_locked_at WHERE mandate_id = :mandate"
)
_FAILURE = Statement("INSERT INTO mandate_failure (mandate_id, failed_at) VALUES (:mandate, :now)")
_SPEND_CODE = Statement(
    "UPDATE call_code SET used_at = :now "
    "WHERE id = :code AND used_at IS NULL AND retired_at IS NULL RETURNING id"
)
_ACCEPT_STEP = Statement(
    "UPDATE authenticator SET last_step = :step WHERE id = :authenticator AND last_step < :step RETURNING id"
)
_COUNT_FAILURE = Statement(
    "INSERT INTO api_key_failures (api_key_id, minute, count) VALUES (:key, :minute, 1) "
    "ON CONFLICT (api_key_id, minute) DO UPDATE SET count = api_key_failures.count + 1"
)
_KEY_BUCKETS = Statement(
    "SELECT minute, count FROM api_key_failures WHERE api_key_id = :key AND minute > :since ORDER BY minute"
)
# PostgreSQL (the fast lane): count the failure and assert the budget in one statement. The bucket of this
# minute is the fresh row the upsert returns (it waited for the bucket's lock, if need be); the minutes
# before it come from the statement's snapshot.
_COUNT_FAILURE_WITHIN_BUDGET = Statement(
    "WITH c AS (INSERT INTO api_key_failures (api_key_id, minute, count) VALUES (:key, :minute, 1) "
    "ON CONFLICT (api_key_id, minute) DO UPDATE SET count = api_key_failures.count + 1 RETURNING count) "
    "SELECT registry_assert(t.n <= :most AND t.n <> :alert_at, "
    "'the key reached its failure alert or budget') "
    "FROM (SELECT (SELECT count FROM c) + (SELECT coalesce(sum(count), 0) FROM api_key_failures "
    "WHERE api_key_id = :key AND minute > :since AND minute <> :minute) AS n OFFSET 0) t"  # n: once
)
_RECEIPT = Statement(
    "INSERT INTO verification (public_id, organisation_id, api_key_id, mandate_id, agent_pseudonym, "
    "action, result, answer, created_at) VALUES (:public_id, :organisation, :key, :mandate, :agent, "
    ":action, :result, :answer, :now)"
)
_EVENT = Statement(
    "INSERT INTO audit_event (chain, seq, occurred_at, kind, actor, organisation_id, holder_id, mandate_id, "
    "data, prev_hash, hash) VALUES (:chain, :seq, :occurred_at, :kind, :actor, :organisation_id, :holder_id, "
    ":mandate_id, :data, :prev_hash, :hash)"
)
_HEAD_MOVE = Statement(
    "UPDATE audit_head SET count = :count, head_hash = :hash, updated_at = :now WHERE chain = :chain"
)


def key(key_hash: str, since: datetime) -> Call:
    """The key and its organisation: id, prefix, scopes, last use, revocation; id, slug, active; and the
    key's failed checks since `since`."""
    return _KEY, {"key_hash": key_hash, "since": since}


def lock_and_read(
    reference: str | None,
    customer: str | None,
    key_hash: str,
    since: datetime,
    now: datetime,
    day_ago: datetime,
    with_email: bool,
) -> Call:
    """PostgreSQL: `key`, the guards' locks, `head_by_reference` and the candidates as one statement. Each
    row is the key's (9 columns), the head's chain, count and hash (by reference), then a candidate
    (`CANDIDATE_WIDTH` columns, all NULL when there is none) and whether it is `fresh` (else read the
    candidates again, locks held). No row: no such key. `with_email`: read the holders' addresses."""
    params: dict[str, Any] = {
        "key_hash": key_hash,
        "since": since,
        "now": now,
        "day_ago": day_ago,
        "with_email": with_email,
    }
    if reference is not None:
        return _LOCK_AND_READ_BY_REFERENCE, {**params, "reference": reference, "genesis": GENESIS}
    return _LOCK_AND_READ_FOR_CUSTOMER, {**params, "customer": customer}


def guards_by_reference(reference: str, key_hash: str) -> Call:
    """Lock (making it if need be) the guard row of the caller's mandate with this reference."""
    return _GUARDS_BY_REFERENCE, {"reference": reference, "key_hash": key_hash}


def guards_for_customer(customer: str, key_hash: str, now: datetime) -> Call:
    """Lock the guard rows of the customer's mandates in force, in id order."""
    return _GUARDS_FOR_CUSTOMER, {"customer": customer, "key_hash": key_hash, "now": now}


def touch_key(key_hash: str, now: datetime, older: datetime) -> Call:
    """Note the key's use, at most once per `now - older`."""
    return _TOUCH, {"key_hash": key_hash, "now": now, "older": older}


def touch_key_unless_busy(key_hash: str, now: datetime, older: datetime) -> Call:
    """PostgreSQL: `touch_key`, unless another transaction holds the key's row (it is noting the use)."""
    return _TOUCH_UNLESS_BUSY, {"key_hash": key_hash, "now": now, "older": older}


def head_by_reference(reference: str, key_hash: str, genesis: str, now: datetime) -> Call:
    """Lock (making it if need be) the audit head of that mandate's chain."""
    params = {"reference": reference, "key_hash": key_hash, "genesis": genesis, "now": now}
    return _HEAD_BY_REFERENCE, params


def head(chain: str, genesis: str, now: datetime) -> Call:
    return _HEAD, {"chain": chain, "genesis": genesis, "now": now}


def candidate_by_reference(
    reference: str, key_hash: str, now: datetime, day_ago: datetime, with_email: bool
) -> Call:
    params = {
        "reference": reference,
        "key_hash": key_hash,
        "now": now,
        "day_ago": day_ago,
        "with_email": with_email,
    }
    return _CANDIDATE_BY_REFERENCE, params


def candidates_for_customer(
    customer: str, key_hash: str, now: datetime, day_ago: datetime, with_email: bool
) -> Call:
    params = {
        "customer": customer,
        "key_hash": key_hash,
        "now": now,
        "day_ago": day_ago,
        "with_email": with_email,
    }
    return _CANDIDATES_FOR_CUSTOMER, params


def set_guard(
    mandate: int, streak: int, locked_until: datetime | None, hard_locked_at: datetime | None
) -> Call:
    params = {
        "mandate": mandate,
        "streak": streak,
        "locked_until": locked_until,
        "hard_locked_at": hard_locked_at,
    }
    return _GUARD, params


def record_failure(mandate: int, now: datetime) -> Call:
    return _FAILURE, {"mandate": mandate, "now": now}


def spend_code(code: int, now: datetime) -> Call:
    return _SPEND_CODE, {"code": code, "now": now}


def accept_step(authenticator: int, step: int) -> Call:
    return _ACCEPT_STEP, {"authenticator": authenticator, "step": step}


def count_key_failure(key: int, minute: datetime) -> Call:
    return _COUNT_FAILURE, {"key": key, "minute": minute}


def key_buckets(key: int, since: datetime) -> Call:
    """The key's failures per minute since `since` (after this check's was added, under its lock)."""
    return _KEY_BUCKETS, {"key": key, "since": since}


def count_failure_within_budget(
    key: int, minute: datetime, since: datetime, most: int, alert_at: int
) -> Call:
    """PostgreSQL: `count_key_failure`, then fail unless the key's failures since `since` are at most `most`
    and not `alert_at`: what the lane cannot answer aborts its transaction."""
    params = {"key": key, "minute": minute, "since": since, "most": most, "alert_at": alert_at}
    return _COUNT_FAILURE_WITHIN_BUDGET, params


def receipt(**values: Any) -> Call:
    return _RECEIPT, values


def audit_event(**values: Any) -> Call:
    return _EVENT, values


def move_head(chain: str, count: int, head_hash: str, now: datetime) -> Call:
    return _HEAD_MOVE, {"chain": chain, "count": count, "hash": head_hash, "now": now}
