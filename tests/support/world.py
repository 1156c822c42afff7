"""One world of demo data in every state a page or e-mail can show, for the page-state table.

`seed` fills an empty, migrated database through the services, as people would have over time: a holder
with mandates that are active, high-risk, scheduled, locked, revoked and expired; checks that were allowed,
refused, verified without an action and wrong; oral-mandate requests that are pending, confirmed,
declined (twice: "no" and "this was not me") and lapsed; a proxy's request; console members; keys, a
webhook with a failed delivery and an alert. Everyone in it speaks `language`, so one world per language
gives every page and e-mail in that language.

It runs in one transaction with a clock of its own (moved back for what must lie in the past), both for the
content tests (in process) and for a real `serve` (the browser walk and the gallery).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.domain.vocabulary import Language
from registry.models import Holder, Mandate, Organisation, OutboxMessage
from registry.services import (
    ServiceContext,
    api_keys,
    authenticators,
    codes,
    holders,
    mandate_requests,
    mandates,
    members,
    notifications,
    organisations,
    sign_in,
    verifications,
    webhooks,
)

HOLDER = "anna@example.nl"
ADMIN = "beheer@energie.example"
AGENT = "agent@energie.example"
OTHER_HOLDER_EMAIL = "moeder@example.nl"  # a customer who confirms an organisation's request by e-mail


@dataclass(frozen=True)
class Person:
    """A proxy as the holder named them."""

    name: str
    relation: str
    email: str | None = None
    phone: str | None = None


JAN = Person("Jan de Vries", "partner", "jan@example.nl", "06 1234 5678")
SANNE = Person("Sanne Bakker", "child", "sanne@example.nl")
PIET = Person("Piet Jansen", "carer")
KEES = Person("Kees Smit", "family")
LOTTE = Person("Lotte Visser", "other")
MARIT = Person("Marit de Boer", "parent")
BRAM = Person("Bram Mulder", "family", "bram@example.nl")


@dataclass
class World:
    """What was seeded, by the names the page-state table uses."""

    language: Language
    now: datetime
    organisation: str = "Energie BV"
    mandates: dict[str, Mandate] = field(default_factory=dict)  # "active", "high_risk", "locked", ...
    requests: dict[str, str] = field(default_factory=dict)  # state -> public id of an oral request
    request_ids: dict[str, int] = field(default_factory=dict)  # state -> row id (console status page)
    tokens: dict[str, str] = field(default_factory=dict)  # "confirm", "enrol", "revoke", ... -> token
    mail: dict[str, OutboxMessage] = field(default_factory=dict)  # "mandate_checked/refused", ...
    sessions: dict[str, str] = field(default_factory=dict)  # "holder", "admin", "agent" -> cookie secret
    code: str = ""  # a live call code of the "active" mandate
    key_names: list[str] = field(default_factory=list)
    webhook_id: str = ""
    member_ids: dict[str, int] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        return self.mandates[name].reference


async def _newest_mail(ctx: ServiceContext, since: int) -> list[OutboxMessage]:
    rows = await ctx.session.execute(
        select(OutboxMessage).where(col(OutboxMessage.id) > since).order_by(col(OutboxMessage.id))
    )
    return list(rows.scalars())


async def _last_mail_id(ctx: ServiceContext) -> int:
    rows = await ctx.session.execute(select(OutboxMessage.id).order_by(col(OutboxMessage.id).desc()))
    return rows.scalars().first() or 0


def _token(message: OutboxMessage, path: str) -> str:
    match = re.search(rf"/{path}/([A-Za-z0-9_\-]+)", message.body_text or "")
    assert match, f"no /{path}/ link in {message.template}: {message.body_text}"
    return match.group(1)


class Seeder:
    def __init__(self, ctx: ServiceContext, clock: FrozenClock, language: Language) -> None:
        self.ctx, self.clock, self.language = ctx, clock, language
        self.world = World(language, clock.now())

    async def mailing(self, names: dict[str, str], work: Callable[[], Awaitable[Any]]) -> Any:
        """Run `work` and keep the e-mails it queued: template -> the world's name for it."""
        since = await _last_mail_id(self.ctx)
        result = await work()
        for message in await _newest_mail(self.ctx, since):
            if message.template in names:
                self.world.mail[names[message.template]] = message
        return result

    async def at(self, moment: datetime, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run `work` as if it were `moment`, then come back to now."""
        now = self.clock.now()
        self.clock.set(moment)
        try:
            return await work()
        finally:
            self.clock.set(now)

    async def grant(
        self, holder: Holder, name: str, person: Person, scope: list[str], **dates: Any
    ) -> Mandate:
        draft = mandates.Draft(
            organisation="energie-bv",
            proxy=mandates.Proxy(person.name, person.relation, person.email, person.phone),
            scope=scope,
            customer_reference="KL-100234" if name == "active" else None,
            **dates,
        )
        mandate: Mandate = await self.mailing(
            {"mandate_granted": f"mandate_granted/{name}", "mandate_granted_proxy": f"proxy/{name}"},
            lambda: mandates.grant(self.ctx, holder, draft),
        )
        self.world.mandates[name] = mandate
        return mandate


async def seed(ctx: ServiceContext, clock: FrozenClock, language: Language) -> World:
    s = Seeder(ctx, clock, language)
    world, now = s.world, clock.now()
    await organisations.create(
        ctx, "energie-bv", "Energie BV", default_language=language, contact_email="security@energie.example"
    )
    await organisations.create(ctx, "telecom-nl", "Telecom NL", default_language=language)
    holder = await holders.get_or_create_verified(ctx, HOLDER, language)
    _, key = await api_keys.create(ctx, "energie-bv", "Zendesk", ["verify", "mandate_requests:write"])
    world.key_names = ["Zendesk"]
    caller = await api_keys.authenticate(ctx, key)
    await _webhook(s)

    end = (now + timedelta(days=200)).replace(hour=12, minute=0, second=0, microsecond=0)
    active = await s.grant(holder, "active", JAN, ["information", "billing", "termination"], valid_until=end)
    await s.grant(holder, "low_risk", SANNE, ["information", "appointments"])
    await s.grant(holder, "changes", MARIT, ["information", "changes"])
    await s.grant(
        holder, "scheduled", PIET, ["information"], valid_from=now + timedelta(days=10), valid_until=end
    )
    locked = await s.grant(holder, "locked", LOTTE, ["information", "orders"])
    revoked = await s.grant(holder, "revoked", KEES, ["information"])
    world.tokens["revoke"] = _token(world.mail["mandate_granted/low_risk"], "revoke")
    await s.mailing(
        {"mandate_revoked": "mandate_revoked"}, lambda: mandates.revoke(ctx, holder, revoked.reference)
    )
    past = now - timedelta(days=120)
    await s.at(
        past,
        lambda: s.grant(holder, "expired", PIET, ["billing"], valid_until=past + timedelta(days=30)),
    )
    await mandates.expire_due(ctx)

    async def check(reference: str, code: str, action: str | None, agent: str = "crm-agent-7") -> None:
        check = verifications.Check(code=code, mandate_reference=reference, action=action, agent_id=agent)
        await verifications.verify(ctx, caller, check)

    async def checked(outcome: str, action: str | None, wrong: bool = False) -> None:
        issued = await codes.issue(ctx, active)
        await s.mailing(
            {"mandate_checked": f"mandate_checked/{outcome}"},
            lambda: check(active.reference, "00000000" if wrong else issued.code, action),
        )

    for _ in range(5):  # a soft lock
        await s.mailing(
            {"mandate_locked": "mandate_locked", "mandate_locked_proxy": "mandate_locked_proxy"},
            lambda: check(locked.reference, "11111111", "orders"),
        )

    await s.mailing(
        {"authenticator_invitation": "authenticator_invitation"},
        lambda: authenticators.invite(ctx, holder, active.reference, None),
    )
    world.tokens["enrol"] = _token(world.mail["authenticator_invitation"], "enrol")
    await _hard_lock(s, holder, check)
    for _ in range(verifications.KEY_ALERT_AT):  # the key's 20th failed check this hour alerts its owner
        if "key_failures" in world.mail:
            break
        await s.mailing({"key_failures": "key_failures"}, lambda: check("M-7K3Q-9XPD-Q", "12345678", None))
    await s.mailing(
        {"mandate_changed": "mandate_changed"},
        lambda: mandates.change(ctx, holder, world.ref("changes"), valid_until=end - timedelta(days=30)),
    )
    await _proxy_sets_up_app(s, holder)
    await _requests(s, caller)
    await _console(s)
    world.sessions["holder"] = (await sign_in.open_session(ctx, holder)).secret
    await s.mailing({"sign_in": "sign_in"}, lambda: sign_in.request_link(ctx, HOLDER, "127.0.0.1", language))
    world.tokens["sign_in"] = _token(world.mail["sign_in"], "sign-in")
    await s.mailing({"mandate_expiring": "mandate_expiring"}, lambda: _expiring(s, holder))
    # Last, so that they are on the first page of the holder's activity.
    await checked("allowed", "billing")
    await checked("refused", "orders")
    await checked("verified", None)
    await checked("not_verified", "billing", wrong=True)
    world.code = (await codes.issue(ctx, active)).code
    return world


async def _proxy_sets_up_app(s: Seeder, holder: Holder) -> None:
    """Sanne (the proxy of "low_risk") sets up an authenticator app from the holder's invitation."""
    ctx = s.ctx
    reference = s.world.ref("low_risk")
    token = await new_invitation(ctx, holder, reference)
    mandate = await mandates.by_reference(ctx, reference)
    enrolment = await authenticators.enrol(ctx, mandate)
    await authenticators.accept(ctx, token, pyotp.TOTP(enrolment.secret).at(ctx.clock.now()))


async def _requests(s: Seeder, caller: api_keys.Caller) -> None:
    ctx, world = s.ctx, s.world

    def ask(email: str, person: Person, scope: list[str]) -> mandate_requests.Ask:
        return mandate_requests.Ask(
            organisation="energie-bv",
            email=email,
            proxy=mandates.Proxy(person.name, person.relation),
            scope=scope,
            customer_reference="KL-555",
            language=s.language,
        )

    async def by_organisation(state: str, email: str, person: Person, scope: list[str]) -> str:
        view = await s.mailing(
            {"mandate_request": f"mandate_request/{state}"},
            lambda: mandate_requests.request_by_organisation(ctx, caller, ask(email, person, scope)),
        )
        world.requests[state] = view.request.public_id
        world.request_ids[state] = view.request.id
        return _token(world.mail[f"mandate_request/{state}"], "confirm")

    world.tokens["confirm"] = await by_organisation(
        "pending", OTHER_HOLDER_EMAIL, SANNE, ["information", "billing", "termination"]
    )
    token = await by_organisation("confirmed", "vader@example.nl", SANNE, ["information"])
    await mandate_requests.confirm(ctx, token)
    world.tokens["confirmed"] = token
    token = await by_organisation("declined", "oom@example.nl", KEES, ["billing"])
    await mandate_requests.decline(ctx, token)
    world.tokens["declined"] = token
    token = await by_organisation("not_me", "tante@example.nl", KEES, ["termination"])
    await mandate_requests.decline(ctx, token, not_me=True)
    world.tokens["not_me"] = token
    world.tokens["lapsed"] = await s.at(
        s.clock.now() - timedelta(hours=30),
        lambda: by_organisation("lapsed", "buurman@example.nl", PIET, ["appointments"]),
    )
    await s.mailing(
        {"mandate_request": "mandate_request/proxy"},
        lambda: mandate_requests.request_by_proxy(
            ctx,
            mandate_requests.Ask(
                organisation="telecom-nl",
                email=HOLDER,
                proxy=mandates.Proxy(MARIT.name, MARIT.relation),
                scope=["information", "changes"],
                language=s.language,
            ),
            "127.0.0.1",
        ),
    )
    world.tokens["proxy_request"] = _token(world.mail["mandate_request/proxy"], "confirm")


async def new_request(ctx: ServiceContext, email: str) -> str:
    """A new request of Energie BV (through its Zendesk key) for Sanne to act for `email`: its token."""
    key = await _zendesk(ctx)
    since = await _last_mail_id(ctx)
    ask = mandate_requests.Ask(
        organisation="energie-bv",
        email=email,
        proxy=mandates.Proxy(SANNE.name, SANNE.relation),
        scope=["information", "billing"],
        customer_reference="KL-777",
    )
    await mandate_requests.request_by_organisation(ctx, key, ask)
    return _token((await _newest_mail(ctx, since))[-1], "confirm")


async def new_invitation(ctx: ServiceContext, holder: Holder, reference: str) -> str:
    since = await _last_mail_id(ctx)
    await authenticators.invite(ctx, holder, reference, None)
    return _token((await _newest_mail(ctx, since))[-1], "enrol")


async def _zendesk(ctx: ServiceContext) -> api_keys.Caller:
    """Energie BV's Zendesk key, as the caller of a request."""
    key = next(k for k in await api_keys.list_for(ctx, "energie-bv") if k.name == "Zendesk")
    return api_keys.Caller(key, await organisations.get(ctx, "energie-bv"))


async def _console(s: Seeder) -> None:
    ctx, world = s.ctx, s.world
    for email, role in ((ADMIN, "admin"), (AGENT, "agent")):
        member = await s.mailing(
            {"member_invitation": f"member_invitation/{role}"},
            lambda email=email, role=role: members.invite(ctx, "energie-bv", email, role),  # type: ignore[misc]
        )
        world.member_ids[role] = member.id
        await s.mailing(
            {"console_sign_in": f"console_sign_in/{role}"},
            lambda email=email: members.request_link(ctx, email, "127.0.0.1"),  # type: ignore[misc]
        )
        token = _token(world.mail[f"console_sign_in/{role}"], "console/sign-in")
        world.sessions[role] = (await members.redeem(ctx, token)).secret
    await members.invite(ctx, "energie-bv", "oud-collega@energie.example", "agent")


async def _webhook(s: Seeder) -> None:
    ctx = s.ctx
    organisation = await organisations.get(ctx, "energie-bv")
    # Nothing listens on port 9 of this machine: its deliveries fail (delivery.failed in the gallery).
    endpoint, _ = await webhooks.create_endpoint(
        ctx,
        organisation,
        "http://127.0.0.1:9/hooks/registry",
        description="CRM",
        allow_private=True,
        actor="operator",
    )
    s.world.webhook_id = endpoint.public_id
    await s.mailing(
        {"webhook_disabled": "webhook_disabled"},
        lambda: notifications.webhook_disabled(
            ctx, organisation, "https://old-crm.energie.example/hooks", "410 Gone"
        ),
    )


async def _hard_lock(s: Seeder, holder: Holder, check: Callable[..., Awaitable[None]]) -> None:
    """Ten wrong codes within a day, in runs short of the 15-minute lock (each run ended by a right
    code): locked until the holder unblocks it."""
    mandate = await s.grant(holder, "hard_locked", BRAM, ["appointments"])

    async def wrong(times: int) -> None:
        for _ in range(times):
            await check(mandate.reference, "22222222", None)

    for _ in range(2):
        await wrong(4)
        await check(mandate.reference, (await codes.issue(s.ctx, mandate)).code, None)
    names = {"mandate_hard_locked": "mandate_hard_locked", "mandate_hard_locked_proxy": "hard_locked_proxy"}
    await s.mailing(names, lambda: wrong(2))


async def _expiring(s: Seeder, holder: Holder) -> None:
    """A mandate that ends in a week gets its reminder."""
    now = s.clock.now()
    await s.grant(holder, "expiring", SANNE, ["appointments"], valid_until=now + timedelta(days=6))
    await mandates.remind_expiring(s.ctx)


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


__all__ = ["ADMIN", "AGENT", "HOLDER", "JAN", "Organisation", "World", "real_now", "seed"]
