"""Signing in by e-mail link, signing out, and the language switch."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from registry.db.unit_of_work import Context
from registry.errors import InvalidInput, NotAuthenticated, RateLimited
from registry.services import holders, sign_in
from registry.web import i18n
from registry.web.deps import (
    LANGUAGE_COOKIE,
    TOKEN_HEADERS,
    HolderDep,
    VisitorDep,
    form_of,
    render,
    signed_in_to,
    signed_out,
)

router = APIRouter(include_in_schema=False)
FAVICON = Path(__file__).parent / "static" / "favicon.svg"


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page links to: the same icon as the pages'."""
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/")
async def home(request: Request, visitor: VisitorDep) -> Response:
    if visitor.holder is not None:
        return RedirectResponse("/mandates", status_code=303)
    return render(request, "home.html", visitor, deleted=request.query_params.get("deleted") == "1")


@router.get("/sign-in")
async def sign_in_form(request: Request, visitor: VisitorDep) -> Response:
    """The sign-in form; `?reason=page` when a holder's page sent a signed-out visitor here."""
    return render(request, "sign_in.html", visitor, reason=request.query_params.get("reason"))


@router.post("/sign-in")
async def sign_in_request(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    form = await form_of(request, visitor)
    email = str(form.get("email") or "").strip()
    if not email:
        return render(
            request,
            "sign_in.html",
            visitor,
            422,
            email=email,
            error=i18n.gettext("Fill in your e-mail address."),
        )
    try:
        await sign_in.request_link(
            ctx, email, request.client.host if request.client else "unknown", visitor.language
        )
    except InvalidInput:
        return render(
            request,
            "sign_in.html",
            visitor,
            422,
            email=email,
            error=i18n.gettext("This is not an e-mail address. Check it, for example name@example.nl."),
        )
    except RateLimited:
        return render(
            request,
            "sign_in.html",
            visitor,
            429,
            email=email,
            problem=i18n.gettext(
                "You asked for many links in a short time. Use the newest e-mail, or try again in an hour."
            ),
        )
    return render(request, "sign_in_sent.html", visitor, email=holders.normalise_email(email))


@router.get("/sign-in/{token}")
async def sign_in_confirm(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    """Only shows a button: mail scanners open links, and opening must not use the link up."""
    usable = await sign_in.link_is_usable(ctx, token)
    response = render(
        request, "sign_in_confirm.html", visitor, 200 if usable else 410, token=token, usable=usable
    )
    response.headers.update(TOKEN_HEADERS)
    return response


@router.post("/sign-in/{token}")
async def sign_in_redeem(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    await form_of(request, visitor)
    try:
        signed_in = await sign_in.redeem(ctx, token, visitor.language)
    except NotAuthenticated:
        page = render(request, "sign_in_confirm.html", visitor, 410, token="", usable=False)
        page.headers.update(TOKEN_HEADERS)
        return page
    if visitor.session is not None:  # a new sign-in replaces whatever session this browser had
        await sign_in.sign_out(ctx, visitor.session)
    return signed_in_to(
        request, "/mandates", signed_in.secret
    )  # the redirect drops the token from the address bar


@router.post("/sign-out")
async def sign_out(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    await form_of(request, visitor)
    if visitor.session is not None:
        await sign_in.sign_out(ctx, visitor.session)
    return signed_out()


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(request: Request, who: HolderDep, ctx: Context) -> Response:
    await form_of(request, who)
    await sign_in.sign_out_everywhere(ctx, who.holder)
    return signed_out()


@router.post("/language")
async def choose_language(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    form = await form_of(request, visitor)
    language = i18n.pick(str(form.get("language"))) or visitor.language
    if visitor.holder is not None:
        await holders.set_language(ctx, visitor.holder, language)
    back = request.headers.get("referer", "/")
    target = back if back.startswith(f"{request.url.scheme}://{request.url.netloc}/") else "/"
    if form.get("saved") == "account" and visitor.holder is not None:  # the account page says it was saved
        target = "/account?done=language"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
