from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.models import AuditEvent, AuditHead, AuditSeal
from registry.services import ServiceContext, audit


async def write_events(
    ctx: ServiceContext, clock: FrozenClock, count: int, chain: str = "mandate:M-TEST"
) -> list[int]:
    ids = []
    for n in range(count):
        clock.advance(timedelta(seconds=1))
        event = await audit.record(
            ctx,
            chain,
            "code.checked",
            "organisation:energie-bv",
            {"n": n, "result": "verified" if n % 3 else "not_verified"},
            mandate_id=1,
        )
        assert event.id is not None
        ids.append(event.id)
    return ids


class TestChain:
    async def test_a_thousand_events_verify(self, ctx: ServiceContext, clock: FrozenClock) -> None:
        await write_events(ctx, clock, 1000)
        await write_events(ctx, clock, 5, chain="organisation:energie-bv")
        report = await audit.verify(ctx)
        assert report.ok, report.problem
        assert (report.events, report.chains) == (1005, 2)

    async def test_one_changed_byte_in_event_500_is_reported_at_500(
        self, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        ids = await write_events(ctx, clock, 1000)
        target = ids[499]
        data = await ctx.session.scalar(select(col(AuditEvent.data)).where(col(AuditEvent.id) == target))
        assert data is not None and '"result":"verified"' in data
        tampered = data.replace('"result":"verified"', '"result":"verifieD"')
        assert len(tampered) == len(data) and sum(a != b for a, b in zip(data, tampered, strict=True)) == 1
        await ctx.session.execute(
            update(AuditEvent).where(col(AuditEvent.id) == target).values(data=tampered)
        )
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert not report.ok
        assert report.first_bad_event_id == target
        assert f"event {target}" in (report.problem or "")

    async def test_deleting_the_newest_event_is_detected(
        self, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        ids = await write_events(ctx, clock, 20)
        await ctx.session.execute(delete(AuditEvent).where(col(AuditEvent.id) == ids[-1]))
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert not report.ok
        assert "head records 20 events but 19 remain" in (report.problem or "")

    async def test_deleting_a_middle_event_is_reported_at_the_gap(
        self, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        ids = await write_events(ctx, clock, 20)
        await ctx.session.execute(delete(AuditEvent).where(col(AuditEvent.id) == ids[9]))
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert report.first_bad_event_id == ids[10]

    async def test_swapping_two_events_is_detected(self, ctx: ServiceContext, clock: FrozenClock) -> None:
        ids = await write_events(ctx, clock, 10)
        a, b = ids[3], ids[4]
        await ctx.session.execute(update(AuditEvent).where(col(AuditEvent.id) == a).values(seq=-1))
        await ctx.session.execute(update(AuditEvent).where(col(AuditEvent.id) == b).values(seq=4))
        await ctx.session.execute(update(AuditEvent).where(col(AuditEvent.id) == a).values(seq=5))
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert not report.ok
        assert report.first_bad_event_id in (a, b)

    async def test_chains_are_independent(self, ctx: ServiceContext, clock: FrozenClock) -> None:
        await write_events(ctx, clock, 3, chain="mandate:A")
        await write_events(ctx, clock, 3, chain="mandate:B")
        rows = (await ctx.session.execute(select(AuditEvent).order_by(col(AuditEvent.id)))).scalars().all()
        assert [(e.chain, e.seq) for e in rows] == [
            ("mandate:A", 1),
            ("mandate:A", 2),
            ("mandate:A", 3),
            ("mandate:B", 1),
            ("mandate:B", 2),
            ("mandate:B", 3),
        ]
        assert rows[3].prev_hash == "0" * 64


async def rewrite_chain_from(ctx: ServiceContext, event_id: int, data: str) -> None:
    """What a careful forger does: change one event and recompute every later hash and the head."""
    event = await ctx.session.get(AuditEvent, event_id)
    assert event is not None
    rows = await ctx.session.execute(
        select(AuditEvent)
        .where(AuditEvent.chain == event.chain, col(AuditEvent.seq) >= event.seq)
        .order_by(col(AuditEvent.seq))
    )
    prev = event.prev_hash
    event.data = data
    for row in rows.scalars():
        row.prev_hash = prev
        row.hash = prev = audit.event_hash(prev, row)
    head = await ctx.session.get(AuditHead, event.chain)
    assert head is not None
    head.head_hash = prev
    await ctx.session.flush()


class TestSeal:
    async def test_seals_each_event_once(self, ctx: ServiceContext, clock: FrozenClock) -> None:
        await write_events(ctx, clock, 5)
        assert await audit.seal(ctx) == 5
        assert await audit.seal(ctx) == 0
        await write_events(ctx, clock, 2, chain="mandate:OTHER")
        assert await audit.seal(ctx) == 2
        assert (await audit.verify(ctx)).ok

    async def test_a_deleted_whole_chain_is_detected_once_sealed(
        self, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        await write_events(ctx, clock, 3, chain="mandate:A")
        gone = await write_events(ctx, clock, 3, chain="mandate:B")
        await audit.seal(ctx)
        await ctx.session.execute(delete(AuditEvent).where(col(AuditEvent.chain) == "mandate:B"))
        await ctx.session.execute(delete(AuditHead).where(col(AuditHead.chain) == "mandate:B"))
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert report.first_bad_event_id == gone[0]
        assert "sealed, but deleted since" in (report.problem or "")

    async def test_a_rewritten_chain_with_recomputed_hashes_fails_its_seal(
        self, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        ids = await write_events(ctx, clock, 10)
        await audit.seal(ctx)
        await rewrite_chain_from(ctx, ids[4], '{"n":4,"result":"not_verified"}')
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert report.first_bad_event_id == ids[4]
        assert "rewritten after it was sealed" in (report.problem or "")

    async def test_the_forgery_passes_without_a_seal(self, ctx: ServiceContext, clock: FrozenClock) -> None:
        """The control for the test above: the per-chain check alone cannot see a recomputed chain."""
        ids = await write_events(ctx, clock, 10)
        await rewrite_chain_from(ctx, ids[4], '{"n":4,"result":"not_verified"}')
        ctx.session.expunge_all()
        assert (await audit.verify(ctx)).ok

    async def test_deleting_the_newest_seals_is_detected(
        self, ctx: ServiceContext, clock: FrozenClock
    ) -> None:
        await write_events(ctx, clock, 4)
        await audit.seal(ctx)
        await ctx.session.execute(delete(AuditSeal).where(col(AuditSeal.seq) == 4))
        ctx.session.expunge_all()
        report = await audit.verify(ctx)
        assert "head records 4 seals but 3 remain" in (report.problem or "")
