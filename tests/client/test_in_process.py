"""The async client against the real app in-process (httpx.ASGITransport), on the test's rolled-back
transaction and frozen clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mandate_registry_client import (
    AsyncClient,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidCode,
    InvalidInput,
    InvalidReference,
    MandateNotFound,
    MandateRequest,
    MandateRequestNotFound,
    RateLimited,
    RetryPolicy,
    Unauthorized,
    VerificationNotFound,
)

from registry.clock import FrozenClock
from registry.domain.references import check_character, new_reference
from registry.domain.vocabulary import Basis, Binding
from registry.http.ratelimit import RequestBudget
from registry.models import Holder
from registry.services import ServiceContext, api_keys, codes
from registry.settings import Settings
from registry.wiring import Wiring
from tests.client.conftest import BASE_URL, app_transport, grant

UNKNOWN_REFERENCE = "M-3479-BCDF-" + check_character("3479BCDF")


class LosesFirstAnswer(httpx.AsyncBaseTransport):
    """Delivers every request, but loses the first answer on its way back, as a dropped connection does."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.keys: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        response = await self.inner.handle_async_request(request)
        if len(self.keys) == 1:
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class TestVerify:
    async def test_a_right_code_answers_who_may_do_what(
        self, registry: AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder)
        code = (await codes.issue(ctx, mandate)).code
        answer = await registry.verify(
            reference=mandate.reference.lower(), code=f"{code[:4]} {code[4:]}", action="billing"
        )
        assert answer.verified
        assert answer.mandate_reference == mandate.reference
        assert (answer.proxy_name, answer.relation) == ("Jan de Vries", "partner")
        assert answer.scope == ["information", "billing"]
        assert answer.valid_until == mandate.valid_until.replace(tzinfo=UTC)
        assert answer.action_permitted is True and answer.binding == "unconfirmed"
        assert await registry.get_verification(answer.verification_id) == answer
        assert registry.rate_limit is not None
        assert 0 < registry.rate_limit.remaining < registry.rate_limit.limit

    async def test_a_wrong_code_is_an_answer_not_an_error(
        self, registry: AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder)
        await codes.issue(ctx, mandate)
        answer = await registry.verify(reference=mandate.reference, code="00000000")
        assert not answer.verified
        assert (answer.mandate_reference, answer.scope, answer.binding) == (None, None, None)
        assert (await registry.get_verification(answer.verification_id)).result == "not_verified"

    async def test_by_customer_reference_with_the_email_on_file(
        self, registry: AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder, customer="KL-77")
        code = (await codes.issue(ctx, mandate)).code
        answer = await registry.verify(customer_reference="KL-77", code=code, customer_email=holder.email)
        assert answer.verified and answer.binding == "email_match"

    async def test_bad_input_names_the_fields(self, registry: AsyncClient) -> None:
        """Several problems in a check are one `invalid_input` naming each field; a lone misheard
        reference is `invalid_reference`, a lone malformed code `invalid_code`."""
        with pytest.raises(InvalidInput) as caught:
            await registry.verify(reference="M-3479-BCDF-X", code="1234")
        assert (caught.value.status, caught.value.code) == (422, "invalid_input")
        assert {e.field for e in caught.value.errors} == {"mandate_reference", "code"}
        with pytest.raises(InvalidReference):
            await registry.verify(reference="M-3479-BCDF-X", code="12345678")
        with pytest.raises(InvalidCode):
            await registry.verify(reference=new_reference(), code="1234")

    async def test_a_lost_answer_is_retried_with_the_same_key_and_the_code_is_spent_once(
        self, settings: Settings, wiring: Wiring, key: str, ctx: ServiceContext, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder)
        code = (await codes.issue(ctx, mandate)).code
        lossy = LosesFirstAnswer(app_transport(settings, wiring))
        async with AsyncClient(BASE_URL, key, transport=lossy, retries=RetryPolicy(backoff=0.01)) as client:
            answer = await client.verify(reference=mandate.reference, code=code)
        assert answer.verified  # a second check with a new key would find the code spent
        assert len(lossy.keys) == 2 and lossy.keys[0] == lossy.keys[1] and lossy.keys[0]

    async def test_without_retries_the_lost_answer_is_a_transport_error(
        self, settings: Settings, wiring: Wiring, key: str
    ) -> None:
        lossy = LosesFirstAnswer(app_transport(settings, wiring))
        async with AsyncClient(BASE_URL, key, transport=lossy, retries=RetryPolicy(max_retries=0)) as client:
            with pytest.raises(httpx.ReadError):
                await client.verify(reference=UNKNOWN_REFERENCE, code="00000000")


