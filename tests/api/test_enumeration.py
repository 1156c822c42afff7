"""Enumeration and data minimisation (SECURITY.md): every failure kind reads the same, in bytes and in
time; no answer of the JSON API carries the holder's personal strings; receipts are kept byte for byte."""

from __future__ import annotations

import json
import secrets
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from registry.clock import FrozenClock
from registry.domain.references import new_reference
from registry.domain.vocabulary import Binding, MandateStatus
from registry.models import Holder, Mandate, Organisation
from registry.repositories import GuardRepository
from registry.services import ServiceContext, api_keys, codes, mandates, organisations
from tests.conftest import NOW

URL = "/v1/verifications"
PROXY = mandates.Proxy(name="Bram Jansen", relation="child")
EMAIL = "anna.de.vries@example.nl"
KINDS = ("unknown", "other_org", "pending", "declined", "revoked", "expired", "locked", "wrong_code")
WRONG_POOL = 25  # kind (8) rotates over these, so no mandate reaches 10 failures (a hard lock) in 24 h
Body = dict[str, str]


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


async def grant(
    ctx: ServiceContext,
    holder: Holder,
    org: str = "energie-bv",
    valid_until: datetime | None = None,
    customer_reference: str | None = None,
) -> Mandate:
    scope = ["information", "billing"]
    draft = mandates.Draft(org, PROXY, scope, valid_until=valid_until, customer_reference=customer_reference)
    return await mandates.grant(ctx, holder, draft)


async def key(ctx: ServiceContext, name: str, org: str = "energie-bv", scope: str = "verify") -> str:
    return (await api_keys.create(ctx, org, name, [scope]))[1]


@dataclass
class Kinds:
    bodies: dict[str, Body]
    locked_id: int
    wrong_pool: list[tuple[int, Body]] = field(default_factory=list)


async def build_kinds(
    ctx: ServiceContext, clock: FrozenClock, client: httpx.AsyncClient, holder: Holder, pool: int
) -> Kinds:
    """One mandate per failure kind. Codes are issued at NOW, while each mandate is still active, and the
    clock then moves 30 minutes: far enough to expire one mandate, not the 24 h codes of the others."""
    await organisations.create(ctx, "other-bv", "Other BV")
    issued: dict[str, tuple[Mandate, str]] = {}
    for kind in ("other_org", "declined", "revoked", "expired", "locked"):
        org = "other-bv" if kind == "other_org" else "energie-bv"
        end = NOW + timedelta(minutes=20) if kind == "expired" else None
        mandate = await grant(ctx, holder, org, valid_until=end)
        issued[kind] = (mandate, (await codes.issue(ctx, mandate)).code)
    wrong_pool = []
    for _ in range(pool):
        mandate = await grant(ctx, holder)
        body = {"mandate_reference": mandate.reference, "code": wrong((await codes.issue(ctx, mandate)).code)}
        assert mandate.id is not None
        wrong_pool.append((mandate.id, body))
    issued["declined"][0].status = MandateStatus.declined
    await ctx.session.flush()
    await mandates.revoke(ctx, holder, issued["revoked"][0].reference)
    asked = mandates.Draft("energie-bv", PROXY, ["information"])
    pending = await mandates.create_pending(
        ctx, await mandates.review(ctx, asked), Binding.organisation_confirmed
    )
    clock.advance(timedelta(minutes=30))
    locked, locked_code = issued["locked"]
    locker = await key(ctx, "locker")
    for _ in range(5):
        body = {"mandate_reference": locked.reference, "code": wrong(locked_code)}
        assert (await client.post(URL, json=body, headers=auth(locker))).json()["result"] == "not_verified"
    bodies = {kind: {"mandate_reference": m.reference, "code": code} for kind, (m, code) in issued.items()}
    bodies["unknown"] = {"mandate_reference": new_reference(), "code": "12345678"}
    bodies["pending"] = {"mandate_reference": pending.reference, "code": "12345678"}
    bodies["wrong_code"] = wrong_pool[0][1]
    assert locked.id is not None
    return Kinds(bodies, locked.id, wrong_pool)


