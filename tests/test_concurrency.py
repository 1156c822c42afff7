"""Simultaneous checks against two real `serve` processes that share one database (SECURITY.md, "Codes"
and "Guessing and lockout"): a code works once however many requests race for it, and guesses are
counted before they are evaluated. In-process tests cannot show this: one event loop never races itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from registry.crypto import otp
from registry.db.engine import session_scope
from registry.domain.references import check_character
from registry.models import ApiKey, ApiKeyFailures, AuditEvent, Mandate, MandateFailure, MandateGuard
from registry.services import api_keys, authenticators, codes, holders, mandates, organisations
from registry.settings import Settings, new_key
from registry.wiring import Wiring
from tests.conftest import Databases, make_settings
from tests.servers import wait_ready
from tests.smtp import free_port

pytestmark = pytest.mark.committed

BURST = 16
TIMEOUT = 120.0  # seconds for any one burst, start-up or shutdown


@dataclass(frozen=True)
class Stack:
    settings: Settings
    urls: list[str]


@dataclass(frozen=True)
class Case:
    """One organisation with a verify key and one active mandate of its customer."""

    mandate_id: int
    reference: str
    key: str


@pytest.fixture(scope="module")
def stack(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Two servers on one migrated database, with the keys the test data is made with."""
    hmac_key, encryption_key = new_key(), new_key()
    settings = make_settings(databases.new_migrated(), hmac_key=hmac_key, encryption_key=encryption_key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=settings.database_url,
        REGISTRY_HMAC_KEY=hmac_key,
        REGISTRY_ENCRYPTION_KEY=encryption_key,
        REGISTRY_EMAIL_BACKEND="console",
        REGISTRY_WORKER_IN_PROCESS="false",
    )
    folder = tmp_path_factory.mktemp("servers")
    servers: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for _ in range(2):
            port, log = free_port(), folder / f"serve-{len(servers)}.log"
            with log.open("wb") as out:  # the child keeps its own copy of the descriptor
                command = [sys.executable, "-m", "registry", "serve", "--port", str(port)]
                process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=out)
            servers.append((process, f"http://127.0.0.1:{port}", log))
        for process, url, log in servers:
            wait_ready(process, url, log)
        yield Stack(settings, [url for _, url, _ in servers])
    finally:
        for process, _, _ in servers:
            process.send_signal(signal.SIGTERM)
        for process, _, _ in servers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
async def wiring(stack: Stack) -> AsyncIterator[Wiring]:
    """Makes and inspects data in committed transactions, on the real clock the servers use too."""
    wiring = Wiring.build(stack.settings)
    yield wiring
    await wiring.engine.dispose()


async def new_case(wiring: Wiring, slug: str) -> Case:
    async with session_scope(wiring.session_factory) as session:
        ctx = wiring.context(session)
        await organisations.create(ctx, slug, slug.title())
        holder = await holders.get_or_create_verified(ctx, f"anna@{slug}.example", "nl")
        proxy = mandates.Proxy(name="Jan de Vries", relation="partner")
        draft = mandates.Draft(organisation=slug, proxy=proxy, scope=["information"])
        mandate = await mandates.grant(ctx, holder, draft)
        key, secret = await api_keys.create(ctx, slug, "CRM", ["verify"])
        # A key in use: its once-a-minute `last_used_at` write must not be what serialises a burst.
        key.last_used_at = wiring.clock.now()
        assert mandate.id is not None
        return Case(mandate.id, mandate.reference, secret)


async def issue_code(wiring: Wiring, case: Case) -> str:
    async with session_scope(wiring.session_factory) as session:
        mandate = await session.get(Mandate, case.mandate_id)
        assert mandate is not None
        return (await codes.issue(wiring.context(session), mandate)).code


