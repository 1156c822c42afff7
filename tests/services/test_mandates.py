from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.domain.vocabulary import Basis, Binding, EffectiveStatus, MandateStatus
from registry.errors import InvalidInput, InvalidScope, InvalidValidity, MandateNotChangeable, MandateNotFound
from registry.models import AuditEvent, Holder, Mandate, Organisation, OutboxMessage
from registry.services import ServiceContext, holders, mandates
from registry.services.validity import add_years
from tests.conftest import NOW

PROXY = mandates.Proxy(name="Jan de Vries", relation="partner")


def draft(**changes: object) -> mandates.Draft:
    values: dict[str, object] = {"organisation": "energie-bv", "proxy": PROXY, "scope": ["information"]}
    values.update(changes)
    return mandates.Draft(**values)  # type: ignore[arg-type]


async def events(ctx: ServiceContext, mandate: Mandate) -> list[str]:
    rows = await ctx.session.execute(
        select(col(AuditEvent.kind))
        .where(col(AuditEvent.mandate_id) == mandate.id)
        .order_by(col(AuditEvent.seq))
    )
    return list(rows.scalars())


class TestGrant:
    async def test_defaults_to_one_year_from_now(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft())
        assert mandate.valid_from == NOW
        assert mandate.valid_until == datetime(2027, 11, 28, 10, 0, tzinfo=UTC)
        assert (mandate.status, mandate.basis, mandate.binding) == ("active", "web", "unconfirmed")
        assert mandate.reference.startswith("M-") and len(mandate.reference) == 13

    async def test_five_years_is_the_maximum(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        five = add_years(NOW, 5)
        assert (await mandates.grant(ctx, holder, draft(valid_until=five))).valid_until == five
        with pytest.raises(InvalidValidity) as caught:
            await mandates.grant(ctx, holder, draft(valid_until=five + timedelta(seconds=1)))
        assert caught.value.errors[0].field == "valid_until"

    async def test_until_before_from_is_refused(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        start = NOW + timedelta(days=10)
        with pytest.raises(InvalidValidity, match="after the start"):
            await mandates.grant(ctx, holder, draft(valid_from=start, valid_until=start - timedelta(days=1)))
        with pytest.raises(InvalidValidity, match="after the start"):
            await mandates.grant(ctx, holder, draft(valid_from=start, valid_until=start))

    async def test_start_in_the_past_and_naive_times_are_refused(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        with pytest.raises(InvalidValidity, match="past"):
            await mandates.grant(ctx, holder, draft(valid_from=NOW - timedelta(days=1)))
        with pytest.raises(InvalidValidity, match="time zone"):
            await mandates.grant(ctx, holder, draft(valid_until=datetime(2027, 1, 1)))

    async def test_scope_is_checked_and_ordered(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(
            ctx, holder, draft(scope=["termination", "Information", "termination"])
        )
        assert mandate.scope == ["information", "termination"]
        with pytest.raises(InvalidScope, match="sell_house"):
            await mandates.grant(ctx, holder, draft(scope=["sell_house"]))
        with pytest.raises(InvalidScope, match="at least one"):
            await mandates.grant(ctx, holder, draft(scope=[]))

    async def test_bad_proxy_fields_are_all_named(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        bad = mandates.Proxy(name=" ", relation="neighbour", email="not-an-address", phone="call me")
        with pytest.raises(InvalidInput) as caught:
            await mandates.grant(ctx, holder, draft(proxy=bad))
        assert {e.field for e in caught.value.errors} == {
            "proxy.name",
            "proxy.relation",
            "proxy.email",
            "proxy.phone",
        }

    async def test_grant_writes_audit_and_mail_in_the_same_transaction(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        proxy = mandates.Proxy(name="Jan", relation="partner", email="jan@example.nl")
        mandate = await mandates.grant(ctx, holder, draft(proxy=proxy))
        assert await events(ctx, mandate) == ["mandate.granted"]
        outbox = (
            (await ctx.session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).scalars().all()
        )
        assert [(m.recipient, m.template) for m in outbox] == [
            ("anna.de.vries@example.nl", "mandate_granted"),
            ("jan@example.nl", "mandate_granted_proxy"),
        ]

    async def test_pending_request_sends_no_grant_mail(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        reviewed = await mandates.review(ctx, draft())
        mandate = await mandates.create_pending(ctx, reviewed, Binding.organisation_confirmed)
        assert mandates.effective_status(mandate, NOW) == EffectiveStatus.pending
        assert (mandate.holder_id, mandate.basis) == (None, Basis.oral_confirmed_by_email)
        count = await ctx.session.scalar(select(func.count()).select_from(OutboxMessage))
        assert count == 0


class TestEffectiveStatus:
    async def test_flips_at_the_exact_instant_of_expiry(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder, clock: FrozenClock
    ) -> None:
        end = NOW + timedelta(days=30)
        mandate = await mandates.grant(ctx, holder, draft(valid_until=end))
        clock.set(end - timedelta(microseconds=1))
        assert (
            await mandates.get_for_holder(ctx, holder, mandate.reference)
        ).status == EffectiveStatus.active
        clock.set(end)
        assert (
            await mandates.get_for_holder(ctx, holder, mandate.reference)
        ).status == EffectiveStatus.expired
        assert mandate.status == MandateStatus.active  # nothing was written: the clock decided

    async def test_a_future_start_is_scheduled_until_it_begins(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        start = NOW + timedelta(days=7)
        mandate = await mandates.grant(ctx, holder, draft(valid_from=start))
        assert (
            mandates.effective_status(mandate, start - timedelta(microseconds=1)) == EffectiveStatus.scheduled
        )
        assert mandates.effective_status(mandate, start) == EffectiveStatus.active
        assert mandate.valid_until == add_years(start, 1)

    async def test_revoked_reads_as_revoked_at_once(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft())
        await mandates.revoke(ctx, holder, mandate.reference)
        assert mandates.effective_status(mandate, NOW) == EffectiveStatus.revoked
        assert (await mandates.list_for_holder(ctx, holder))[0].status == EffectiveStatus.revoked
        assert await events(ctx, mandate) == ["mandate.granted", "mandate.revoked"]


class TestChangeAndRevoke:
    async def test_change_scope_and_end(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft(scope=["information", "billing"]))
        new_end = NOW + timedelta(days=90)
        changed = await mandates.change(
            ctx, holder, mandate.reference.lower(), scope=["billing"], valid_until=new_end
        )
        assert (changed.scope, changed.valid_until) == (["billing"], new_end)
        assert await events(ctx, mandate) == ["mandate.granted", "mandate.changed"]

    async def test_the_same_instant_in_another_zone_is_no_change(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft(valid_until=NOW + timedelta(days=30)))
        amsterdam = (NOW + timedelta(days=30)).astimezone(timezone(timedelta(hours=1)))
        await mandates.change(ctx, holder, mandate.reference, valid_until=amsterdam)
        assert await events(ctx, mandate) == ["mandate.granted"]
        assert mandate.valid_until.utcoffset() == timedelta(0)

    async def test_the_start_moves_only_before_it_starts(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder, clock: FrozenClock
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft(valid_from=NOW + timedelta(days=7)))
        await mandates.change(ctx, holder, mandate.reference, valid_from=NOW + timedelta(days=3))
        assert mandate.valid_from == NOW + timedelta(days=3)
        clock.advance(timedelta(days=4))
        with pytest.raises(MandateNotChangeable, match="already started"):
            await mandates.change(ctx, holder, mandate.reference, valid_from=NOW + timedelta(days=10))

    async def test_unchanged_values_write_nothing(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft())
        await mandates.change(ctx, holder, mandate.reference, scope=["information"])
        assert await events(ctx, mandate) == ["mandate.granted"]

    async def test_an_ended_mandate_cannot_change(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder, clock: FrozenClock
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft(valid_until=NOW + timedelta(days=1)))
        clock.advance(timedelta(days=2))
        with pytest.raises(MandateNotChangeable):
            await mandates.change(ctx, holder, mandate.reference, scope=["billing"])
        with pytest.raises(MandateNotChangeable):
            await mandates.revoke(ctx, holder, mandate.reference)

    async def test_revoking_twice_is_harmless(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft())
        await mandates.revoke(ctx, holder, mandate.reference)
        await mandates.revoke(ctx, holder, mandate.reference)
        assert await events(ctx, mandate) == ["mandate.granted", "mandate.revoked"]

    async def test_another_holders_mandate_is_not_found(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await mandates.grant(ctx, holder, draft())
        stranger = await holders.get_or_create_verified(ctx, "someone@example.org")
        with pytest.raises(MandateNotFound):
            await mandates.revoke(ctx, stranger, mandate.reference)
        assert mandates.effective_status(mandate, NOW) == EffectiveStatus.active


class TestHolders:
    async def test_one_person_is_one_holder_whatever_the_capitals(
        self, ctx: ServiceContext, holder: Holder
    ) -> None:
        again = await holders.get_or_create_verified(ctx, "ANNA.DE.VRIES@example.nl")
        assert again.id == holder.id
        assert holder.email == "anna.de.vries@example.nl"


class TestListForHolder:
    async def test_newest_first_with_status(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder, clock: FrozenClock
    ) -> None:
        first = await mandates.grant(ctx, holder, draft())
        clock.advance(timedelta(minutes=1))
        second = await mandates.grant(ctx, holder, draft(scope=["billing"]))
        await mandates.revoke(ctx, holder, first.reference)
        views = await mandates.list_for_holder(ctx, holder)
        assert [(v.mandate.reference, v.status) for v in views] == [
            (second.reference, EffectiveStatus.active),
            (first.reference, EffectiveStatus.revoked),
        ]
        assert views[0].organisation.slug == "energie-bv"


class TestExpiryNotice:
    async def test_holders_hear_once_fourteen_days_before_the_end(
        self, ctx: ServiceContext, organisation: Organisation, holder: Holder, clock: FrozenClock
    ) -> None:
        ending = await mandates.grant(ctx, holder, draft(valid_until=NOW + timedelta(days=20)))
        await mandates.grant(ctx, holder, draft(valid_until=NOW + timedelta(days=200)))
        assert await mandates.remind_expiring(ctx) == 0
        clock.advance(timedelta(days=6, hours=1))
        assert await mandates.remind_expiring(ctx) == 1
        assert await mandates.remind_expiring(ctx) == 0
        notices = (
            (
                await ctx.session.execute(
                    select(OutboxMessage).where(OutboxMessage.template == "mandate_expiring")
                )
            )
            .scalars()
            .all()
        )
        assert [n.subject for n in notices] == ["Uw machtiging voor Jan de Vries loopt bijna af"]
        assert ending.reference in (notices[0].body_text or "")
        assert "18 december 2026" in (notices[0].body_text or "")
        await mandates.change(ctx, holder, ending.reference, valid_until=NOW + timedelta(days=40))
        clock.advance(timedelta(days=20))
        assert await mandates.remind_expiring(ctx) == 1  # the new end date gets its own reminder