class TestErrors:
    async def test_keys_and_scopes(
        self, settings: Settings, wiring: Wiring, ctx: ServiceContext, key: str
    ) -> None:
        transport = app_transport(settings, wiring)
        async with AsyncClient(BASE_URL, "mrk_" + "x" * 32, transport=transport) as stranger:
            with pytest.raises(Unauthorized) as caught:
                await stranger.verify(reference=UNKNOWN_REFERENCE, code="00000000")
        assert (caught.value.status, caught.value.code) == (401, "unauthorized")
        reader = (await api_keys.create(ctx, "energie-bv", "reader", ["mandates:read"]))[1]
        async with AsyncClient(BASE_URL, reader, transport=transport) as client:
            with pytest.raises(Forbidden, match="verify"):
                await client.verify(reference=UNKNOWN_REFERENCE, code="00000000")

    async def test_specific_not_found_classes(self, registry: AsyncClient) -> None:
        with pytest.raises(MandateNotFound) as caught:
            await registry.get_mandate(UNKNOWN_REFERENCE)
        assert caught.value.instance == f"/v1/mandates/{UNKNOWN_REFERENCE}"
        with pytest.raises(VerificationNotFound):
            await registry.get_verification("vrf_none")
        with pytest.raises(MandateRequestNotFound):
            await registry.get_mandate_request("mrq_none")

    async def test_a_misheard_reference(self, registry: AsyncClient) -> None:
        assert (
            await registry.check_reference("m 3479 bcdf " + check_character("3479BCDF")) == UNKNOWN_REFERENCE
        )
        swapped = "M-4379-BCDF-" + check_character("3479BCDF")
        with pytest.raises(InvalidReference, match="check character") as caught:
            await registry.check_reference(swapped)
        assert caught.value.errors[0].field == "reference"
        with pytest.raises(InvalidReference):
            await registry.get_mandate(swapped)

    async def test_429_says_when_to_try_again(self, settings: Settings, wiring: Wiring, key: str) -> None:
        tuned = settings.model_copy(update={"rate_limit": "2/minute"})
        small = dataclasses.replace(wiring, settings=tuned, budget=RequestBudget("2/minute", "memory://"))
        transport = app_transport(tuned, small)
        async with AsyncClient(BASE_URL, key, transport=transport, retries=RetryPolicy(max_wait=0)) as client:
            for _ in range(2):
                with pytest.raises(VerificationNotFound):
                    await client.get_verification("vrf_none")
            assert client.rate_limit is not None
            assert (client.rate_limit.limit, client.rate_limit.window) == (2, 60)
            assert client.rate_limit.remaining == 0
            with pytest.raises(RateLimited) as caught:
                await client.get_verification("vrf_none")
        assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 60