def same_headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The headers, with the key's request count and the request's id left out: `RateLimit` counts down
    with every request of the key, and `X-Request-ID` is new for each request, whatever was checked, so
    only their presence may (and must) be the same."""
    return sorted(
        (name, "<varies>" if name in ("ratelimit", "x-request-id") else value)
        for name, value in response.headers.multi_items()
    )


def without_id(response: httpx.Response) -> bytes:
    verification_id: str = response.json()["verification_id"]
    assert verification_id.startswith("vrf_")
    return response.content.replace(verification_id.encode(), b"<id>")


class TestUniformFailures:
    async def test_eight_kinds_read_alike(
        self,
        ctx: ServiceContext,
        clock: FrozenClock,
        client: httpx.AsyncClient,
        organisation: Organisation,
        holder: Holder,
    ) -> None:
        kinds = await build_kinds(ctx, clock, client, holder, pool=1)
        secret = await key(ctx, "crm")
        answers = {k: await client.post(URL, json=kinds.bodies[k], headers=auth(secret)) for k in KINDS}
        first = answers["unknown"]
        assert first.status_code == 200
        assert first.json() == {"result": "not_verified", "verification_id": first.json()["verification_id"]}
        for kind, response in answers.items():
            assert response.status_code == first.status_code, kind
            assert same_headers(response) == same_headers(first), kind
            assert without_id(response) == without_id(first), kind
        assert len({r.json()["verification_id"] for r in answers.values()}) == len(KINDS)
        # control: the code sent to the locked mandate was the right one; only the lock refused it
        await GuardRepository(ctx.session).unlock(kinds.locked_id)
        response = await client.post(URL, json=kinds.bodies["locked"], headers=auth(secret))
        assert response.json()["result"] == "verified"

    async def test_median_latency_within_5_ms(
        self,
        ctx: ServiceContext,
        clock: FrozenClock,
        client: httpx.AsyncClient,
        organisation: Organisation,
        holder: Holder,
    ) -> None:
        kinds = await build_kinds(ctx, clock, client, holder, pool=WRONG_POOL)
        keys = [await key(ctx, f"bench-{i}") for i in range(20)]  # 203 * 8 / 20 < 100 failures per key
        guards = GuardRepository(ctx.session)
        samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
        warmup, rounds, sent = 3, 200, 0
        for round_ in range(warmup + rounds):
            for kind in KINDS:
                body = kinds.bodies[kind]
                if kind == "wrong_code":
                    mandate_id, body = kinds.wrong_pool[round_ % len(kinds.wrong_pool)]
                    await guards.unlock(mandate_id)
                headers = auth(keys[sent % len(keys)])
                sent += 1
                start = time.perf_counter()
                response = await client.post(URL, json=body, headers=headers)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200 and response.json()["result"] == "not_verified", kind
                if round_ >= warmup:
                    samples[kind].append(elapsed * 1000)
        medians = {kind: statistics.median(values) for kind, values in samples.items()}
        print(f"\nmedian latency over {rounds} samples per kind (ms)")
        for kind, median in medians.items():
            print(f"  {kind:<11} {median:7.2f}")
        spread = max(medians.values()) - min(medians.values())
        print(f"  {'spread':<11} {spread:7.2f}")
        assert spread <= 5.0, medians


class TestDataMinimisation:
    async def test_no_personal_string_of_the_holder_in_any_answer(
        self, ctx: ServiceContext, client: httpx.AsyncClient, organisation: Organisation, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder, customer_reference="KL-100234")
        code = (await codes.issue(ctx, mandate)).code
        verify, reader = await key(ctx, "crm"), await key(ctx, "reader", scope="mandates:read")
        ref = mandate.reference
        shouting = EMAIL.upper()  # the CRM's copy of the address may differ in case
        answers = [
            await client.post(
                URL,
                json={"mandate_reference": ref, "code": wrong(code), "customer_email": EMAIL},
                headers=auth(verify),
            ),
            await client.post(
                URL,
                json={
                    "mandate_reference": ref,
                    "code": code,
                    "action": "billing",
                    "customer_email": shouting,
                },
                headers=auth(verify),
            ),
        ]
        assert [a.json()["result"] for a in answers] == ["not_verified", "verified"]
        assert answers[1].json()["binding"] == "email_match"  # the address was used, and not echoed
        answers += [
            await client.get(f"{URL}/{a.json()['verification_id']}", headers=auth(verify))
            for a in answers[:2]
        ]
        bad_bodies: list[dict[str, object]] = [
            {"mandate_reference": ref, "code": "12", "customer_email": EMAIL},
            {"mandate_reference": ref, "code": code, "customer_email": "anna.de.vries@example"},
            {"mandate_reference": ref, "code": code, "email": EMAIL},
            {"mandate_reference": ref, "code": 12345678, "customer_email": EMAIL},
            {"customer_reference": "KL-100234", "mandate_reference": ref, "code": EMAIL},
        ]
        answers += [await client.post(URL, json=b, headers=auth(verify)) for b in bad_bodies]
        answers += [
            await client.post(URL, json={"mandate_reference": ref, "code": code, "customer_email": EMAIL}),
            await client.post(
                URL,
                json={"mandate_reference": ref, "code": code, "customer_email": EMAIL},
                headers=auth(reader),
            ),
            await client.get(f"{URL}/vrf_{secrets.token_urlsafe(18)}", headers=auth(verify)),
        ]
        assert {a.status_code for a in answers} == {200, 401, 403, 404, 422}
        assert [a.status_code for a in answers[4:9]] == [422] * 5
        personal = ["anna.de.vries", EMAIL, EMAIL.split("@")[0]]
        if len(str(holder.id)) >= 4:  # a short number would match timestamps and ids by chance
            personal.append(str(holder.id))
        for answer in answers:
            text = answer.text.lower()
            assert "holder" not in text, answer.text
            for value in personal:
                assert value not in text, (value, answer.status_code, answer.text)


class TestReceipts:
    async def test_receipt_is_the_answer_and_only_for_its_organisation(
        self, ctx: ServiceContext, client: httpx.AsyncClient, organisation: Organisation, holder: Holder
    ) -> None:
        await organisations.create(ctx, "other-bv", "Other BV")
        mandate = await grant(ctx, holder)
        code = (await codes.issue(ctx, mandate)).code
        own, other = await key(ctx, "crm"), await key(ctx, "crm", org="other-bv")
        ref = mandate.reference
        answers = [
            await client.post(URL, json={"mandate_reference": ref, "code": wrong(code)}, headers=auth(own)),
            await client.post(
                URL,
                json={"mandate_reference": ref, "code": code, "action": "billing", "agent_id": "a-7"},
                headers=auth(own),
            ),
        ]
        assert [a.json()["result"] for a in answers] == ["not_verified", "verified"]
        for answer in answers:
            verification_id = answer.json()["verification_id"]
            receipt = await client.get(f"{URL}/{verification_id}", headers=auth(own))
            assert receipt.status_code == 200 and receipt.headers["content-type"] == "application/json"
            assert receipt.content == answer.content
            foreign = await client.get(f"{URL}/{verification_id}", headers=auth(other))
            unknown_id = "vrf_" + secrets.token_urlsafe(18)
            unknown = await client.get(f"{URL}/{unknown_id}", headers=auth(other))
            assert foreign.status_code == unknown.status_code == 404
            assert foreign.headers["content-type"] == "application/problem+json"
            assert same_headers(foreign) == same_headers(unknown)
            assert foreign.json()["instance"] == f"{URL}/{verification_id}"
            assert foreign.content.replace(verification_id.encode(), b"<id>") == unknown.content.replace(
                unknown_id.encode(), b"<id>"
            )
            assert json.loads(foreign.content)["code"] == "verification_not_found"
