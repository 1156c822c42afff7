"""Faults (SECURITY.md, docs/deployment.md): a server killed right after answering keeps what it answered;
PostgreSQL going away gives 503 problem+json, never a traceback, and service comes back by itself; SIGTERM
lets a request in flight finish."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from registry import migrations
from registry.db.engine import session_scope
from registry.models import AuditEvent, OutboxMessage, Verification
from registry.services import sign_in
from registry.settings import new_key
from registry.wiring import Wiring
from tests.cases import Case, new_case
from tests.conftest import TEST_DATABASE_URL, Databases, make_settings
from tests.servers import wait_ready
from tests.smtp import Inbox, SMTPServer, free_port

pytestmark = pytest.mark.committed


@dataclass
class Server:
    """One `serve` process on a database, restartable on the same port and keys."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "registry", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=out,
            )
        wait_ready(self.process, self.url, self.log)
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)


def server_env(database_url: str) -> tuple[dict[str, str], Wiring]:
    hmac_key, encryption_key = new_key(), new_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=database_url,
        REGISTRY_HMAC_KEY=hmac_key,
        REGISTRY_ENCRYPTION_KEY=encryption_key,
        REGISTRY_EMAIL_BACKEND="console",
        REGISTRY_WORKER_IN_PROCESS="false",
    )
    settings = make_settings(database_url, hmac_key=hmac_key, encryption_key=encryption_key)
    return env, Wiring.build(settings)


def check(url: str, case: Case, code: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/verifications",
        json={"mandate_reference": case.reference, "code": code},
        headers={"Authorization": f"Bearer {case.key}"},
        timeout=30,
    )


class TestKilled:
    async def test_killed_right_after_verified_the_code_stays_spent(
        self, databases: Databases, tmp_path: Path
    ) -> None:
        env, wiring = server_env(databases.new_migrated())
        try:
            case = await new_case(wiring, "killed")
            server = Server(env, free_port(), tmp_path / "serve.log").start()
            answer = check(server.url, case, case.code)
            server.signal(signal.SIGKILL)  # no shutdown, no flush: only what was committed remains
            assert answer.json()["result"] == "verified"
            server.wait()
            server.start()
            try:
                assert check(server.url, case, case.code).json()["result"] == "not_verified"
            finally:
                server.signal(signal.SIGTERM)
                server.wait()
            async with session_scope(wiring.session_factory) as session:
                receipt = await session.scalar(
                    select(Verification).where(
                        col(Verification.public_id) == answer.json()["verification_id"]
                    )
                )
                audited = await session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(col(AuditEvent.chain) == f"mandate:{case.reference}")
                    .where(col(AuditEvent.kind) == "verification.succeeded")
                )
            assert receipt is not None and receipt.answer == answer.text
            assert audited == 1
        finally:
            await wiring.engine.dispose()


class TestShutdown:
    async def test_sigterm_lets_a_request_in_flight_finish(
        self, databases: Databases, tmp_path: Path
    ) -> None:
        env, wiring = server_env(databases.new_migrated())
        try:
            case = await new_case(wiring, "sigterm")
            server = Server(env, free_port(), tmp_path / "serve.log").start()
            answer = _terminated_while_sending(server, case)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            assert b'"result":"verified"' in answer
            assert server.wait() in (0, -signal.SIGTERM)  # uvicorn exits by the signal once drained
        finally:
            await wiring.engine.dispose()


