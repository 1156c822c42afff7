"""Webhooks against a real HTTP receiver on loopback that checks every signature with `standardwebhooks`:
retries until it answers, 410 disables, redirects fail, private targets are refused, events are emitted
by the holder pages and the expiry job."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from registry.app import create_app
from registry.clock import FrozenClock
from registry.models import Holder, OutboxMessage, WebhookDelivery
from registry.services import ServiceContext, api_keys, mandates
from registry.wiring import Wiring
from registry.worker.webhook_delivery import WebhookWorker
from tests.smtp import free_port
from tests.web.conftest import csrf_of, sign_in

WAITS = [60.0, 60.0, 60.0]


class Receiver:
    """A webhook receiver: answers with the statuses it is given (then 204), and verifies signatures."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.answers: list[int] = []
        self.received: list[dict[str, Any]] = []  # every request: id, status answered, valid signature
        self.secret = ""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    Webhook(receiver.secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
                    valid = True
                except WebhookVerificationError:
                    valid = False
                status = receiver.answers.pop(0) if receiver.answers else 204
                receiver.received.append(
                    {
                        "id": self.headers["webhook-id"],
                        "status": status,
                        "valid": valid,
                        "body": json.loads(body),
                    }
                )
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url + "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> FrozenClock:
    """Now, frozen: signatures carry a timestamp the receiver must find recent."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def wiring(wiring: Wiring) -> Wiring:
    """The receiver listens on loopback, over http; and the waits between tries are short."""
    tuned = wiring.settings.model_copy(update={"webhook_allow_private": True, "webhook_retry_seconds": WAITS})
    return dataclasses.replace(wiring, settings=tuned)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
async def key(ctx: ServiceContext, organisation: Any) -> str:
    organisation.contact_email = "it@energie.example"
    return (await api_keys.create(ctx, "energie-bv", "crm", ["webhooks:manage", "verify"]))[1]


async def subscribe(client: httpx.AsyncClient, key: str, receiver: Receiver, **body: Any) -> dict[str, Any]:
    made = await client.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url, **body},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    assert answer["secret"].startswith("whsec_")
    receiver.secret = answer["secret"]
    return answer


def worker(wiring: Wiring) -> WebhookWorker:
    return WebhookWorker(wiring)


async def deliveries(ctx: ServiceContext) -> list[WebhookDelivery]:
    rows = await ctx.session.execute(select(WebhookDelivery).order_by(col(WebhookDelivery.id)))
    return list(rows.scalars().all())


async def grant(ctx: ServiceContext, holder: Holder, **changes: Any) -> Any:
    draft = mandates.Draft(
        "energie-bv", mandates.Proxy("Jan", "partner"), ["information"], customer_reference="KL-7", **changes
    )
    return await mandates.grant(ctx, holder, draft)


async def test_revoked_in_the_holder_pages_arrives_once_after_the_receiver_comes_back(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    clock: FrozenClock,
    wiring: Wiring,
    key: str,
    holder: Holder,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(client, key, receiver, event_types=["mandate.revoked"])
    mandate = await grant(ctx, holder)  # mandate.activated: not asked for, so not queued
    assert await deliveries(ctx) == []
    await sign_in(client, ctx, holder.email)
    page = await client.get(f"/mandates/{mandate.reference}/revoke")
    assert (
        await client.post(f"/mandates/{mandate.reference}/revoke", data={"csrf_token": csrf_of(page)})
    ).status_code == 303
    [queued] = await deliveries(ctx)
    assert json.loads(queued.payload) == {
        "type": "mandate.revoked",
        "timestamp": clock.now().isoformat().replace("+00:00", "Z"),
        "data": {"mandate_reference": mandate.reference, "customer_reference": "KL-7"},
    }
    receiver.answers = [503, 503]  # down for the first two tries
    assert await worker(wiring).run_once() == 1
    assert await worker(wiring).run_once() == 0  # not due before its wait
    clock.advance(timedelta(seconds=WAITS[0]))
    await worker(wiring).run_once()
    clock.advance(timedelta(seconds=WAITS[1]))
    await worker(wiring).run_once()
    clock.advance(timedelta(seconds=WAITS[2]))
    assert await worker(wiring).run_once() == 0  # delivered: nothing more to send
    assert [r["status"] for r in receiver.received] == [503, 503, 204]
    assert all(r["valid"] for r in receiver.received)
    assert {r["id"] for r in receiver.received} == {queued.public_id}  # one webhook-id on every try
    listed = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers={"Authorization": f"Bearer {key}"}
    )
    [row] = listed.json()["items"]
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 3, 204)
    replayed = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{row['id']}/replay",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert replayed.status_code == 200
    await worker(wiring).run_once()
    assert [r["id"] for r in receiver.received].count(queued.public_id) == 4


async def test_410_disables_the_endpoint_and_a_redirect_is_a_failure(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    wiring: Wiring,
    key: str,
    holder: Holder,
    receiver: Receiver,
) -> None:
    endpoint = await subscribe(client, key, receiver)
    receiver.answers = [302]
    await grant(ctx, holder)  # mandate.activated
    await worker(wiring).run_once()
    [first] = await deliveries(ctx)
    await ctx.session.refresh(first)
    assert (first.status, first.last_status_code) == ("pending", 302)
    assert len(receiver.received) == 1  # the redirect was not followed
    receiver.answers = [410]
    await grant(ctx, holder)
    await worker(wiring).run_once()
    shown = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}", headers={"Authorization": f"Bearer {key}"}
    )
    assert shown.json()["status"] == "disabled" and "410" in shown.json()["disabled_reason"]
    await grant(ctx, holder)
    assert len(await deliveries(ctx)) == 2  # a disabled endpoint gets nothing new


async def test_after_the_last_try_the_endpoint_is_disabled_and_its_owner_told(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    clock: FrozenClock,
    wiring: Wiring,
    key: str,
    holder: Holder,
    receiver: Receiver,
) -> None:
    await subscribe(client, key, receiver)
    receiver.answers = [500] * (len(WAITS) + 1)
    await grant(ctx, holder)
    for _ in range(len(WAITS) + 1):
        await worker(wiring).run_once()
        clock.advance(timedelta(seconds=60))
    [dead] = await deliveries(ctx)
    await ctx.session.refresh(dead)
    assert (dead.status, dead.attempts) == ("dead", len(WAITS) + 1)
    mails = (
        (await ctx.session.execute(select(OutboxMessage).where(OutboxMessage.template == "webhook_disabled")))
        .scalars()
        .all()
    )
    assert [m.recipient for m in mails] == ["it@energie.example"]


async def test_a_mandate_past_its_end_is_announced_as_expired(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    clock: FrozenClock,
    key: str,
    holder: Holder,
    receiver: Receiver,
) -> None:
    await subscribe(client, key, receiver, event_types=["mandate.expired"])
    mandate = await grant(ctx, holder, valid_until=clock.now() + timedelta(days=2))
    assert await mandates.expire_due(ctx) == 0
    clock.advance(timedelta(days=2))
    assert await mandates.expire_due(ctx) == 1
    assert await mandates.expire_due(ctx) == 0
    [queued] = await deliveries(ctx)
    assert (queued.event_type, json.loads(queued.payload)["data"]["mandate_reference"]) == (
        "mandate.expired",
        mandate.reference,
    )


async def test_private_targets_plain_http_and_unknown_events_are_refused(wiring: Wiring, key: str) -> None:
    strict = wiring.settings.model_copy(update={"webhook_allow_private": False})  # the default
    app = create_app(strict, wiring=dataclasses.replace(wiring, settings=strict))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://registry.test"
    ) as client:
        for url in (
            "http://127.0.0.1:9/hooks",
            "https://127.0.0.1/h",
            "https://10.1.2.3/h",
            "ftp://example.com",
        ):
            refused = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=headers)
            assert refused.status_code == 422, url
            assert refused.json()["errors"][0]["field"] == "url"
        unknown = await client.post(
            "/v1/webhook-endpoints",
            json={"url": "https://example.com/h", "event_types": ["everything"]},
            headers=headers,
        )
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "event_types"
