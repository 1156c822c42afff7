"""Logging: one line per event, JSON in production (text in development, or as REGISTRY_LOG_FORMAT says), the
request's id on every line logged while it is handled, and never a secret: query strings are cut off,
and API keys and the tokens in links' paths are masked, whatever logger wrote the line.

Everything goes through the standard library's `logging` (ours, uvicorn's, the libraries'); structlog's
`ProcessorFormatter` renders it.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from registry.http.asgi import HttpMiddleware, on_start
from registry.settings import Settings

# An API key, and any path segment long enough to be a token (sign-in, confirmation, invitation links).
_KEY = re.compile(r"mrk_[A-Za-z0-9_-]{4,}")
_TOKEN_IN_PATH = re.compile(r"(?<=/)[A-Za-z0-9_-]{20,}(?=[/?\s\"']|$)")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
HANDLER = "registry"


class DropQueryStrings(logging.Filter):
    """Cut the query string off the path in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


def mask(text: str) -> str:
    return _TOKEN_IN_PATH.sub("…", _KEY.sub("mrk_…", text))


def _mask_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for field, value in event.items():
        if isinstance(value, str):
            event[field] = mask(value)
    return event


def _drop_terminal_colours(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn gives each line a `color_message` copy with ANSI escapes for terminals: never ours to show."""
    event.pop("color_message", None)
    return event


def install(settings: Settings | None = None) -> None:
    """Send every log line through one handler on stderr, rendered as `settings` asks. Idempotent."""
    settings = settings or Settings()
    as_json = settings.log_format == "json" or (
        settings.log_format == "auto" and settings.environment == "production"
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_terminal_colours,
        _mask_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    handler.addFilter(DropQueryStrings())
    handler.set_name(HANDLER)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.get_name() != HANDLER] + [handler]  # others stay
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


class RequestIds(HttpMiddleware):
    """ASGI middleware: a request id on every log line of the request and on its answer (`X-Request-ID`).
    A well-formed id sent by the client or the proxy is kept, so one id follows a request across services."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(16)

        def add(message: Message) -> None:
            MutableHeaders(scope=message)["X-Request-ID"] = request_id

        # bind and reset by token: `bound_contextvars` reads the whole context first, at every request
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, on_start(send, add))
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
