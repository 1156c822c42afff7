"""Logs (registry/http/logs.py): JSON lines with the request's id on every line of it, and never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import structlog

from registry.http import logs
from registry.settings import new_key
from tests.conftest import Databases, make_settings
from tests.servers import wait_ready
from tests.smtp import free_port


def test_keys_and_link_tokens_are_masked() -> None:
    token = secrets.token_urlsafe(32)
    line = f'"GET /sign-in/{token} HTTP/1.1" 410 key=mrk_{secrets.token_urlsafe(24)}'
    masked = logs.mask(line)
    assert token not in masked and "mrk_…" in masked and "/sign-in/… HTTP/1.1" in masked
    assert logs.mask("/v1/verifications/vrf_short") == "/v1/verifications/vrf_short"


def test_a_line_carries_the_request_id_bound_while_it_is_handled(databases: Databases) -> None:
    logs.install(make_settings(databases.new(), log_format="json"))
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == logs.HANDLER)
    stream = io.StringIO()
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        with structlog.contextvars.bound_contextvars(request_id="trace-7"):
            logging.getLogger("registry.test").warning("checked %s", "mrk_abcdef123")
        logging.getLogger("registry.test").warning("outside")
    finally:
        handler.setStream(sys.stderr)  # type: ignore[attr-defined]
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "trace-7" and first["event"] == "checked mrk_…"
    assert first["level"] == "warning" and first["logger"] == "registry.test" and "timestamp" in first
    assert "request_id" not in second


def test_a_real_server_logs_json_with_ids_and_no_secret(databases: Databases, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_DATABASE_URL=databases.new_migrated(),
        REGISTRY_HMAC_KEY=new_key(),
        REGISTRY_ENCRYPTION_KEY=new_key(),
        REGISTRY_EMAIL_BACKEND="memory",
        REGISTRY_LOG_FORMAT="json",
    )
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    key, token = "mrk_" + secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    try:
        wait_ready(server, base, err)
        answer = httpx.post(
            f"{base}/v1/verifications?api_key={key}",
            json={"mandate_reference": "M-3479-BCDF-X", "code": "12345678"},
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "trace-42"},
        )
        assert answer.status_code == 401 and answer.headers["x-request-id"] == "trace-42"
        generated = httpx.get(f"{base}/sign-in/{token}").headers["x-request-id"]
        assert len(generated) == 32
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    text = err.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines and all({"event", "level", "timestamp"} <= line.keys() for line in lines)
    assert any(
        line.get("request_id") == "trace-42" and "POST /v1/verifications" in line["event"] for line in lines
    )
    assert any(line.get("request_id") == generated and "/sign-in/…" in line["event"] for line in lines)
    assert key not in text and token not in text and key not in out.read_text()


def test_uvicorn_lines_carry_no_terminal_colours_in_either_format(databases: Databases) -> None:
    for log_format in ("json", "text"):
        logs.install(make_settings(databases.new(), log_format=log_format))
        handler = next(h for h in logging.getLogger().handlers if h.get_name() == logs.HANDLER)
        stream = io.StringIO()
        handler.setStream(stream)  # type: ignore[attr-defined]
        try:  # as uvicorn logs its start: the message, and a coloured copy for terminals
            logging.getLogger("uvicorn.error").info(
                "Started server process [%d]", 42, extra={"color_message": "Started \x1b[36m%d\x1b[0m"}
            )
        finally:
            handler.setStream(sys.stderr)  # type: ignore[attr-defined]
        line = stream.getvalue()
        assert "Started server process [42]" in line, log_format
        assert "\x1b" not in line and "color_message" not in line, (log_format, line)
        assert len(line.strip().splitlines()) == 1  # one readable line per event