class TestMandates:
    async def test_iterating_follows_the_cursor_over_every_page(
        self, registry: AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        made = [await grant(ctx, holder, customer="KL-5") for _ in range(5)]
        await grant(ctx, holder, customer="KL-6")
        first = await registry.list_mandates(customer_reference="KL-5", limit=2)
        assert len(first.items) == 2 and first.next_cursor is not None
        seen = [m.reference async for m in registry.iter_mandates(customer_reference="KL-5", page_size=2)]
        assert seen == [m.reference for m in made]
        assert len([m async for m in registry.iter_mandates()]) == 6

    async def test_customer_confirmation_changes_the_binding_until_withdrawn(
        self, registry: AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        mandate = await grant(ctx, holder)
        assert (await registry.get_mandate(mandate.reference)).binding == "unconfirmed"
        confirmed = await registry.confirm_customer(mandate.reference)
        assert confirmed.binding == "organisation_confirmed"
        assert (await registry.confirm_customer(mandate.reference)).binding == "organisation_confirmed"
        withdrawn = await registry.withdraw_customer_confirmation(mandate.reference)
        assert withdrawn.binding == "unconfirmed"
        assert withdrawn.valid_from == mandate.valid_from.replace(tzinfo=UTC)


class TestMandateRequests:
    @staticmethod
    async def ask(registry: AsyncClient, scope: list[str], key: str) -> MandateRequest:
        return await registry.request_mandate(
            customer_reference="KL-2001",
            customer_email="moeder@example.nl",
            proxy_name="Sanne Bakker",
            relation="child",
            scope=scope,
            valid_until=datetime(2027, 6, 1, 12, tzinfo=UTC),
            idempotency_key=key,
        )

    async def test_request_replay_and_follow_until_it_lapses(
        self, registry: AsyncClient, clock: FrozenClock
    ) -> None:
        made = await self.ask(registry, ["information", "billing"], "call-1")
        assert (made.status, made.answered, made.mandate_reference) == ("pending", False, None)
        assert made.valid_until == datetime(2027, 6, 1, 12, tzinfo=UTC)
        assert made.expires_at - made.created_at == timedelta(hours=24)
        assert await self.ask(registry, ["information", "billing"], "call-1") == made
        with pytest.raises(IdempotencyKeyReused):
            await self.ask(registry, ["information"], "call-1")
        assert await registry.get_mandate_request(made.id) == made
        clock.advance(timedelta(hours=25))
        updates = [update async for update in registry.watch_mandate_request(made.id)]
        assert [(u.id, u.status, u.answered) for u in updates] == [(made.id, "lapsed", True)]

    async def test_an_unknown_request_cannot_be_watched(self, registry: AsyncClient) -> None:
        with pytest.raises(MandateRequestNotFound):
            async for _ in registry.watch_mandate_request("mrq_none"):
                pass

    async def test_a_validity_too_long_names_the_field(self, registry: AsyncClient) -> None:
        with pytest.raises(InvalidInput) as caught:
            await registry.request_mandate(
                customer_reference="KL-1",
                customer_email="a@example.nl",
                proxy_name="Jan",
                relation="partner",
                scope=["information"],
                valid_until=datetime(2040, 1, 1, tzinfo=UTC),
            )
        assert [e.field for e in caught.value.errors] == ["valid_until"]

    async def test_a_naive_valid_until_is_refused_before_sending(self, registry: AsyncClient) -> None:
        with pytest.raises(ValueError, match="time zone"):
            await registry.request_mandate(
                customer_reference="KL-1",
                customer_email="a@example.nl",
                proxy_name="Jan",
                relation="partner",
                scope=["information"],
                valid_until=datetime(2027, 1, 1),
            )


class TestOralMandates:
    async def test_the_confirmation_of_your_own_oral_mandate_cannot_be_withdrawn(
        self, registry: AsyncClient, ctx: ServiceContext, holder: Holder
    ) -> None:
        mandate = await grant(
            ctx, holder, basis=Basis.oral_confirmed_by_email, binding=Binding.organisation_confirmed
        )
        with pytest.raises(Conflict) as caught:
            await registry.withdraw_customer_confirmation(mandate.reference)
        assert (caught.value.status, caught.value.code) == (409, "conflict")


async def test_vocabulary_and_health(registry: AsyncClient) -> None:
    actions = await registry.list_actions()
    assert [a.action for a in actions][:2] == ["information", "appointments"]
    assert {a.action for a in actions if a.high_risk} == {"changes", "termination"}
    assert await registry.health() == "ok"
    assert (await registry.readiness()).database == "ok"
