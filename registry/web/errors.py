"""The one place where errors on pages become HTTP: a sign-in redirect or a plain page in the visitor's
language, never a traceback."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry import errors
from registry.http.statuses import status_of
from registry.web import i18n
from registry.web.console import ConsoleNotSignedIn
from registry.web.deps import ForbiddenForm, NotSignedIn, Visitor, language_of, render

log = logging.getLogger(__name__)


def _page(request: Request, status: int, heading: str, message: str) -> HTMLResponse:
    visitor = Visitor(language_of(request))
    i18n.current_language.set(visitor.language)
    return render(
        request, "error.html", visitor, status, heading=i18n.gettext(heading), message=i18n.gettext(message)
    )


async def not_signed_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/sign-in?reason=page", status_code=303)  # the page says why


async def console_not_signed_in(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/console/sign-in", status_code=303)


async def forbidden_form(request: Request, exc: Exception) -> Response:
    return _page(
        request,
        403,
        "This form could not be sent",
        "The page was open too long or came from another website. Go back, reload the page and try again.",
    )


# What a person reads for each status of the shared table (registry/http/statuses.py): heading, then
# what to do. A page never says "check what you filled in" about a sign-in, a limit or our own fault.
PAGES: dict[int, tuple[str, str]] = {
    401: (
        "Please sign in again",
        "Your sign-in has ended or the link no longer works. Sign in and try again.",
    ),
    403: ("You may not do this", "Only an admin of your organisation can do this."),
    404: ("Page not found", "This page does not exist, or it is not yours."),
    409: (
        "This cannot be done now",
        "Something changed in the meantime. Go back, reload the page and look again.",
    ),
    422: ("Something is not right", "Go back and check what you filled in."),
    429: ("Too many tries", "Please wait a while and try again."),
    500: ("Something went wrong on our side", "Please try again in a moment."),
}


async def registry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.RegistryError)
    status = status_of(exc)
    heading, message = PAGES[status]
    response = _page(request, status, heading, message)
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    if status == 500:
        log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.detail)
    return response


async def not_found(request: Request, exc: Exception) -> Response:
    return _page(request, 404, "Page not found", "This page does not exist, or it is not yours.")


async def http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 405:
        return _page(request, 405, "This cannot be done here", "Go back and use the buttons on the page.")
    return await not_found(request, exc)


async def unavailable(request: Request, exc: Exception) -> Response:
    return _page(request, 503, "The registry is briefly unavailable", "Please try again in a few minutes.")


async def unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page(request, 500, "Something went wrong on our side", "Please try again in a moment.")


HANDLERS = {
    NotSignedIn: not_signed_in,
    ConsoleNotSignedIn: console_not_signed_in,
    ForbiddenForm: forbidden_form,
}
