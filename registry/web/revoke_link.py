"""Revoking from the link in the 'mandate granted' e-mail: one confirmation, no sign-in needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from registry.db.unit_of_work import Context
from registry.services import mandates
from registry.web.deps import TOKEN_HEADERS, VisitorDep, form_of, render

router = APIRouter(include_in_schema=False)


@router.get("/revoke/{token}")
async def confirm(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    """Only asks: mail scanners open links, and opening must not revoke."""
    view = await mandates.by_revoke_token(ctx, token)
    response = render(request, "revoke_link.html", visitor, 200 if view else 404, view=view, token=token)
    response.headers.update(TOKEN_HEADERS)
    return response


@router.post("/revoke/{token}")
async def revoke(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    await form_of(request, visitor)
    view = await mandates.revoke_by_token(ctx, token)
    response = render(
        request, "revoke_link.html", visitor, 200 if view else 404, view=view, token=token, done=True
    )
    response.headers.update(TOKEN_HEADERS)
    return response
