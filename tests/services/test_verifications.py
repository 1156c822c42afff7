"""The verification service with a frozen clock: codes, replay, lockout, budgets, binding, receipts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from registry.clock import FrozenClock
from registry.crypto import otp
from registry.domain.references import check_character
from registry.domain.vocabulary import Binding, MandateStatus
from registry.errors import InvalidInput, MandateNotActive, NotPermitted, RateLimited
from registry.models import (
    ApiKeyFailures,
    AuditEvent,
    Holder,
    Mandate,
    MandateGuard,
    Organisation,
    OutboxMessage,
)
from registry.services import ServiceContext, api_keys, authenticators, codes, mandates, organisations
from registry.services import verifications as v
from registry.services.api_keys import Caller
from tests.conftest import NOW


async def caller_for(
    ctx: ServiceContext, slug: str = "energie-bv", scopes: tuple[str, ...] = ("verify",)
) -> Caller:
    _, secret = await api_keys.create(ctx, slug, f"crm-{len(scopes)}", list(scopes))
    return await api_keys.authenticate(ctx, secret)


async def grant(ctx: ServiceContext, holder: Holder, **changes: Any) -> Mandate:
    values: dict[str, Any] = {
        "organisation": "energie-bv",
        "scope": ["information", "billing"],
        "proxy": mandates.Proxy("Jan de Vries", "partner", "jan@example.nl"),
    }
    values.update(changes)
    return await mandates.grant(ctx, holder, mandates.Draft(**values))


async def check(ctx: ServiceContext, caller: Caller, code: str, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(await v.verify(ctx, caller, v.Check(code=code, **fields)))
    return answer


def without_id(body: str) -> str:
    return body.replace(json.loads(body)["verification_id"], "ID")


def failure(answer: dict[str, Any]) -> bool:
    return set(answer) == {"result", "verification_id"} and answer["result"] == "not_verified"


@pytest.fixture
async def caller(ctx: ServiceContext, organisation: Organisation) -> Caller:
    return await caller_for(ctx)


@pytest.fixture
async def mandate(ctx: ServiceContext, organisation: Organisation, holder: Holder) -> Mandate:
    return await grant(ctx, holder, customer_reference="KL-1")


async def streak(ctx: ServiceContext, mandate: Mandate) -> int:
    guard = await ctx.session.get(MandateGuard, mandate.id, populate_existing=True)
    return guard.streak if guard else 0


class TestCallCodes:
    async def test_verifies_once_with_the_minimal_answer(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        issued = await codes.issue(ctx, mandate)
        answer = await check(
            ctx, caller, issued.grouped, mandate_reference=mandate.reference.lower(), action="billing"
        )
        assert answer == {
            "result": "verified",
            "verification_id": answer["verification_id"],
            "mandate_reference": mandate.reference,
            "proxy_name": "Jan de Vries",
            "relation": "partner",
            "scope": ["information", "billing"],
            "valid_until": "2027-11-28T10:00:00Z",
            "action": "billing",
            "action_permitted": True,
            "binding": "unconfirmed",
        }
        assert failure(await check(ctx, caller, issued.code, mandate_reference=mandate.reference))

    async def test_a_new_code_retires_the_old_one(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        old = await codes.issue(ctx, mandate)
        new = await codes.issue(ctx, mandate)
        assert failure(await check(ctx, caller, old.code, mandate_reference=mandate.reference))
        assert (await check(ctx, caller, new.code, mandate_reference=mandate.reference))[
            "result"
        ] == "verified"

    async def test_lifetime_bounds_and_expiry(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate, clock: FrozenClock
    ) -> None:
        for lifetime in (timedelta(minutes=14), timedelta(days=7, seconds=1)):
            with pytest.raises(InvalidInput, match="15 minutes to 7 days"):
                await codes.issue(ctx, mandate, lifetime)
        issued = await codes.issue(ctx, mandate, timedelta(minutes=15))
        assert issued.expires_at == NOW + timedelta(minutes=15)
        clock.advance(timedelta(minutes=15))
        assert failure(await check(ctx, caller, issued.code, mandate_reference=mandate.reference))

    async def test_only_active_mandates_get_codes(
        self, ctx: ServiceContext, mandate: Mandate, holder: Holder
    ) -> None:
        await mandates.revoke(ctx, holder, mandate.reference)
        with pytest.raises(MandateNotActive):
            await codes.issue(ctx, mandate)

    async def test_the_code_is_never_stored_or_audited(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        issued = await codes.issue(ctx, mandate)
        await check(ctx, caller, issued.code, mandate_reference=mandate.reference)
        events = (await ctx.session.execute(select(AuditEvent))).scalars().all()
        assert events
        assert all(issued.code not in e.data for e in events)


class TestAuthenticator:
    async def test_each_step_once_and_never_an_older_one(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate, clock: FrozenClock
    ) -> None:
        enrolment = await authenticators.enrol(ctx, mandate)
        now = otp.step_at(clock.now())
        await authenticators.activate(ctx, mandate, otp.code_for_step(enrolment.secret, now - 1))
        code = otp.code_for_step(enrolment.secret, now + 1)
        assert (await check(ctx, caller, code, mandate_reference=mandate.reference))["result"] == "verified"
        assert failure(await check(ctx, caller, code, mandate_reference=mandate.reference))
        older = otp.code_for_step(enrolment.secret, now)
        assert failure(await check(ctx, caller, older, mandate_reference=mandate.reference))

    async def test_inactive_until_the_first_correct_code(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate, clock: FrozenClock
    ) -> None:
        enrolment = await authenticators.enrol(ctx, mandate)
        code = otp.code_for_step(enrolment.secret, otp.step_at(clock.now()))
        assert failure(await check(ctx, caller, code, mandate_reference=mandate.reference))
        with pytest.raises(InvalidInput, match="not right"):
            await authenticators.activate(ctx, mandate, "000000" if code != "000000" else "111111")
        await authenticators.activate(ctx, mandate, code)
        clock.advance(timedelta(seconds=30))
        code = otp.code_for_step(enrolment.secret, otp.step_at(clock.now()))
        assert (await check(ctx, caller, code, mandate_reference=mandate.reference))["result"] == "verified"

    async def test_the_secret_is_encrypted_at_rest(self, ctx: ServiceContext, mandate: Mandate) -> None:
        enrolment = await authenticators.enrol(ctx, mandate)
        assert "otpauth://totp/Machtigingenregister:Energie%20BV%20" in enrolment.uri
        from registry.models import Authenticator

        row = (await ctx.session.execute(select(Authenticator))).scalar_one()
        assert enrolment.secret not in row.secret_encrypted
        assert row.secret_encrypted.startswith("k1:")


class TestLockout:
    async def test_five_failures_lock_for_fifteen_minutes(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate, clock: FrozenClock
    ) -> None:
        issued = await codes.issue(ctx, mandate)
        for _ in range(5):
            await check(ctx, caller, "00000000", mandate_reference=mandate.reference)
        locked = await check(ctx, caller, issued.code, mandate_reference=mandate.reference)
        assert failure(locked)
        mails = (await ctx.session.execute(select(OutboxMessage.template))).scalars().all()
        assert mails.count("mandate_locked") == 1
        clock.advance(timedelta(minutes=15))
        assert (await check(ctx, caller, issued.code, mandate_reference=mandate.reference))[
            "result"
        ] == "verified"
        assert await streak(ctx, mandate) == 0

    async def test_ten_failures_in_a_day_lock_until_the_holder_unlocks(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate, holder: Holder, clock: FrozenClock
    ) -> None:
        issued = await codes.issue(ctx, mandate, timedelta(days=7))
        for _ in range(2):
            for _ in range(5):
                await check(ctx, caller, "00000000", mandate_reference=mandate.reference)
            clock.advance(timedelta(minutes=16))
        clock.advance(timedelta(days=2))
        assert failure(await check(ctx, caller, issued.code, mandate_reference=mandate.reference))
        recipients = (
            (
                await ctx.session.execute(
                    select(OutboxMessage.recipient).where(
                        col(OutboxMessage.template).like("mandate_hard_locked%")
                    )
                )
            )
            .scalars()
            .all()
        )
        assert sorted(recipients) == ["anna.de.vries@example.nl", "jan@example.nl"]
        await v.unlock(ctx, holder, mandate.reference)
        assert (await check(ctx, caller, issued.code, mandate_reference=mandate.reference))[
            "result"
        ] == "verified"

    async def test_successes_do_not_reset_the_day_count(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        for _ in range(3):
            for _ in range(3):
                await check(ctx, caller, "00000000", mandate_reference=mandate.reference)
            issued = await codes.issue(ctx, mandate)
            assert (await check(ctx, caller, issued.code, mandate_reference=mandate.reference))[
                "result"
            ] == "verified"
        await check(ctx, caller, "00000000", mandate_reference=mandate.reference)  # the 10th failure today
        issued = await codes.issue(ctx, mandate)
        assert failure(await check(ctx, caller, issued.code, mandate_reference=mandate.reference))

    async def test_locked_answers_are_byte_identical_apart_from_the_id(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        issued = await codes.issue(ctx, mandate)
        wrong = await v.verify(ctx, caller, v.Check(code="00000000", mandate_reference=mandate.reference))
        for _ in range(4):
            await check(ctx, caller, "00000000", mandate_reference=mandate.reference)
        locked = await v.verify(ctx, caller, v.Check(code=issued.code, mandate_reference=mandate.reference))
        assert without_id(locked) == without_id(wrong)

    async def test_other_organisations_never_touch_the_counters(
        self, ctx: ServiceContext, mandate: Mandate
    ) -> None:
        await organisations.create(ctx, "telecom-nl", "Telecom NL")
        stranger = await caller_for(ctx, "telecom-nl")
        issued = await codes.issue(ctx, mandate)
        for _ in range(20):
            assert failure(await check(ctx, stranger, "00000000", mandate_reference=mandate.reference))
        assert failure(await check(ctx, stranger, issued.code, mandate_reference=mandate.reference))
        assert await streak(ctx, mandate) == 0


class TestCustomerReference:
    async def test_tries_each_active_mandate_of_this_organisation(
        self, ctx: ServiceContext, caller: Caller, holder: Holder, mandate: Mandate
    ) -> None:
        second = await grant(
            ctx, holder, customer_reference="KL-1", proxy=mandates.Proxy("Els de Vries", "child")
        )
        issued = await codes.issue(ctx, second)
        answer = await check(ctx, caller, issued.code, customer_reference="KL-1")
        assert (answer["result"], answer["proxy_name"]) == ("verified", "Els de Vries")
        assert (await streak(ctx, mandate), await streak(ctx, second)) == (0, 0)

    async def test_a_failure_counts_against_each(
        self, ctx: ServiceContext, caller: Caller, holder: Holder, mandate: Mandate
    ) -> None:
        second = await grant(ctx, holder, customer_reference="KL-1")
        await check(ctx, caller, "00000000", customer_reference="KL-1")
        assert (await streak(ctx, mandate), await streak(ctx, second)) == (1, 1)


class TestBinding:
    async def test_email_match_organisation_confirmed_or_unconfirmed(
        self, ctx: ServiceContext, caller: Caller, holder: Holder, mandate: Mandate
    ) -> None:
        async def binding(m: Mandate, email: str | None) -> str:
            issued = await codes.issue(ctx, m)
            return str(
                (await check(ctx, caller, issued.code, mandate_reference=m.reference, customer_email=email))[
                    "binding"
                ]
            )

        assert await binding(mandate, "ANNA.de.Vries@example.nl") == "email_match"
        assert await binding(mandate, "someone@example.nl") == "unconfirmed"
        assert await binding(mandate, None) == "unconfirmed"
        confirmed = await mandates.grant(
            ctx,
            holder,
            mandates.Draft(
                organisation="energie-bv", proxy=mandates.Proxy("Jan", "partner"), scope=["information"]
            ),
            binding=Binding.organisation_confirmed,
        )
        assert await binding(confirmed, "someone@example.nl") == "organisation_confirmed"


class TestKeyBudget:
    async def test_alert_at_20_and_429_at_100_for_that_key_only(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        await ctx.session.execute(update(Organisation).values(contact_email="security@energie.example"))
        other = await caller_for(ctx, scopes=("verify", "mandates:read"))
        reference = "M-3479-BCDF-" + check_character("3479BCDF")  # well-formed, but nobody's
        for _ in range(100):
            assert failure(await check(ctx, caller, "00000000", mandate_reference=reference))
        alerts = (
            await ctx.session.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "api_key.failure_alert")
            )
        ).scalar()
        assert alerts == 1
        mails = (
            (
                await ctx.session.execute(
                    select(OutboxMessage.recipient).where(OutboxMessage.template == "key_failures")
                )
            )
            .scalars()
            .all()
        )
        assert mails == ["security@energie.example"]
        counted = await ctx.session.scalar(
            select(func.sum(col(ApiKeyFailures.count))).where(col(ApiKeyFailures.api_key_id) == caller.key.id)
        )
        assert counted == 100
        with pytest.raises(RateLimited) as caught:  # in a request, this rolls back its own claim
            await check(ctx, caller, "00000000", mandate_reference=reference)
        assert 0 < caught.value.retry_after <= 3600
        assert failure(await check(ctx, other, "00000000", mandate_reference=reference))

    async def test_the_worker_forgets_failures_no_budget_looks_at(
        self, ctx: ServiceContext, clock: FrozenClock, caller: Caller
    ) -> None:
        reference = "M-3479-BCDF-" + check_character("3479BCDF")
        assert failure(await check(ctx, caller, "00000000", mandate_reference=reference))
        clock.advance(timedelta(minutes=30))
        assert failure(await check(ctx, caller, "00000000", mandate_reference=reference))
        clock.advance(timedelta(minutes=32))
        await v.forget_old_failures(ctx)  # the first minute left the hour's window (and its slack)
        kept = (await ctx.session.execute(select(col(ApiKeyFailures.count)))).scalars().all()
        assert kept == [1]


class TestInputAndScope:
    async def test_needs_the_verify_scope(
        self, ctx: ServiceContext, organisation: Organisation, mandate: Mandate
    ) -> None:
        reader = await caller_for(ctx, scopes=("mandates:read",))
        with pytest.raises(NotPermitted):
            await check(ctx, reader, "00000000", mandate_reference=mandate.reference)

    async def test_every_bad_field_is_named_and_no_counter_moves(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            await check(
                ctx,
                caller,
                "４８２９１３３７",
                mandate_reference=mandate.reference,
                action="sell",
                customer_email="not an address",
                agent_id="",
            )
        assert {e.field for e in caught.value.errors} == {"code", "action", "customer_email", "agent_id"}
        with pytest.raises(InvalidInput) as both:
            await check(
                ctx, caller, "00000000", mandate_reference=mandate.reference, customer_reference="KL-1"
            )
        assert "either mandate_reference or customer_reference" in both.value.errors[0].message
        assert await streak(ctx, mandate) == 0

    async def test_agents_get_a_stable_pseudonym_per_organisation(self, ctx: ServiceContext) -> None:
        name = v.agent_pseudonym(ctx, 1, "agent-42")
        assert name == v.agent_pseudonym(ctx, 1, "agent-42")
        assert len(name) == len("Agent 4F2A")
        assert name.startswith("Agent ")
        others = {v.agent_pseudonym(ctx, org, "agent-42") for org in range(2, 12)}
        assert len(others | {name}) > 5  # the same CRM id at other organisations is someone else


class TestBudgetCountsFailuresOnly:
    async def test_a_success_gives_its_claim_back(
        self, ctx: ServiceContext, caller: Caller, mandate: Mandate
    ) -> None:
        nobody = "M-3479-BCDF-" + check_character("3479BCDF")
        for _ in range(99):
            await check(ctx, caller, "00000000", mandate_reference=nobody)
        issued = await codes.issue(ctx, mandate)
        assert (await check(ctx, caller, issued.code, mandate_reference=mandate.reference))[
            "result"
        ] == "verified"
        assert failure(await check(ctx, caller, "00000000", mandate_reference=nobody))  # the 100th failure
        with pytest.raises(RateLimited):
            await check(ctx, caller, "00000000", mandate_reference=nobody)


class TestSlidingBudget:
    async def test_failures_late_in_one_hour_still_count_early_in_the_next(
        self, ctx: ServiceContext, caller: Caller, clock: FrozenClock
    ) -> None:
        reference = "M-3479-BCDF-" + check_character("3479BCDF")
        clock.set(NOW + timedelta(minutes=50))
        for _ in range(100):
            await check(ctx, caller, "00000000", mandate_reference=reference)
        clock.set(NOW + timedelta(hours=1, minutes=5))  # a new clock hour, 15 minutes after the burst
        with pytest.raises(RateLimited) as caught:
            await check(ctx, caller, "00000000", mandate_reference=reference)
        clock.advance(timedelta(seconds=caught.value.retry_after))
        assert failure(await check(ctx, caller, "00000000", mandate_reference=reference))


class TestNotYetStarted:
    async def test_checks_before_the_start_neither_count_nor_lock(
        self, ctx: ServiceContext, caller: Caller, holder: Holder, clock: FrozenClock
    ) -> None:
        later = await grant(ctx, holder, valid_from=NOW + timedelta(days=1), customer_reference="KL-2")
        for _ in range(8):
            assert failure(await check(ctx, caller, "00000000", mandate_reference=later.reference))
            assert failure(await check(ctx, caller, "00000000", customer_reference="KL-2"))
        assert await streak(ctx, later) == 0
        clock.advance(timedelta(days=1))
        issued = await codes.issue(ctx, later)
        assert (await check(ctx, caller, issued.code, mandate_reference=later.reference))[
            "result"
        ] == "verified"


class TestPending:
    async def test_a_pending_mandate_never_verifies(
        self, ctx: ServiceContext, caller: Caller, holder: Holder
    ) -> None:
        pending = await grant(ctx, holder, customer_reference="KL-9")
        issued = await codes.issue(ctx, pending)
        pending.status = MandateStatus.pending
        await ctx.session.flush()
        assert failure(await check(ctx, caller, issued.code, mandate_reference=pending.reference))


class TestCheckNotices:
    async def test_high_risk_mandates_tell_the_holder_after_each_check(
        self, ctx: ServiceContext, caller: Caller, holder: Holder
    ) -> None:
        risky = await grant(ctx, holder, scope=["information", "termination"])
        calm = await grant(ctx, holder, scope=["information"])
        assert (risky.notify_checks, calm.notify_checks) == (True, False)
        for mandate in (risky, calm):
            issued = await codes.issue(ctx, mandate)
            await check(
                ctx,
                caller,
                issued.code,
                mandate_reference=mandate.reference,
                action="termination",
                agent_id="agent-7",
            )
        notices = (
            (
                await ctx.session.execute(
                    select(OutboxMessage).where(OutboxMessage.template == "mandate_checked")
                )
            )
            .scalars()
            .all()
        )
        assert len(notices) == 1
        assert notices[0].subject == "Energie BV heeft de machtiging voor Jan de Vries gecontroleerd"
        assert "dit voor u mag doen: het contract opzeggen. Dat mag met deze machtiging" in (
            notices[0].body_text or ""
        )
        assert "agent-7" not in (notices[0].body_text or "")

    async def test_the_holder_switches_them_on_and_off(
        self, ctx: ServiceContext, caller: Caller, holder: Holder, mandate: Mandate
    ) -> None:
        await mandates.set_check_notices(ctx, holder, mandate.reference, True)
        issued = await codes.issue(ctx, mandate)
        await check(ctx, caller, issued.code, mandate_reference=mandate.reference)
        await mandates.set_check_notices(ctx, holder, mandate.reference, False)
        issued = await codes.issue(ctx, mandate)
        await check(ctx, caller, issued.code, mandate_reference=mandate.reference)
        count = await ctx.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.template == "mandate_checked")
        )
        assert count == 1