async def fire(stack: Stack, key: str, reference: str, guesses: list[str]) -> Counter[tuple[int, str]]:
    """Send all guesses at once, alternating between the two servers; count (status, result)."""
    async with httpx.AsyncClient(timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
        requests = [
            client.post(
                f"{stack.urls[i % 2]}/v1/verifications",
                json={"mandate_reference": reference, "code": guess},
            )
            for i, guess in enumerate(guesses)
        ]
        answers = await asyncio.wait_for(asyncio.gather(*requests), TIMEOUT)
    return Counter((a.status_code, a.json().get("result", a.text)) for a in answers)


async def guard_of(wiring: Wiring, case: Case) -> tuple[MandateGuard | None, int, int, int]:
    """The guard row, the evaluated failures kept, the failed attempts audited on the mandate's chain,
    and how many of those say the code was evaluated."""
    async with session_scope(wiring.session_factory) as session:
        guard = await session.get(MandateGuard, case.mandate_id)
        failures = await session.scalar(
            select(func.count())
            .select_from(MandateFailure)
            .where(col(MandateFailure.mandate_id) == case.mandate_id)
        )
        events = (
            (
                await session.execute(
                    select(col(AuditEvent.data)).where(
                        col(AuditEvent.chain) == f"mandate:{case.reference}",
                        col(AuditEvent.kind) == "verification.failed",
                    )
                )
            )
            .scalars()
            .all()
        )
        evaluated = sum('"evaluated":true' in data for data in events)
        return guard, int(failures or 0), len(events), evaluated


def wrong_codes(right: str, count: int) -> list[str]:
    return [f"{(int(right) + i) % 10**otp.CALL_CODE_DIGITS:08d}" for i in range(1, count + 1)]


class TestOneCodeOneWinner:
    async def test_call_code_verifies_once_among_simultaneous_checks(
        self, stack: Stack, wiring: Wiring
    ) -> None:
        case = await new_case(wiring, "race-call")
        code = await issue_code(wiring, case)
        seen = await fire(stack, case.key, case.reference, [code] * BURST)
        assert seen == {(200, "verified"): 1, (200, "not_verified"): BURST - 1}, seen

    async def test_totp_step_verifies_once_among_simultaneous_checks(
        self, stack: Stack, wiring: Wiring
    ) -> None:
        left = otp.TOTP_STEP_SECONDS - time.time() % otp.TOTP_STEP_SECONDS
        if left < 5:  # activate and fire within one step, so that step+1 stays inside the window
            await asyncio.sleep(left + 0.1)
        case = await new_case(wiring, "race-totp")
        async with session_scope(wiring.session_factory) as session:
            ctx = wiring.context(session)
            mandate = await session.get(Mandate, case.mandate_id)
            assert mandate is not None
            secret = (await authenticators.enrol(ctx, mandate)).secret
            step = otp.step_at(wiring.clock.now())
            await authenticators.activate(ctx, mandate, otp.code_for_step(secret, step))
        code = otp.code_for_step(secret, step + 1)
        seen = await fire(stack, case.key, case.reference, [code] * BURST)
        assert seen == {(200, "verified"): 1, (200, "not_verified"): BURST - 1}, seen


class TestGuessing:
    async def test_concurrent_wrong_guesses_are_all_counted_and_few_evaluated(
        self, stack: Stack, wiring: Wiring
    ) -> None:
        case = await new_case(wiring, "guessing")
        code = await issue_code(wiring, case)
        seen = await fire(stack, case.key, case.reference, wrong_codes(code, 50))
        assert seen == {(200, "not_verified"): 50}, seen
        guard, failures, audited, evaluated = await guard_of(wiring, case)
        assert guard is not None and guard.streak == 50
        # claims are counted first: the first five are evaluated and lock, the other 45 never are;
        # every attempt is audited, and the audit says which were evaluated
        assert (failures, audited, evaluated) == (5, 50, 5)
        assert guard.locked_until is not None

    async def test_another_organisation_never_touches_the_counters(
        self, stack: Stack, wiring: Wiring
    ) -> None:
        owner = await new_case(wiring, "owner")
        stranger = await new_case(wiring, "stranger")
        code = await issue_code(wiring, owner)
        guesses = [code, *wrong_codes(code, 19)]  # even the right code, from the wrong organisation
        seen = await fire(stack, stranger.key, owner.reference, guesses)
        assert seen == {(200, "not_verified"): 20}, seen
        guard, failures, audited, _ = await guard_of(wiring, owner)
        assert guard is None or guard.streak == 0
        assert (failures, audited) == (0, 0)
        assert await fire(stack, owner.key, owner.reference, [code]) == {(200, "verified"): 1}


class TestKeyBudget:
    async def test_a_parallel_burst_gets_exactly_the_budget(self, stack: Stack, wiring: Wiring) -> None:
        """130 failing checks at once with one key: 100 are answered, 30 get 429, none slip through."""
        case = await new_case(wiring, "burst")
        nobody = "M-3479-BCDF-" + check_character("3479BCDF")
        seen = await fire(stack, case.key, nobody, ["00000000"] * 130)
        assert seen[(200, "not_verified")] == 100, seen
        assert sum(n for (status, _), n in seen.items() if status == 429) == 30, seen
        async with session_scope(wiring.session_factory) as session:
            counted = await session.scalar(
                select(func.sum(col(ApiKeyFailures.count)))
                .select_from(ApiKeyFailures)
                .join(ApiKey, col(ApiKey.id) == col(ApiKeyFailures.api_key_id))
                .where(col(ApiKey.prefix) == case.key[:12])
            )
        assert counted == 100
