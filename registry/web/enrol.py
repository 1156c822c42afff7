"""The proxy's pages (no account): set up an authenticator app from an e-mailed invitation."""

from __future__ import annotations

from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response

from registry.db.unit_of_work import Context
from registry.errors import Conflict, InvalidInput
from registry.models import Mandate
from registry.services import authenticators, organisations
from registry.web import i18n
from registry.web.deps import TOKEN_HEADERS, VisitorDep, form_of, render

router = APIRouter(include_in_schema=False)


def _qr(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code, with a title for screen readers."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, title=i18n.gettext("QR code for your authenticator app")
    )


def _page(request: Request, visitor: VisitorDep, name: str, status: int = 200, **context: object) -> Response:
    response = render(request, name, visitor, status, **context)
    response.headers.update(TOKEN_HEADERS)
    return response


async def _about(ctx: Context, mandate: Mandate) -> dict[str, Any]:
    """What every page of the invitation names: the mandate, and the organisation it works at."""
    return {"mandate": mandate, "organisation": await organisations.by_id(ctx, mandate.organisation_id)}


@router.get("/enrol/{token}")
async def start(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    """Only shows a button: opening the link (as mail scanners do) changes nothing."""
    found = await authenticators.invitation(ctx, token)
    if found is None:
        return _page(request, visitor, "enrol_gone.html", 410)
    return _page(request, visitor, "enrol_start.html", token=token, **await _about(ctx, found[1]))


@router.post("/enrol/{token}")
async def show_secret(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    await form_of(request, visitor)
    found = await authenticators.invitation(ctx, token)
    if found is None:
        return _page(request, visitor, "enrol_gone.html", 410)
    enrolment = await authenticators.enrol(ctx, found[1])
    return _page(
        request,
        visitor,
        "enrol.html",
        token=token,
        enrolment=enrolment,
        **await _about(ctx, found[1]),
        qr=_qr(enrolment.uri),
    )


@router.post("/enrol/{token}/activate")
async def activate(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    form = await form_of(request, visitor)
    code = str(form.get("code") or "")
    try:
        mandate = await authenticators.accept(ctx, token, code)
    except InvalidInput:
        found = await authenticators.invitation(ctx, token)
        if found is None:
            return _page(request, visitor, "enrol_gone.html", 410)
        return _page(
            request,
            visitor,
            "enrol_retry.html",
            422,
            token=token,
            code=code,
            **await _about(ctx, found[1]),
            error=i18n.gettext(
                "That code is not right. Check that the phone's clock is right and type the "
                "6 digits the app shows now."
            ),
        )
    except Conflict:
        return _page(request, visitor, "enrol_gone.html", 410)
    return _page(request, visitor, "enrol_done.html", **await _about(ctx, mandate))
