"""`/metrics`: Prometheus text with the checks by result and path, requests by route template and status,
and the outbox and webhook backlog read from the database."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from registry.models import Mandate
from registry.services import ServiceContext, codes
from tests.api.test_verifications_api import post


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_check_shows_in_the_metrics(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    key: str,
    mandate: Mandate,
) -> None:
    before = await scrape(client)
    issued = await codes.issue(ctx, mandate)
    body = {"mandate_reference": mandate.reference, "code": issued.code}
    assert (await post(client, key, body)).json()["result"] == "verified"
    assert (await post(client, key, body)).json()["result"] == "not_verified"
    after = await scrape(client)
    for result in ("verified", "not_verified"):
        labels = {"result": result, "path": "route"}
        assert value(after, "registry_verifications_total", **labels) == (
            value(before, "registry_verifications_total", **labels) + 1
        )
    labels = {"method": "POST", "route": "/v1/verifications", "status": "200"}
    assert value(after, "registry_http_requests_total", **labels) == (
        value(before, "registry_http_requests_total", **labels) + 2
    )
    for gauge in ("registry_outbox_backlog", "registry_outbox_oldest_age_seconds", "registry_outbox_dead"):
        assert (gauge, ()) in after, gauge
    assert ("registry_webhook_deliveries_failing", ()) in after


async def test_a_scan_of_unknown_paths_makes_no_new_series(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await client.get(f"/nothing-here-{n}")
    text = (await client.get("/metrics")).text
    assert not re.search(r"nothing-here", text)
