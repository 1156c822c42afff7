"""`create_app(settings)`: the ASGI application, wired from settings and nothing read at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from registry import __version__, api, web
from registry.api import errors as api_errors
from registry.api import webhooks as api_webhooks
from registry.api.errors import PROBLEM_JSON
from registry.api.lane import Lane, VerificationLane
from registry.clock import Clock
from registry.email.senders import EmailSender
from registry.errors import RegistryError
from registry.http import logs
from registry.http.asgi import HttpMiddleware, on_start
from registry.http.metrics import CountRequests
from registry.settings import Settings
from registry.web import errors as web_errors
from registry.web.policy import PAGE_POLICY
from registry.wiring import Wiring
from registry.worker.background import BackgroundWorker

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]

DESCRIPTION = """\
Verify during a phone call whether a caller may act for a customer, and for what.

Errors are RFC 9457 `application/problem+json` with a stable `code`. Times are RFC 3339 in UTC.
"""


def _operation_id(route: APIRoute) -> str:
    """Every documented route names its own short operation id; integrators see it as a method name."""
    if not route.include_in_schema:
        return f"page_{route.name}"
    raise RuntimeError(f"route {route.path} needs an explicit operation_id")


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sender: EmailSender | None = None,
    wiring: Wiring | None = None,
) -> FastAPI:
    wiring = wiring or Wiring.build(settings, clock=clock, sender=sender)
    logs.install(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = None
        if settings.worker_in_process:
            task = asyncio.create_task(BackgroundWorker(wiring).run_forever(stop))
        app.state.lane = await Lane.open(wiring)
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            if app.state.lane is not None:
                await app.state.lane.close()
            await wiring.engine.dispose()

    app = FastAPI(
        title="Mandate Registry API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        openapi_tags=[
            {"name": "operations", "description": "Health and readiness for load balancers."},
            {"name": "verifications", "description": "Check a caller's code during a call; fetch receipts."},
            {"name": "vocabulary", "description": "Reference checks and the actions a mandate can allow."},
        ],
    )
    app.state.wiring = wiring
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    _install_error_handlers(app)
    app.state.lane = None  # opened with the lifespan
    app.add_middleware(VerificationLane)
    app.add_middleware(SecurityHeaders)  # outside the lane: its answers get the headers too
    app.add_middleware(CountRequests)
    app.add_middleware(logs.RequestIds)  # outermost: every line of the request carries its id
    app.include_router(api.router)
    api_webhooks.document_events(app)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")
    return app


def _is_api(request: Request) -> bool:
    return _is_api_path(request.url.path)


def _is_api_path(path: str) -> bool:
    return path.startswith("/v1/") or path in ("/healthz", "/readyz")


def _either(for_api: Handler, for_pages: Handler) -> Handler:
    """JSON API paths get problem+json, pages get a page: each layer maps its own errors."""

    async def handle(request: Request, exc: Exception) -> Response:
        return await (for_api if _is_api(request) else for_pages)(request, exc)

    return handle


def _install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RegistryError, _either(api_errors.registry_error, web_errors.registry_error))
    app.add_exception_handler(
        RequestValidationError, _either(api_errors.validation_error, web_errors.not_found)
    )
    app.add_exception_handler(StarletteHTTPException, _either(api_errors.http_error, web_errors.http_error))
    app.add_exception_handler(DBAPIError, _either(api_errors.database_unavailable, web_errors.unavailable))
    app.add_exception_handler(Exception, _either(api_errors.unexpected, web_errors.unexpected))
    for exc_class, handler in web_errors.HANDLERS.items():
        app.add_exception_handler(exc_class, handler)


class SecurityHeaders(HttpMiddleware):
    """Headers on every answer: no sniffing; API answers never cached; pages under the CSP; and the
    request budget's headers where the key's budget was counted. Plain ASGI, as it wraps every request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_api = _is_api_path(scope["path"])

        def add(message: Message) -> None:
            headers = MutableHeaders(scope=message)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            budget = scope.get("state", {}).get("rate_limit")
            if budget is not None:
                headers.update(budget.headers())
            if is_api:
                headers.setdefault("Cache-Control", "no-store")
            else:
                headers.setdefault("Content-Security-Policy", PAGE_POLICY)
                headers.setdefault("Referrer-Policy", "same-origin")

        await self.app(scope, receive, on_start(send, add))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's spec, with error answers documented as `application/problem+json` only."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if status[0] in "45" and PROBLEM_JSON in content and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        app.openapi_schema = schema
    return app.openapi_schema


def app_from_environment() -> FastAPI:
    """The factory `serve` hands to uvicorn: settings from the environment of each worker process."""
    return create_app(Settings())
