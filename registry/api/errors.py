"""The one place where errors become HTTP: RFC 9457 problem+json for every failure, never a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry import errors
from registry.http.statuses import status_of, status_of_class
from registry.schemas import FieldProblem, Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

HTTP_CODES = {
    400: ("bad_request", "The request is malformed"),
    401: ("unauthorized", "Authentication is required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "This method is not allowed here"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "The request body is too large"),
    415: ("unsupported_media_type", "Send the body as application/json"),
    429: ("rate_limited", "Too many requests"),
}


def problem(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    field_errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"/problems/{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        errors=field_errors or [],
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def registry_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.RegistryError)
    status = status_of(exc)
    fields = [FieldProblem(field=e.field, message=e.message) for e in getattr(exc, "errors", [])]
    headers = None
    if isinstance(exc, errors.NotAuthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="mandate-registry"'}
    elif isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(request, status, exc.code, exc.title, exc.detail, fields, headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_problem(err: dict[str, Any]) -> FieldProblem:
    location = tuple(err.get("loc", ()))
    if err.get("type") == "json_invalid":  # the location is ("body", character position), not a field
        position = location[1] if len(location) > 1 else "?"
        reason = str((err.get("ctx") or {}).get("error") or "not valid JSON")
        return FieldProblem(
            field="body", message=f"The body is not valid JSON at character {position}: {reason}."
        )
    return FieldProblem(field=_field(location), message=str(err.get("msg", "invalid")))


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [_field_problem(err) for err in exc.errors()]
    detail = "; ".join(f.message if f.field == "body" else f"{f.field}: {f.message}" for f in fields)
    detail = detail or "The request is not valid."
    return problem(request, 422, "invalid_input", "The input is not valid", detail, fields)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = HTTP_CODES.get(exc.status_code, ("http_error", "The request failed"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_methods_of(request))
    return problem(request, exc.status_code, code, title, detail, headers=headers or None)


def _methods_of(request: Request) -> list[str]:
    """Every documented method of this path (Starlette names only those of the first matching route)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if (
        isinstance(exc, DBAPIError)
        and not exc.connection_invalidated
        and not isinstance(exc, OperationalError | InterfaceError)
    ):
        return await unexpected(request, exc)
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return problem(
        request,
        503,
        "service_unavailable",
        "The service is briefly unavailable",
        "The registry cannot reach its database. Try again in a few seconds.",
        headers={"Retry-After": "5"},
    )


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(
        request,
        500,
        "internal_error",
        "Something went wrong on our side",
        "The request could not be completed. It has been logged; try again later.",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.RegistryError, registry_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DBAPIError, database_unavailable)
    app.add_exception_handler(Exception, unexpected)


DESCRIPTIONS = {
    400: "The body cannot be read (not UTF-8 JSON)",
    401: "No valid API key",
    403: "The key may not do this",
    404: "Not found",
    409: "Conflict",
    422: "The input is not valid",
    429: "Too many requests",
    500: "The registry is not configured correctly",
    503: "The database is unavailable",
}
MALFORMED_BODY = 400  # answered before a route runs: the body is not UTF-8 JSON
DATABASE_DOWN = 503
# What every route behind an API key can answer.
AUTHENTICATED = (errors.NotAuthenticated, errors.NotPermitted, errors.RateLimited)
# What a POST with an Idempotency-Key can answer besides: a malformed key, a key reused with another body,
# and a key whose first request is still running.
ONCE = (errors.InvalidInput, errors.IdempotencyKeyReused, errors.IdempotencyKeyInUse)


def responses(*raised: type[errors.RegistryError] | int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route declares, derived from the exceptions it can raise (and the few statuses
    no exception stands for): each status with the problem codes it can carry, so the spec shows them."""
    codes: dict[int, list[str]] = {}
    for each in raised:
        status = each if isinstance(each, int) else status_of_class(each)
        codes.setdefault(status, [])
        if not isinstance(each, int):
            codes[status].append(f"`{each.code}`")
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_JSON: {}},
            "description": DESCRIPTIONS[status] + (f" (`code`: {', '.join(found)})" if found else ""),
        }
        for status, found in sorted(codes.items())
    }
