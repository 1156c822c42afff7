"""The client against a real `mandate-registry serve` on loopback: both clients over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import aclosing

import httpx
import pytest
from mandate_registry_client import (
    AsyncClient,
    Client,
    InvalidReference,
    MandateNotFound,
    RetryPolicy,
    Unauthorized,
)

from registry.domain.references import check_character
from registry.services import ServiceContext, codes, holders, mandates
from tests.client.conftest import ALL_SCOPES, PROXY
from tests.conftest import Databases
from tests.servers import api_key, in_server_database, serving
from tests.smtp import SMTPServer

pytestmark = pytest.mark.committed


@pytest.fixture(scope="module")
def server(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    smtp = SMTPServer().start()
    try:
        log = tmp_path_factory.mktemp("client") / "serve.log"
        with serving(databases.new_migrated(), smtp.port, log) as env:
            yield env
    finally:
        smtp.stop()


@pytest.fixture(scope="module")
async def key(server: dict[str, str]) -> str:
    return await api_key(server, ALL_SCOPES)


@pytest.fixture
def base(server: dict[str, str]) -> str:
    return server["base"]


async def granted(server: dict[str, str], customer: str, count: int = 1) -> list[tuple[str, str]]:
    """`count` active mandates of one holder for `customer` at energie-bv, each with a fresh call code:
    (reference, code) pairs, committed in the server's database."""

    async def work(ctx: ServiceContext) -> list[tuple[str, str]]:
        holder = await holders.get_or_create_verified(ctx, f"{customer.lower()}@example.nl")
        made = []
        for _ in range(count):
            draft = mandates.Draft(
                "energie-bv", PROXY, ["information", "billing"], customer_reference=customer
            )
            mandate = await mandates.grant(ctx, holder, draft)
            made.append((mandate.reference, (await codes.issue(ctx, mandate)).code))
        return made

    return await in_server_database(server, work)


@pytest.fixture
async def mandate(server: dict[str, str], key: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """One mandate with a fresh code, for a customer named after the test."""
    [made] = await granted(server, f"KL-{request.node.name[-40:]}")
    return made


class LosesFirstAnswer(httpx.BaseTransport):
    """Delivers every request, but loses the first answer on its way back, as a dropped connection does."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        response = self.inner.handle_request(request)
        if len(self.keys) == 1:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_the_sync_client_verifies_a_code(base: str, key: str, mandate: tuple[str, str]) -> None:
    reference, code = mandate
    with Client(base, key) as registry:
        answer = registry.verify(reference=reference, code=code, action="termination")
        assert answer.verified and answer.mandate_reference == reference
        assert (answer.proxy_name, answer.scope) == ("Jan de Vries", ["information", "billing"])
        assert answer.action_permitted is False
        assert registry.get_verification(answer.verification_id) == answer
        assert registry.rate_limit is not None
        assert 0 < registry.rate_limit.remaining < registry.rate_limit.limit


async def test_the_async_client_verifies_a_code(base: str, key: str, mandate: tuple[str, str]) -> None:
    reference, code = mandate
    async with AsyncClient(base, key) as registry:
        answer = await registry.verify(reference=reference.lower().replace("-", " "), code=code)
        assert answer.verified and answer.mandate_reference == reference
        assert (await registry.get_verification(answer.verification_id)) == answer


def test_a_wrong_code_and_a_spent_code_answer_not_verified(
    base: str, key: str, mandate: tuple[str, str]
) -> None:
    reference, code = mandate
    wrong = "00000000" if code != "00000000" else "11111111"
    with Client(base, key) as registry:
        refused = registry.verify(reference=reference, code=wrong)
        assert not refused.verified and refused.verification_id.startswith("vrf_")
        assert refused.proxy_name is None and refused.scope is None
        assert registry.verify(reference=reference, code=code).verified
        assert not registry.verify(reference=reference, code=code).verified  # a code works once


@pytest.fixture
async def five(server: dict[str, str], key: str) -> list[tuple[str, str]]:
    return await granted(server, "KL-pages", count=5)


def test_iterating_mandates_over_several_pages(base: str, key: str, five: list[tuple[str, str]]) -> None:
    with Client(base, key) as registry:
        first = registry.list_mandates(customer_reference="KL-pages", limit=2)
        assert len(first.items) == 2 and first.next_cursor
        second = registry.list_mandates(customer_reference="KL-pages", limit=2, cursor=first.next_cursor)
        assert {m.reference for m in first.items}.isdisjoint(m.reference for m in second.items)
        listed = [m.reference for m in registry.iter_mandates(customer_reference="KL-pages", page_size=2)]
    assert listed == [reference for reference, _ in five]


async def test_iterating_mandates_over_several_pages_async(
    base: str, key: str, server: dict[str, str]
) -> None:
    made = await granted(server, "KL-async-pages", count=3)
    async with AsyncClient(base, key) as registry:
        listed = [m async for m in registry.iter_mandates(customer_reference="KL-async-pages", page_size=1)]
    assert [m.reference for m in listed] == [reference for reference, _ in made]
    assert {m.status for m in listed} == {"active"}


def test_errors_arrive_as_their_classes(base: str, key: str) -> None:
    body = "3479BCDF"
    swapped = f"M-4379-BCDF-{check_character(body)}"
    with Client(base, key) as registry:
        with pytest.raises(InvalidReference, match="check character") as caught:
            registry.check_reference(swapped)
        assert (caught.value.status, caught.value.code) == (422, "invalid_reference")
        with pytest.raises(MandateNotFound):
            registry.get_mandate(f"M-3479-BCDF-{check_character(body)}")
    with Client(base, "mrk_not-a-key") as stranger, pytest.raises(Unauthorized) as refused:
        stranger.list_mandates()
    assert refused.value.status == 401 and "API key" in refused.value.title


def test_an_idempotent_post_answers_the_same_when_sent_again(
    base: str, key: str, mandate: tuple[str, str]
) -> None:
    reference, code = mandate
    with Client(base, key) as registry:
        first = registry.verify(reference=reference, code=code, idempotency_key=f"retry-{reference}")
        again = registry.verify(reference=reference, code=code, idempotency_key=f"retry-{reference}")
    assert first.verified and again == first


async def test_a_lost_answer_is_retried_with_the_same_key(
    server: dict[str, str], base: str, key: str
) -> None:
    [(reference, code)] = await granted(server, "KL-lost")
    lossy = LosesFirstAnswer()
    with Client(base, key, transport=lossy, retries=RetryPolicy(backoff=0.01)) as registry:
        answer = registry.verify(reference=reference, code=code)
    assert answer.verified  # a second check with another key would have found the code spent
    assert len(lossy.keys) == 2 and lossy.keys[0] == lossy.keys[1] is not None


async def test_watching_a_mandate_request_streams_its_status(base: str, key: str) -> None:
    async with AsyncClient(base, key) as registry:
        made = await registry.request_mandate(
            customer_reference="KL-watch",
            customer_email="watch@example.nl",
            proxy_name="Sanne Bakker",
            relation="child",
            scope=["information"],
        )
        async with aclosing(registry.watch_mandate_request(made.id)) as updates:
            async for update in updates:
                assert (update.id, update.status) == (made.id, "pending")
                break
    with Client(base, key) as registry:
        for update in registry.watch_mandate_request(made.id):
            assert update == made
            break
