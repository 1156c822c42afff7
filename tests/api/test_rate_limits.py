"""The request budget per API key: headers on every answer, 429 with Retry-After, and one budget shared by
several app instances through Redis."""

from __future__ import annotations

import dataclasses
import secrets

import httpx
import pytest

from registry.app import create_app
from registry.http.ratelimit import LocalWindows, RequestBudget
from registry.models import Organisation
from registry.services import ServiceContext, api_keys
from registry.settings import Settings
from registry.wiring import Wiring

REDIS = "redis://127.0.0.1:6379/15"


def clients_for(
    settings: Settings, wiring: Wiring, rate: str, storage: str, count: int
) -> list[httpx.AsyncClient]:
    """`count` apps on the test's database, as several processes would be, each with its own budget
    object on the given storage."""
    tuned = settings.model_copy(update={"rate_limit": rate, "rate_limit_storage": storage})
    made = []
    for _ in range(count):
        app_wiring = dataclasses.replace(wiring, settings=tuned, budget=RequestBudget(rate, storage))
        app = create_app(tuned, wiring=app_wiring)
        made.append(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://registry.test")
        )
    return made


@pytest.fixture
async def key(ctx: ServiceContext, organisation: Organisation) -> str:
    return (await api_keys.create(ctx, "energie-bv", "crm-" + secrets.token_hex(4), ["verify"]))[1]


async def test_every_answer_says_the_budget_and_one_over_is_429(
    settings: Settings, wiring: Wiring, key: str
) -> None:
    [client] = clients_for(settings, wiring, "5/minute", "memory://", 1)
    async with client:
        headers = {"Authorization": f"Bearer {key}"}
        for n in range(5):
            answer = await client.get("/v1/verifications/vrf_none", headers=headers)
            assert answer.status_code == 404
            assert answer.headers["ratelimit-policy"] == '"key";q=5;w=60'
            assert answer.headers["ratelimit"].startswith(f'"key";r={4 - n};t=')
        over = await client.get("/v1/verifications/vrf_none", headers=headers)
        assert over.status_code == 429
        assert over.json()["code"] == "rate_limited"
        assert 1 <= int(over.headers["retry-after"]) <= 60
        assert over.headers["ratelimit"].startswith('"key";r=0;t=')


async def test_two_instances_share_one_budget_through_redis(
    settings: Settings, wiring: Wiring, key: str
) -> None:
    first, second = clients_for(settings, wiring, "4/minute", REDIS, 2)
    async with first, second:
        headers = {"Authorization": f"Bearer {key}"}
        statuses = [
            (
                await (first if n % 2 else second).get("/v1/verifications/vrf_none", headers=headers)
            ).status_code
            for n in range(5)
        ]
    assert statuses == [404, 404, 404, 404, 429]


def test_the_memory_budget_slides_over_the_previous_window() -> None:
    """In memory (`LocalWindows`): the previous window's requests count for the part of it the sliding
    window still covers; keys are counted apart."""
    windows = LocalWindows(5, 60)
    start = 6_000.0  # the start of a window
    assert [windows.spend(1, start + n).allowed for n in range(6)] == [True] * 5 + [False]
    assert windows.spend(1, start + 5).remaining == 0
    assert windows.spend(2, start + 5).allowed  # another key
    # Half-way through the next window, the previous 5 weigh 2.5: two more fit (3.5, 4.5), not a third.
    assert [windows.spend(1, start + 90 + n).allowed for n in range(3)] == [True, True, False]
    refused = windows.spend(1, start + 93)
    assert (refused.allowed, refused.remaining) == (False, 0)
    assert 0 < refused.reset <= 60
    # Two windows on, nothing of the first is left: a full budget.
    assert [windows.spend(1, start + 240 + n).allowed for n in range(6)] == [True] * 5 + [False]
