"""The holder's pages: overview, grant (with a review step), a mandate, its call code, revoke, unlock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from registry.db.unit_of_work import Context
from registry.domain.vocabulary import EffectiveStatus
from registry.email.render import TIMEZONE
from registry.errors import FieldError, InvalidInput, RegistryError
from registry.services import (
    activity,
    authenticators,
    codes,
    mandate_requests,
    mandates,
    organisations,
    verifications,
)
from registry.web import dates, i18n
from registry.web.dates import UnreadableDate
from registry.web.deps import HolderDep, form_of, render

router = APIRouter(include_in_schema=False)
LIFETIMES = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
}
ENDED = (EffectiveStatus.revoked, EffectiveStatus.expired, EffectiveStatus.declined)
# What each field's problem is called on the page, in the holder's words (the service speaks to developers).
FIELD_MESSAGES = {
    "organisation": "Choose the organisation from the list.",
    "proxy.name": "Fill in the name of the person you authorise.",
    "proxy.relation": "Choose how this person is related to you.",
    "proxy.email": "This is not an e-mail address. Check it, for example name@example.nl.",
    "proxy.phone": "Fill in a phone number of 6 to 15 digits, for example 06 1234 5678.",
    "scope": "Choose at least one thing this person may do.",
    "customer_reference": "Use at most 100 characters.",
    "valid_from": "The start cannot be in the past, and must be within a year.",
    "valid_until": "The end must be after the start and in the future, and at most 5 years after the start.",
}


def field_errors(errors: list[FieldError], messages: dict[str, str] = FIELD_MESSAGES) -> dict[str, str]:
    """Each field's problem in the visitor's words, keyed by the form field's name; a date that is not a
    real day keeps its own message."""
    return {
        e.field.replace(".", "_"): i18n.gettext(
            e.message if isinstance(e, UnreadableDate) else messages.get(e.field, e.message)
        )
        for e in errors
    }


def _draft(form: dict[str, Any], now: datetime, errors: list[FieldError]) -> mandates.Draft:
    """The form as a draft; dates that cannot be read are left out and named in `errors`."""
    scope = form.get("scope") or []
    start = dates.instant(form, "valid_from", errors, end_of_day=False)
    return mandates.Draft(
        organisation=str(form.get("organisation") or ""),
        proxy=mandates.Proxy(
            str(form.get("proxy_name") or ""),
            str(form.get("relation") or ""),
            str(form.get("proxy_email") or "") or None,
            str(form.get("proxy_phone") or "") or None,
        ),
        scope=[scope] if isinstance(scope, str) else list(scope),
        valid_from=start if start is not None and start.date() > now.astimezone(TIMEZONE).date() else None,
        valid_until=dates.instant(form, "valid_until", errors, end_of_day=True),
        customer_reference=str(form.get("customer_reference") or "") or None,
    )


@router.get("/mandates")
async def overview(request: Request, who: HolderDep, ctx: Context) -> Response:
    views = await mandates.list_for_holder(ctx, who.holder)
    groups = {
        "active": [v for v in views if v.status in (EffectiveStatus.active, EffectiveStatus.scheduled)],
        "pending": [v for v in views if v.status == EffectiveStatus.pending],
        "ended": [v for v in views if v.status in ENDED],
    }
    waiting = await mandate_requests.waiting_for(ctx, who.holder)
    return render(
        request,
        "mandates.html",
        who,
        groups=groups,
        requests=waiting,
        flash=request.query_params.get("done"),
    )


async def _grant_form(
    request: Request, who: HolderDep, ctx: Context, status: int = 200, **extra: Any
) -> Response:
    directory = [o for o in await organisations.list_all(ctx) if o.active]
    return render(
        request,
        "grant.html",
        who,
        status,
        organisations=directory,
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/mandates/new")
async def grant_form(request: Request, who: HolderDep, ctx: Context) -> Response:
    return await _grant_form(request, who, ctx)


@router.post("/mandates/new")
async def grant_review(request: Request, who: HolderDep, ctx: Context) -> Response:
    """Check what was filled in and show it once more; nothing is granted yet."""
    form = await form_of(request, who)
    unreadable: list[FieldError] = []
    draft = _draft(form, ctx.clock.now(), unreadable)
    try:
        reviewed = await mandates.review(ctx, draft)
    except InvalidInput as exc:
        errors = field_errors(exc.errors + unreadable)
        return await _grant_form(request, who, ctx, 422, form=form, errors=errors)
    except RegistryError as exc:
        errors = field_errors([FieldError("organisation", exc.detail), *unreadable])
        return await _grant_form(request, who, ctx, 422, form=form, errors=errors)
    if unreadable:
        return await _grant_form(request, who, ctx, 422, form=form, errors=field_errors(unreadable))
    return render(request, "grant_review.html", who, form=form, reviewed=reviewed)


@router.post("/mandates/new/confirm")
async def grant_confirm(request: Request, who: HolderDep, ctx: Context) -> Response:
    form = await form_of(request, who)
    if form.get("change"):
        return await _grant_form(request, who, ctx, form=form)
    unreadable: list[FieldError] = []
    draft = _draft(form, ctx.clock.now(), unreadable)
    if unreadable:
        return await _grant_form(request, who, ctx, 422, form=form, errors=field_errors(unreadable))
    try:
        mandate = await mandates.grant(ctx, who.holder, draft)
    except InvalidInput as exc:
        return await _grant_form(request, who, ctx, 422, form=form, errors=field_errors(exc.errors))
    return RedirectResponse(f"/mandates/{mandate.reference}?done=granted", status_code=303)


async def _mandate_page(
    request: Request, who: HolderDep, ctx: Context, reference: str, status: int = 200, **extra: Any
) -> Response:
    view = await mandates.get_for_holder(ctx, who.holder, reference)
    lock = await verifications.lock_state(ctx, view.mandate)
    return render(
        request, "mandate.html", who, status, view=view, lock=lock, lifetimes=list(LIFETIMES), **extra
    )


@router.get("/mandates/{reference}")
async def detail(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    return await _mandate_page(request, who, ctx, reference, flash=request.query_params.get("done"))


@router.post("/mandates/{reference}/code")
async def issue_code(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    form = await form_of(request, who)
    view = await mandates.get_for_holder(ctx, who.holder, reference)
    lifetime = LIFETIMES.get(str(form.get("valid")), codes.DEFAULT)
    issued = await codes.issue(ctx, view.mandate, lifetime, actor=f"holder:{who.holder.id}")
    return render(request, "code.html", who, view=view, issued=issued)


@router.get("/mandates/{reference}/revoke")
async def revoke_confirm(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    view = await mandates.get_for_holder(ctx, who.holder, reference)
    return render(request, "revoke.html", who, view=view)


@router.post("/mandates/{reference}/revoke")
async def revoke(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    await form_of(request, who)
    await mandates.revoke(ctx, who.holder, reference)
    return RedirectResponse("/mandates?done=revoked", status_code=303)


@router.post("/mandates/{reference}/unlock")
async def unlock(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    await form_of(request, who)
    await verifications.unlock(ctx, who.holder, reference)
    return RedirectResponse(f"/mandates/{reference}?done=unlocked", status_code=303)


@router.post("/mandates/{reference}/change")
async def change(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    """Change what the proxy may do, or the end date."""
    form = await form_of(request, who)
    unreadable: list[FieldError] = []
    end = dates.instant(form, "valid_until", unreadable, end_of_day=True)
    scope = form.get("scope") or []
    try:
        if unreadable:
            raise InvalidInput("unreadable date", unreadable)
        await mandates.change(
            ctx,
            who.holder,
            reference,
            scope=[scope] if isinstance(scope, str) else list(scope),
            valid_until=end,
        )
    except InvalidInput as exc:
        return await _mandate_page(
            request, who, ctx, reference, 422, errors=field_errors(exc.errors), form=form
        )
    return RedirectResponse(f"/mandates/{reference}?done=changed", status_code=303)


@router.get("/activity")
async def activity_page(request: Request, who: HolderDep, ctx: Context) -> Response:
    before = request.query_params.get("before")
    entries, next_before = await activity.for_holder(
        ctx, who.holder, int(before) if before and before.isdigit() else None
    )
    return render(request, "activity.html", who, entries=entries, next_before=next_before)


@router.post("/mandates/{reference}/invite")
async def invite(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    """E-mail the proxy a link to set up an authenticator app."""
    form = await form_of(request, who)
    email = str(form.get("email") or "").strip()
    try:
        await authenticators.invite(ctx, who.holder, reference, email or None)
    except InvalidInput:
        message = i18n.gettext("This is not an e-mail address. Check it, for example name@example.nl.")
        return await _mandate_page(
            request, who, ctx, reference, 422, invite_error=message, invite_email=email
        )
    return RedirectResponse(f"/mandates/{reference}?done=invited", status_code=303)


@router.post("/mandates/{reference}/notices")
async def notices(request: Request, reference: str, who: HolderDep, ctx: Context) -> Response:
    """Switch the e-mail after each successful check on or off."""
    form = await form_of(request, who)
    await mandates.set_check_notices(ctx, who.holder, reference, form.get("on") == "1")
    return RedirectResponse(f"/mandates/{reference}", status_code=303)