def _terminated_while_sending(server: Server, case: Case) -> bytes:
    """Begin a check, SIGTERM the server, then send the rest of the body; the raw answer."""
    body = f'{{"mandate_reference":"{case.reference}","code":"{case.code}"}}'.encode()
    head = (
        f"POST /v1/verifications HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {case.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(head + body[:10])  # the request has begun
        time.sleep(0.3)
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.sendall(body[10:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


@dataclass(frozen=True)
class Cluster:
    url: str
    pg_ctl: list[str]
    options: str

    def stop(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "immediate", "stop"], check=True, capture_output=True)

    def start(self) -> None:
        subprocess.run([*self.pg_ctl, "-o", self.options, "start"], check=True, capture_output=True)


@pytest.fixture
def own_postgres() -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test's own on a free port, so that stopping it disturbs nothing else."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("a PostgreSQL fault; the PostgreSQL pass runs it")
    if not PG_BIN or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's server binaries and root, to run a cluster as the postgres user")
    bin_dir, port = Path(PG_BIN[-1]), free_port()
    folder = Path(tempfile.mkdtemp(prefix="registry-pg-", dir="/tmp"))
    shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w"]
    cluster = Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", pg_ctl, options)
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


class TestDatabaseAway:
    async def test_503_problem_while_postgres_is_down_then_back_by_itself(
        self, own_postgres: Cluster, tmp_path: Path
    ) -> None:
        migrations.upgrade(own_postgres.url)
        env, wiring = server_env(own_postgres.url)
        try:
            case = await new_case(wiring, "pg-away")
        finally:
            await wiring.engine.dispose()
        server = Server(env, free_port(), tmp_path / "serve.log").start()
        try:
            _away_and_back(server, own_postgres, case)
        finally:
            server.signal(signal.SIGTERM)
            server.wait()


def _away_and_back(server: Server, cluster: Cluster, case: Case) -> None:
    assert check(server.url, case, "00000000").status_code == 200
    cluster.stop()
    for _ in range(3):
        down = check(server.url, case, "00000000")
        assert down.status_code == 503, down.text
        assert down.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in down.text and "psycopg" not in down.text
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 503
    cluster.start()
    deadline, answer = time.monotonic() + 60, None
    while time.monotonic() < deadline:  # no restart of the server: it comes back by itself
        answer = check(server.url, case, case.code)
        if answer.status_code == 200:
            break
        assert answer.status_code == 503, answer.text
        time.sleep(0.5)
    assert answer is not None and answer.json()["result"] == "verified"


class SlowInbox(Inbox):
    """An SMTP server that takes two seconds to accept a message, and says when one began."""

    def __init__(self) -> None:
        super().__init__()
        self.receiving = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.sleep(2)
        return await super().handle_DATA(server, session, envelope)


class TestWorkerShutdown:
    async def test_sigterm_while_sending_finishes_the_message_and_never_sends_it_twice(
        self, databases: Databases, tmp_path: Path
    ) -> None:
        smtp = SMTPServer()
        smtp.inbox = inbox = SlowInbox()
        smtp.start()
        env, wiring = server_env(databases.new_migrated())
        env.update(
            REGISTRY_EMAIL_BACKEND="smtp",
            REGISTRY_SMTP_PORT=str(smtp.port),
            REGISTRY_OUTBOX_POLL_SECONDS="0.2",
        )
        try:
            async with session_scope(wiring.session_factory) as session:
                await sign_in.request_link(wiring.context(session), "anna@slow.example", "127.0.0.1", "nl")
            worker = _worker(env, tmp_path / "worker.log")
            assert await asyncio.to_thread(inbox.receiving.wait, 60), "the worker never began to send"
            worker.send_signal(signal.SIGTERM)  # in the middle of the SMTP conversation
            assert await asyncio.to_thread(worker.wait, 30) in (0, -signal.SIGTERM)
            assert len(inbox.messages) == 1  # the message in hand was finished, not cut off
            again = _worker(env, tmp_path / "again.log", "--once")
            assert await asyncio.to_thread(again.wait, 60) == 0
            assert len(inbox.messages) == 1  # and it was marked sent: nobody sends it again
            async with session_scope(wiring.session_factory) as session:
                statuses = (await session.execute(select(col(OutboxMessage.status)))).scalars().all()
            assert statuses == ["sent"]
        finally:
            smtp.stop()
            await wiring.engine.dispose()


def _worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "registry", "worker", *args], env=env, stdout=out, stderr=out
        )
