"""Real `serve` processes for tests: start one with its own keys and SMTP server, wait until it is ready."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from registry.db.engine import session_scope
from registry.services import ServiceContext, api_keys, organisations
from registry.settings import new_key
from registry.wiring import Wiring
from tests.conftest import make_settings
from tests.smtp import free_port

T = TypeVar("T")


def wait_ready(
    process: subprocess.Popen[Any], base: str, log: Path | None = None, timeout: float = 60
) -> None:
    """Return once `base`/readyz answers 200; fail, with the end of the log, if the server dies or is slow."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None else f"exit status {process.poll()}"
            raise AssertionError(f"serve at {base} did not start:\n{tail}")
        time.sleep(0.2)


@contextmanager
def serving(database_url: str, smtp_port: int, log: Path) -> Iterator[dict[str, str]]:
    """`mandate-registry serve` on a free loopback port, e-mailing through the SMTP server at `smtp_port`;
    yields its environment plus `base`, and stops it with SIGTERM."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=database_url,
        REGISTRY_HMAC_KEY=new_key(),
        REGISTRY_ENCRYPTION_KEY=new_key(),
        REGISTRY_EMAIL_BACKEND="smtp",
        REGISTRY_SMTP_PORT=str(smtp_port),
        REGISTRY_BASE_URL=base,
        REGISTRY_OUTBOX_POLL_SECONDS="0.2",
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(process, base, log)
        yield {**env, "base": base}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def in_server_database(env: dict[str, str], work: Callable[[ServiceContext], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the database of a server started by `serving`, with its keys."""
    settings = make_settings(
        env["REGISTRY_DATABASE_URL"],
        hmac_key=env["REGISTRY_HMAC_KEY"],
        encryption_key=env["REGISTRY_ENCRYPTION_KEY"],
    )
    wiring = Wiring.build(settings)
    try:
        async with session_scope(wiring.session_factory) as session:
            return await work(wiring.context(session))
    finally:
        await wiring.engine.dispose()


async def api_key(
    env: dict[str, str], scopes: list[str], org: str = "energie-bv", name: str = "Energie BV"
) -> str:
    """A key of `org` (made if it is new) in the database of a server started by `serving`."""

    async def work(ctx: ServiceContext) -> str:
        if org not in {o.slug for o in await organisations.list_all(ctx)}:
            await organisations.create(ctx, org, name)
        return (await api_keys.create(ctx, org, "crm-" + "-".join(scopes), scopes))[1]

    return await in_server_database(env, work)
