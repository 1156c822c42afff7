"""Oral mandates on the web: the holder's confirmation page behind the e-mailed link, and the page where
a proxy asks a holder for a mandate.

Opening the link (GET or HEAD, as mail scanners do) only shows; a POST from the page with its CSRF token
confirms or declines, once. After that the browser is sent on to a page without the token.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from registry.crypto.security import decrypt, encrypt
from registry.db.unit_of_work import Context
from registry.domain.vocabulary import RequestStatus
from registry.email.render import TIMEZONE
from registry.errors import (
    FieldError,
    InvalidInput,
    OrganisationInactive,
    OrganisationNotFound,
    RateLimited,
    RequestAnswered,
    RequestNotFound,
)
from registry.services import codes, mandate_requests, mandates, organisations, sign_in
from registry.services.mandate_requests import RequestView
from registry.services.mandates import Proxy
from registry.web import dates, i18n
from registry.web.deps import (
    TOKEN_HEADERS,
    HolderDep,
    VisitorDep,
    form_of,
    render,
    secure_cookies,
    signed_in_to,
)
from registry.web.mandates import FIELD_MESSAGES, field_errors

router = APIRouter(include_in_schema=False)
CODE_COOKIE = "mr_new_code"  # the call code made at confirmation, encrypted, for the page after the redirect
SHOWN_FOR = timedelta(minutes=10)  # how long the page after a redirect shows what was just done
# What was declined, encrypted, for the page after the redirect (which has no token to look it up by).
DECLINED_COOKIE = "mr_declined"
# The holder confirms: the grant form's words, and the rule for a narrowed end.
CONFIRM_MESSAGES = {
    **FIELD_MESSAGES,
    "valid_until": "The end can be earlier than asked, not later, and must be in the future.",
}
# The proxy asks: the same fields, spoken to the proxy, in the order of the form.
ASK_MESSAGES = {
    "organisation": FIELD_MESSAGES["organisation"],
    "holder_email": "This is not an e-mail address. Check it, for example name@example.nl.",
    "proxy.name": "Fill in your name.",
    "proxy.relation": "Choose how you are related to them.",
    "proxy.email": FIELD_MESSAGES["proxy.email"],
    "proxy.phone": FIELD_MESSAGES["proxy.phone"],
    "scope": "Choose at least one thing you want to do for them.",
    "valid_until": "The end must be in the future, and at most 5 years from now.",
    "customer_reference": FIELD_MESSAGES["customer_reference"],
    "note": "Keep the note to 500 characters.",
}


def _page(request: Request, visitor: Any, name: str, status: int = 200, **context: Any) -> Response:
    response = render(request, name, visitor, status, **context)
    response.headers.update(TOKEN_HEADERS)
    return response


def _gone(request: Request, visitor: VisitorDep, view: RequestView | None) -> Response:
    """Why the link does nothing (any more), and what to do instead."""
    if view is None:
        return _page(request, visitor, "request_gone.html", 404, reason="unknown")
    return _page(request, visitor, "request_gone.html", 410, reason=view.status.value, view=view)


@router.api_route("/confirm/{token}", methods=["GET", "HEAD"])
async def show(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    """Only shows the request: opening the link must change nothing."""
    view = await mandate_requests.by_token(ctx, token)
    if view is None or view.status != RequestStatus.pending:
        return _gone(request, visitor, view)
    return _page(request, visitor, "request.html", view=view, token=token, form={}, errors={})


@router.post("/confirm/{token}")
async def answer(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    form = await form_of(request, visitor)
    if form.get("answer") == "confirm":
        return await _confirm(request, token, visitor, ctx, form)
    not_me, block = form.get("answer") == "not_me", form.get("block") == "1"
    try:
        view = await mandate_requests.decline(ctx, token, not_me=not_me, block=block)
    except (RequestNotFound, RequestAnswered):
        return _gone(request, visitor, await mandate_requests.by_token(ctx, token))
    response = RedirectResponse("/declined", status_code=303)
    response.headers.update(TOKEN_HEADERS)
    what = {
        "name": view.mandate.proxy_name,
        "organisation": view.organisation.display_name,
        "not_me": not_me,
        "blocked": block and mandate_requests.can_block(view),
    }
    _set_sealed(request, ctx, response, DECLINED_COOKIE, what, "/declined")
    return response


def _set_sealed(
    request: Request, ctx: Context, response: Response, cookie: str, data: dict[str, Any], path: str
) -> None:
    """Hand the page after a redirect what it shows, encrypted, for a few minutes, to that page only."""
    sealed = encrypt(ctx.keys, json.dumps(data).encode(), cookie.encode())
    response.set_cookie(
        cookie,
        sealed,
        max_age=int(SHOWN_FOR.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path=path,
    )


def _sealed(request: Request, ctx: Context, cookie: str) -> dict[str, Any]:
    """What `_set_sealed` handed over; empty when the cookie is gone or damaged."""
    sealed = request.cookies.get(cookie)
    if not sealed:
        return {}
    try:
        data = json.loads(decrypt(ctx.keys, sealed, cookie.encode()))
    except (ValueError, KeyError):
        return {}
    return cast(dict[str, Any], data) if isinstance(data, dict) else {}


async def _confirm(
    request: Request, token: str, visitor: VisitorDep, ctx: Context, form: dict[str, Any]
) -> Response:
    view = await mandate_requests.by_token(ctx, token)
    if view is None or view.status != RequestStatus.pending:
        return _gone(request, visitor, view)
    unreadable: list[FieldError] = []
    scope = form.get("scope") or []
    asked_day = view.mandate.valid_until.astimezone(TIMEZONE).date()
    end = dates.instant(form, "valid_until", unreadable, end_of_day=True)
    if end is not None and end.date() == asked_day:
        end = None  # the page shows the asked end as a day; that day unchanged is the end as asked, exactly
    try:
        confirmed = await mandate_requests.confirm(
            ctx,
            token,
            scope=[scope] if isinstance(scope, str) else list(scope),
            valid_until=end,
            unreadable=unreadable,
        )
    except (RequestNotFound, RequestAnswered):
        return _gone(request, visitor, await mandate_requests.by_token(ctx, token))
    except InvalidInput as exc:
        errors = field_errors(exc.errors, CONFIRM_MESSAGES)
        return _page(request, visitor, "request.html", 422, view=view, token=token, form=form, errors=errors)
    if visitor.session is not None:  # whoever was signed in here, this browser now belongs to the holder
        await sign_in.sign_out(ctx, visitor.session)
    session = await sign_in.open_session(ctx, confirmed.holder)
    reference = confirmed.view.mandate.reference
    response = signed_in_to(request, f"/mandates/{reference}/confirmed", session.secret)
    issued = {
        "reference": reference,
        "code": confirmed.code.code,
        "expires_at": confirmed.code.expires_at.isoformat(),
    }
    _set_sealed(request, ctx, response, CODE_COOKIE, issued, f"/mandates/{reference}/confirmed")
    return response


@router.get("/mandates/{reference}/confirmed")
async def confirmed(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    """After confirming: the call code made for the proxy (shown once), and the authenticator offer."""
    view = await mandates.get_for_holder(ctx, who.holder, reference)
    issued = None
    data = _sealed(request, ctx, CODE_COOKIE)
    if data.get("reference") == view.mandate.reference:
        issued = codes.IssuedCode(data["code"], datetime.fromisoformat(data["expires_at"]))
    response = render(request, "request_confirmed.html", who, view=view, issued=issued)
    response.delete_cookie(CODE_COOKIE, path=f"/mandates/{reference}/confirmed")
    return response


@router.get("/declined")
async def declined(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    """What the holder just declined, by name; without the cookie (minutes later), only that it is saved."""
    return render(request, "request_declined.html", visitor, declined=_sealed(request, ctx, DECLINED_COOKIE))


async def _ask_form(
    request: Request, visitor: VisitorDep, ctx: Context, status: int = 200, **extra: Any
) -> Response:
    directory = [o for o in await organisations.list_all(ctx) if o.active]
    return render(
        request,
        "ask.html",
        visitor,
        status,
        organisations=directory,
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/ask")
async def ask_form(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    """A proxy asks a holder for a mandate; the holder confirms from an e-mail."""
    return await _ask_form(
        request, visitor, ctx, form={"organisation": request.query_params.get("organisation", "")}
    )


@router.post("/ask")
async def ask(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    form = await form_of(request, visitor)
    unreadable: list[FieldError] = []
    scope = form.get("scope") or []
    end = dates.instant(form, "valid_until", unreadable, end_of_day=True)
    the_ask = mandate_requests.Ask(
        organisation=str(form.get("organisation") or ""),
        email=str(form.get("holder_email") or ""),
        proxy=Proxy(
            str(form.get("proxy_name") or ""),
            str(form.get("relation") or ""),
            str(form.get("proxy_email") or "") or None,
            str(form.get("proxy_phone") or "") or None,
        ),
        scope=[scope] if isinstance(scope, str) else list(scope),
        valid_until=end,
        customer_reference=str(form.get("customer_reference") or "") or None,
        note=str(form.get("note") or "") or None,
        language=visitor.language,
    )
    try:
        await mandate_requests.request_by_proxy(
            ctx, the_ask, request.client.host if request.client else "unknown", unreadable=unreadable
        )
    except InvalidInput as exc:
        return await _ask_form(request, visitor, ctx, 422, form=form, errors=_ask_errors(exc.errors, form))
    except (OrganisationNotFound, OrganisationInactive):
        errors = {"organisation": i18n.gettext(FIELD_MESSAGES["organisation"])}
        return await _ask_form(request, visitor, ctx, 422, form=form, errors=errors)
    except RateLimited:
        problem = i18n.gettext("Many requests were sent from this network in the last hour. Try again later.")
        return await _ask_form(request, visitor, ctx, 429, form=form, problem=problem)
    return RedirectResponse(f"/ask/sent?organisation={the_ask.organisation}", status_code=303)


def _ask_errors(errors: list[FieldError], form: dict[str, Any]) -> dict[str, str]:
    """Each problem in the proxy's words, in the order of the form; an address left empty is asked for,
    not called wrong."""
    ordered = sorted(
        errors, key=lambda e: list(ASK_MESSAGES).index(e.field) if e.field in ASK_MESSAGES else 99
    )
    shown = field_errors(ordered, ASK_MESSAGES)
    if "holder_email" in shown and not str(form.get("holder_email") or "").strip():
        shown["holder_email"] = i18n.gettext("Fill in their e-mail address.")
    return shown


@router.get("/ask/sent")
async def ask_sent(request: Request, visitor: VisitorDep) -> Response:
    """The same page whatever the address: it never tells whether the address is known here."""
    return render(request, "ask_sent.html", visitor)
