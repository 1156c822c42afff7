"""Oral mandates on the web: the holder's confirmation page behind the e-mailed link, and the page where
a proxy asks a holder for a mandate.

Opening the link (GET or HEAD, as mail scanners do) only shows; a POST from the page with its CSRF token
confirms or declines, once. After that the browser is sent on to a page without the token.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

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
from registry.security import decrypt, encrypt
from registry.services import codes, mandate_requests, mandates, organisations, sign_in
from registry.services.mandate_requests import RequestView
from registry.services.mandates import Proxy
from registry.unit_of_work import Context
from registry.vocabulary import RequestStatus
from registry.web import i18n
from registry.web.deps import (
    TOKEN_HEADERS,
    HolderDep,
    VisitorDep,
    form_of,
    render,
    secure_cookies,
    signed_in_to,
)
from registry.web.mandates import FIELD_MESSAGES, field_errors, form_day

router = APIRouter(include_in_schema=False)
CODE_COOKIE = "mr_new_code"  # the call code made at confirmation, encrypted, for the page after the redirect
CODE_SHOWN_FOR = timedelta(minutes=10)
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
    try:
        await mandate_requests.decline(
            ctx, token, not_me=form.get("answer") == "not_me", block=form.get("block") == "1"
        )
    except (RequestNotFound, RequestAnswered):
        return _gone(request, visitor, await mandate_requests.by_token(ctx, token))
    outcome = "not_me" if form.get("answer") == "not_me" else "declined"
    response = RedirectResponse(f"/declined?answer={outcome}", status_code=303)
    response.headers.update(TOKEN_HEADERS)
    return response


async def _confirm(
    request: Request, token: str, visitor: VisitorDep, ctx: Context, form: dict[str, Any]
) -> Response:
    view = await mandate_requests.by_token(ctx, token)
    if view is None or view.status != RequestStatus.pending:
        return _gone(request, visitor, view)
    unreadable: list[FieldError] = []
    scope = form.get("scope") or []
    asked_day = view.mandate.valid_until.astimezone(TIMEZONE).date().isoformat()
    # The page shows the asked end as a day; that day unchanged means the end as asked, to the second.
    end = (
        None if form.get("valid_until") == asked_day else form_day(form.get("valid_until"), True, unreadable)
    )
    try:
        if unreadable:
            raise InvalidInput("The date cannot be read.", unreadable)
        confirmed = await mandate_requests.confirm(
            ctx, token, scope=[scope] if isinstance(scope, str) else list(scope), valid_until=end
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
    sealed = encrypt(
        ctx.keys,
        json.dumps(
            {
                "reference": reference,
                "code": confirmed.code.code,
                "expires_at": confirmed.code.expires_at.isoformat(),
            }
        ).encode(),
        CODE_COOKIE.encode(),
    )
    response.set_cookie(
        CODE_COOKIE,
        sealed,
        max_age=int(CODE_SHOWN_FOR.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path=f"/mandates/{reference}/confirmed",
    )
    return response


@router.get("/mandates/{reference}/confirmed")
async def confirmed(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    """After confirming: the call code made for the proxy (shown once), and the authenticator offer."""
    view = await mandates.get_for_holder(ctx, who.holder, reference)
    issued = None
    sealed = request.cookies.get(CODE_COOKIE)
    if sealed:
        try:
            data = json.loads(decrypt(ctx.keys, sealed, CODE_COOKIE.encode()))
        except (ValueError, KeyError):
            data = {}
        if data.get("reference") == view.mandate.reference:
            issued = codes.IssuedCode(data["code"], datetime.fromisoformat(data["expires_at"]))
    response = render(request, "request_confirmed.html", who, view=view, issued=issued)
    response.delete_cookie(CODE_COOKIE, path=f"/mandates/{reference}/confirmed")
    return response


@router.get("/declined")
async def declined(request: Request, visitor: VisitorDep) -> Response:
    return render(
        request, "request_declined.html", visitor, not_me=request.query_params.get("answer") == "not_me"
    )


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
    end = form_day(form.get("valid_until"), True, unreadable)
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
        if unreadable:
            raise InvalidInput("The date cannot be read.", unreadable)
        await mandate_requests.request_by_proxy(
            ctx, the_ask, request.client.host if request.client else "unknown"
        )
    except InvalidInput as exc:
        ordered = sorted(
            exc.errors, key=lambda e: list(ASK_MESSAGES).index(e.field) if e.field in ASK_MESSAGES else 99
        )
        return await _ask_form(
            request, visitor, ctx, 422, form=form, errors=field_errors(ordered, ASK_MESSAGES)
        )
    except (OrganisationNotFound, OrganisationInactive):
        errors = {"organisation": i18n.gettext(FIELD_MESSAGES["organisation"])}
        return await _ask_form(request, visitor, ctx, 422, form=form, errors=errors)
    except RateLimited:
        problem = i18n.gettext("Many requests were sent from this network in the last hour. Try again later.")
        return await _ask_form(request, visitor, ctx, 429, form=form, problem=problem)
    return RedirectResponse(f"/ask/sent?organisation={the_ask.organisation}", status_code=303)


@router.get("/ask/sent")
async def ask_sent(request: Request, visitor: VisitorDep) -> Response:
    """The same page whatever the address: it never tells whether the address is known here."""
    return render(request, "ask_sent.html", visitor)
