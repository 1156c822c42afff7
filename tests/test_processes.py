"""Several processes as one (docs/deployment.md): two `serve` processes and two `worker` processes on
loopback, sharing PostgreSQL and Redis, as the `api` replicas and the worker of compose.yaml do. What one
process did, the other knows: a lockout, a spent code, the request budget, a session; and every e-mail is
sent once by the two workers together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from registry.db.engine import session_scope
from registry.services import holders, sign_in
from registry.settings import Settings, new_key
from registry.wiring import Wiring
from tests.cases import Case, new_case
from tests.conftest import TEST_DATABASE_URL, Databases, make_settings
from tests.servers import wait_ready
from tests.smtp import SMTPServer, free_port

pytestmark = [
    pytest.mark.committed,
    pytest.mark.skipif(
        not TEST_DATABASE_URL.startswith("postgresql"),
        reason="several processes as one are PostgreSQL's and Redis's (the SQLite pass runs one process)",
    ),
]

REDIS_URL = "redis://127.0.0.1:6379/13"  # each test makes its own key, so old counters never count
BUDGET = 40  # requests per key and minute, shared by the two servers through Redis


@dataclass(frozen=True)
class Cluster:
    settings: Settings
    urls: list[str]
    smtp: SMTPServer


@pytest.fixture(scope="module")
def cluster(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    smtp = SMTPServer().start()
    hmac_key, encryption_key = new_key(), new_key()
    settings = make_settings(databases.new_migrated(), hmac_key=hmac_key, encryption_key=encryption_key)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=settings.database_url,
        REGISTRY_HMAC_KEY=hmac_key,
        REGISTRY_ENCRYPTION_KEY=encryption_key,
        REGISTRY_EMAIL_BACKEND="smtp",
        REGISTRY_SMTP_PORT=str(smtp.port),
        REGISTRY_WORKER_IN_PROCESS="false",
        REGISTRY_OUTBOX_POLL_SECONDS="0.2",
        REGISTRY_RATE_LIMIT=f"{BUDGET}/minute",
        REGISTRY_RATE_LIMIT_STORAGE=REDIS_URL,
    )
    folder = tmp_path_factory.mktemp("cluster")
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for n in range(2):
            port = free_port()
            urls.append(f"http://127.0.0.1:{port}")
            processes.append(_start(folder / f"serve-{n}.log", env, "serve", "--port", str(port)))
        for n in range(2):
            processes.append(_start(folder / f"worker-{n}.log", env, "worker"))
        for process, url, n in zip(processes, urls, range(2), strict=False):
            wait_ready(process, url, folder / f"serve-{n}.log")
        yield Cluster(settings, urls, smtp)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        smtp.stop()


def _start(log: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "registry", *args], env=env, stdout=out, stderr=out)


@pytest.fixture(scope="module")
async def wiring(cluster: Cluster) -> AsyncIterator[Wiring]:
    wiring = Wiring.build(cluster.settings)
    yield wiring
    await wiring.engine.dispose()


async def check(url: str, case: Case, code: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            f"{url}/v1/verifications",
            json={"mandate_reference": case.reference, "code": code},
            headers={"Authorization": f"Bearer {case.key}"},
        )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


class TestAsOne:
    async def test_a_code_accepted_by_one_is_refused_by_the_other(
        self, cluster: Cluster, wiring: Wiring
    ) -> None:
        case = await new_case(wiring, "spent-once")
        code = case.code
        assert (await check(cluster.urls[0], case, code)).json()["result"] == "verified"
        assert (await check(cluster.urls[1], case, code)).json()["result"] == "not_verified"

    async def test_a_lockout_reached_through_one_holds_on_the_other(
        self, cluster: Cluster, wiring: Wiring
    ) -> None:
        case = await new_case(wiring, "locked-out")
        code = case.code
        for _ in range(5):
            assert (await check(cluster.urls[0], case, wrong(code))).json()["result"] == "not_verified"
        assert (await check(cluster.urls[1], case, code)).json()["result"] == "not_verified"

    async def test_the_request_budget_is_shared(self, cluster: Cluster, wiring: Wiring) -> None:
        case = await new_case(wiring, "budget")
        statuses: Counter[int] = Counter()
        for n in range(BUDGET + 4):
            answer = await check(cluster.urls[n % 2], case, "00000000")
            statuses[answer.status_code] += 1
            if answer.status_code == 429:
                assert answer.headers["content-type"] == "application/problem+json"
                assert int(answer.headers["retry-after"]) > 0
        # 40 a minute in all, whichever server answered: not 40 each
        assert statuses == {200: BUDGET, 429: 4}, statuses

    async def test_a_session_made_on_one_works_on_the_other(self, cluster: Cluster, wiring: Wiring) -> None:
        case = await new_case(wiring, "session")
        async with session_scope(wiring.session_factory) as session:
            ctx = wiring.context(session)
            holder = await holders.get_or_create_verified(ctx, case.holder_email, "nl")
            secret = (await sign_in.open_session(ctx, holder)).secret
        for url in cluster.urls:
            async with httpx.AsyncClient(cookies={"mr_session": secret}) as client:
                answer = await client.get(f"{url}/account/data.json")
            assert answer.status_code == 200, url
            assert case.holder_email in answer.text

    async def test_every_e_mail_is_sent_once_by_the_two_workers(
        self, cluster: Cluster, wiring: Wiring
    ) -> None:
        def arrived() -> list[EmailMessage]:  # this test's only: an earlier test's may still be on its way
            return [m for m in cluster.smtp.inbox.messages if str(m["To"]).endswith("@once.example")]

        async with session_scope(wiring.session_factory) as session:
            ctx = wiring.context(session)
            for n in range(30):
                await sign_in.request_link(ctx, f"visitor{n}@once.example", f"10.0.0.{n + 1}", "nl")
        deadline = time.monotonic() + 60
        # the inbox has no event to wait on: poll it
        while len(arrived()) < 30 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # a duplicate would arrive now
        assert len(arrived()) == 30
        assert len({m["Message-ID"] for m in arrived()}) == 30
        assert len({m["To"] for m in arrived()}) == 30
