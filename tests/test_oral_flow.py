"""The phone story against a real server: an organisation registers an oral mandate by API, the holder
gets the e-mail through a real SMTP server, confirms from the link, and the agent, watching the live
status stream, sees `confirmed` within a second; the code the holder was shown then verifies."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Databases
from tests.servers import api_key, serving
from tests.smtp import SMTPServer

pytestmark = pytest.mark.committed


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(
    databases: Databases, smtp: SMTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    with serving(databases.new_migrated(), smtp.port, tmp_path_factory.mktemp("oral") / "serve.log") as env:
        yield env


async def received_link(smtp: SMTPServer, to: str) -> str:
    for _ in range(100):
        for message in smtp.inbox.messages:
            body = message.get_body(("plain",))
            if message["To"] == to and body is not None:
                found = re.search(r"(http://\S+/confirm/\S+)", body.get_content())
                assert found, body.get_content()
                return found.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no e-mail to {to}")


async def events(stream: httpx.Response, into: asyncio.Queue[tuple[float, dict[str, object]]]) -> None:
    """Each `status` event of the stream, with the moment it arrived."""
    kind = None
    async for line in stream.aiter_lines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and kind == "status":
            await into.put((time.monotonic(), json.loads(line.split(":", 1)[1])))


async def test_request_by_api_confirm_from_the_email_and_verify(
    server: dict[str, str], smtp: SMTPServer
) -> None:
    base = server["base"]
    key = await api_key(server, ["verify", "mandate_requests:write"])
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as api:
        created = await api.post(
            "/v1/mandate-requests",
            headers={**headers, "Idempotency-Key": "phone-call-1"},
            json={
                "customer_reference": "KL-2001",
                "customer_email": "moeder@example.nl",
                "proxy": {"name": "Sanne Bakker", "relation": "child"},
                "scope": ["information", "billing"],
                "agent_id": "agent-7",
            },
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]

        updates: asyncio.Queue[tuple[float, dict[str, object]]] = asyncio.Queue()
        async with api.stream("GET", f"/v1/mandate-requests/{request_id}/events", headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = asyncio.create_task(events(stream, updates))
            _, first = await asyncio.wait_for(updates.get(), timeout=5)
            assert first["status"] == "pending"

            link = await received_link(smtp, "moeder@example.nl")
            async with httpx.AsyncClient(timeout=10) as browser:  # the holder's browser, cookies and all
                page = await browser.get(link)
                assert page.status_code == 200
                assert "Sanne Bakker" in page.text
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                assert token
                clicked = time.monotonic()
                done = await browser.post(
                    link,
                    data={
                        "csrf_token": token.group(1),
                        "answer": "confirm",
                        "scope": ["information", "billing"],
                    },
                )
                assert done.status_code == 303
                arrived, update = await asyncio.wait_for(updates.get(), timeout=5)
                assert update["status"] == "confirmed"
                assert arrived - clicked < 1.0, f"the console heard it after {arrived - clicked:.2f} s"
                shown = await browser.get(f"{base}{done.headers['location']}")
                code = re.search(r'data-copy="(\d{8})"', shown.text)
                assert code, shown.text
            await asyncio.wait_for(reader, timeout=5)  # the stream ends once the request is answered

        status = (await api.get(f"/v1/mandate-requests/{request_id}", headers=headers)).json()
        assert status["status"] == "confirmed"
        assert status["mandate_reference"] == update["mandate_reference"]
        answer = await api.post(
            "/v1/verifications",
            headers=headers,
            json={
                "mandate_reference": status["mandate_reference"],
                "code": code.group(1),
                "action": "billing",
            },
        )
        assert answer.json()["result"] == "verified"
        assert answer.json()["binding"] == "organisation_confirmed"
        assert answer.json()["action_permitted"] is True
        subjects = [m["Subject"] for m in smtp.inbox.messages if m["To"] == "moeder@example.nl"]
        assert subjects.count("Mag Sanne Bakker namens u contact hebben met Energie BV?") == 1


async def test_a_retry_storm_with_one_key_does_the_work_once(
    server: dict[str, str], smtp: SMTPServer
) -> None:
    """Eight copies of one POST at once: one request is made and mailed; every answer is that request's
    (a replay) or, while it still runs on PostgreSQL, 409 `idempotency_key_in_use`."""
    key = await api_key(server, ["mandate_requests:write"])
    body = {
        "customer_reference": "KL-3001",
        "customer_email": "storm@example.nl",
        "proxy": {"name": "Kees Smit", "relation": "partner"},
        "scope": ["information"],
    }
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "storm-1"}
    async with httpx.AsyncClient(base_url=server["base"], timeout=20) as api:
        answers = await asyncio.gather(
            *(api.post("/v1/mandate-requests", json=body, headers=headers) for _ in range(8))
        )
        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {201, 409}, [a.text for a in answers]
        made = {a.json()["id"] for a in answers if a.status_code == 201}
        assert len(made) == 1, statuses
        busy = [a.json()["code"] for a in answers if a.status_code == 409]
        assert set(busy) <= {"idempotency_key_in_use"}
        retried = await api.post("/v1/mandate-requests", json=body, headers=headers)
        assert retried.status_code == 201 and retried.json()["id"] in made
    await received_link(smtp, "storm@example.nl")
    await asyncio.sleep(1)  # time for a second e-mail, were there one
    assert sum(1 for m in smtp.inbox.messages if m["To"] == "storm@example.nl") == 1
