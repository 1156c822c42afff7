"""The agent console: verify a caller's code, register an oral mandate and watch it live, history, and
the admin's member pages. Members sign in by e-mail link, with a session and cookie of their own."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.sse import EventSourceResponse

from registry.db.unit_of_work import Context, get_wiring
from registry.domain import references
from registry.domain.vocabulary import Action, Binding, Language, Outcome, RequestStatus, agent_label
from registry.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    WebhookEndpointNotFound,
)
from registry.http.live import request_events
from registry.models import ConsoleSession, Holder
from registry.services import (
    administration,
    api_keys,
    mandate_requests,
    members,
    sign_in,
    verifications,
    webhooks,
)
from registry.services.mandate_requests import RequestView
from registry.services.mandates import Proxy
from registry.web import dates, i18n
from registry.web.deps import LANGUAGE_COOKIE, TOKEN_HEADERS, VisitorDep, form_of, render, signed_in_to
from registry.web.mandates import FIELD_MESSAGES, field_errors
from registry.web.policy import PAGE_POLICY
from registry.wiring import Wiring

router = APIRouter(include_in_schema=False)
CONSOLE_COOKIE = "mr_console"
SPACES = re.compile(r"[\s\-]+")
# The oral-mandate form speaks to the agent about the caller and the customer.
REQUEST_MESSAGES = {
    "customer_reference": "Fill in your customer number for the customer.",
    "customer_email": "Fill in the e-mail address you have on file for the customer.",
    "proxy.name": "Fill in the caller's name.",
    "proxy.relation": "Choose how the caller is related to the customer.",
    "proxy.email": FIELD_MESSAGES["proxy.email"],
    "proxy.phone": FIELD_MESSAGES["proxy.phone"],
    "scope": "Choose at least one thing the caller asks to do.",
    "valid_until": "The end must be in the future, and at most 5 years from now.",
    "note": "Keep the note to 500 characters.",
}

KEY_MESSAGES = {
    "name": "Name the integration in 1 to 100 characters, such as Zendesk.",
    "scopes": "Choose at least one permission.",
}
WEBHOOK_MESSAGES = {
    "url": "Give a whole public https address, such as https://crm.example.com/hooks.",
    "event_types": "Choose events from the list.",
    "description": "Use at most 200 characters.",
}
SETTINGS_MESSAGES = {
    "display_name": "Give a name of 1 to 200 characters.",
    "default_language": "Choose a language.",
    "frame_ancestors": "Give whole https addresses such as https://crm.example.com, one per line.",
}


class ConsoleNotSignedIn(Exception):
    """The console page needs a signed-in member; web/errors.py sends the browser to its sign-in page."""


@dataclass(frozen=True)
class Agent:
    """A signed-in member as the pages see them (`holder` is None: the holder pages' menu stays away)."""

    language: Language
    console: members.Console
    pseudonym: str
    holder: Holder | None = None

    @property
    def session(self) -> ConsoleSession:
        return self.console.session

    @property
    def csrf(self) -> str:
        return self.console.session.csrf_token


async def get_agent(request: Request, ctx: Context) -> Agent:
    console = await members.current(ctx, request.cookies.get(CONSOLE_COOKIE))
    if console is None:
        raise ConsoleNotSignedIn
    language = i18n.pick(request.cookies.get(LANGUAGE_COOKIE)) or i18n.pick(console.member.language) or "nl"
    i18n.current_language.set(language)
    return Agent(language, console, members.pseudonym(ctx, console.member))


AgentDep = Annotated[Agent, Depends(get_agent)]


def _page(request: Request, agent: Agent, name: str, status: int = 200, **context: Any) -> Response:
    response = render(request, f"console/{name}", agent, status, agent=agent, **context)
    # A CRM may show the console in a frame, from the origins the organisation's admin allowed.
    ancestors = " ".join(agent.console.organisation.frame_ancestors or []) or "'none'"
    response.headers["Content-Security-Policy"] = PAGE_POLICY.replace(
        "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
    )
    return response


# Signing in ---------------------------------------------------------------------------------------


@router.get("/console/sign-in")
async def sign_in_form(request: Request, visitor: VisitorDep) -> Response:
    return render(request, "console/sign_in.html", visitor, form={})


@router.post("/console/sign-in")
async def sign_in_request(request: Request, visitor: VisitorDep, ctx: Context) -> Response:
    form = await form_of(request, visitor)
    email = str(form.get("email") or "").strip()
    try:
        await members.request_link(
            ctx,
            email,
            request.client.host if request.client else "unknown",
            i18n.pick(request.cookies.get(LANGUAGE_COOKIE)),
        )
    except InvalidInput:
        error = i18n.gettext("This is not an e-mail address. Check it, for example name@example.nl.")
        return render(request, "console/sign_in.html", visitor, 422, form=form, error=error)
    except RateLimited:
        problem = i18n.gettext(
            "You asked for many links in a short time. Use the newest e-mail, or try again in an hour."
        )
        return render(request, "console/sign_in.html", visitor, 429, form=form, problem=problem)
    return render(request, "console/sign_in_sent.html", visitor, email=email)


@router.get("/console/sign-in/{token}")
async def sign_in_confirm(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    """Only shows a button: mail scanners open links."""
    usable = await sign_in.link_is_usable(ctx, token, members.LINK_PURPOSE)
    response = render(
        request, "console/sign_in_confirm.html", visitor, 200 if usable else 410, token=token, usable=usable
    )
    response.headers.update(TOKEN_HEADERS)
    return response


@router.post("/console/sign-in/{token}")
async def sign_in_redeem(request: Request, token: str, visitor: VisitorDep, ctx: Context) -> Response:
    await form_of(request, visitor)
    try:
        signed_in = await members.redeem(ctx, token)
    except NotAuthenticated:
        gone = render(request, "console/sign_in_confirm.html", visitor, 410, token="", usable=False)
        gone.headers.update(TOKEN_HEADERS)
        return gone
    return signed_in_to(request, "/console", signed_in.secret, CONSOLE_COOKIE)


@router.post("/console/sign-out")
async def sign_out(request: Request, agent: AgentDep, ctx: Context) -> Response:
    await form_of(request, agent)
    await sign_in.sign_out(ctx, agent.session)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(CONSOLE_COOKIE, path="/")
    return response


@router.post("/console/language")
async def choose_language(request: Request, agent: AgentDep, ctx: Context) -> Response:
    """The console's own language switch: its forms carry the console session's token, not a holder's.
    The member's choice is kept for the console and its e-mails."""
    form = await form_of(request, agent)
    language = i18n.pick(str(form.get("language"))) or agent.language
    await members.set_language(ctx, agent.console.member, language)
    back = str(form.get("back") or "")
    target = back if back.startswith("/console") and "//" not in back and "\\" not in back else "/console"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


# Verifying ------------------------------------------------------------------------------------------


def _subject(text: str) -> tuple[str | None, str | None]:
    """(mandate reference, customer reference): what the agent typed in the one field. Text that looks
    like a reference (an M and the reference alphabet) is read as one, so a mis-heard character is named."""
    compact = SPACES.sub("", text).upper()
    if (
        compact.startswith(references.PREFIX)
        and set(compact[1:]) <= set(references.ALPHABET + "-")
        and len(compact) >= 8
    ):
        return text, None
    return None, text.strip() or None


@router.get("/console")
async def verify_form(request: Request, agent: AgentDep) -> Response:
    return _page(request, agent, "verify.html", form={}, errors={})


@router.post("/console")
async def verify(request: Request, agent: AgentDep, ctx: Context) -> Response:
    form = await form_of(request, agent)
    subject = str(form.get("subject") or "")
    reference, customer = _subject(subject)
    action = str(form.get("action") or "") or None
    errors: dict[str, str] = {}
    if not subject.strip():
        errors["subject"] = i18n.gettext("Fill in the mandate reference or your customer number.")
    if not str(form.get("code") or "").strip():
        errors["code"] = i18n.gettext("Fill in the code the caller gives.")
    if errors:
        return _page(request, agent, "verify.html", 422, form=form, errors=errors)
    caller = await members.caller(ctx, agent.console)
    check = verifications.Check(
        code=str(form.get("code")),
        mandate_reference=reference,
        customer_reference=customer,
        action=action,
        agent_id=f"member:{agent.console.member.id}",
    )
    try:
        answer = json.loads(await verifications.verify(ctx, caller, check))
    except InvalidInput as exc:
        return _page(request, agent, "verify.html", 422, form=form, errors=_check_errors(exc.errors))
    except RateLimited:
        problem = i18n.gettext(
            "Checks from your console are paused: too many wrong codes in the last hour. Ask your admin."
        )
        return _page(request, agent, "verify.html", 429, form=form, errors={}, problem=problem)
    outcome = Outcome.of(answer["result"], answer.get("action"), answer.get("action_permitted"))
    return _page(
        request,
        agent,
        "verify.html",
        form={},  # the next check starts empty: it is about the next caller
        errors={},
        answer=answer,
        outcome=outcome.value,
        headline=_headline(outcome, answer.get("action"), agent.language),
        not_allowed=[a for a in Action if answer.get("scope") and a.value not in answer["scope"]],
        scope_words=", ".join(Action(a).label(agent.language) for a in answer.get("scope") or []),
        valid_until=datetime.fromisoformat(answer["valid_until"]) if answer.get("valid_until") else None,
        binding=Binding(answer["binding"]) if answer.get("binding") else None,
    )


def _headline(outcome: Outcome, action: str | None, language: Language) -> str:
    """The answer's title in a few words, distinct for each outcome; a refused action is named."""
    if outcome == Outcome.not_verified:
        return i18n.gettext("Not verified: do not act for this caller")
    if outcome == Outcome.verified:
        return i18n.gettext("Verified: the code is right")
    words = Action(action).label(language) if action else ""
    if outcome == Outcome.allowed:
        return i18n.gettext("Code is right — allowed: %(action)s") % {"action": words}
    return i18n.gettext("Code is right — NOT allowed: %(action)s") % {"action": words}


def _check_errors(errors: list[FieldError]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        if error.field == "code":
            found["code"] = i18n.gettext("A code has 8 digits (a call code) or 6 (an authenticator app).")
        elif error.field == "mandate_reference":
            found["subject"] = i18n.gettext(
                "This reference is not right: a character was probably misheard. "
                "Ask the caller to spell it again."
            )
        else:
            found["subject"] = i18n.gettext("Fill in the mandate reference or your customer number.")
    return found


# Oral mandates -------------------------------------------------------------------------------------


@router.get("/console/requests/new")
async def request_form(request: Request, agent: AgentDep) -> Response:
    return _page(request, agent, "request_new.html", form={}, errors={})


@router.post("/console/requests/new")
async def request_create(request: Request, agent: AgentDep, ctx: Context) -> Response:
    form = await form_of(request, agent)
    unreadable: list[FieldError] = []
    scope = form.get("scope") or []
    ask = mandate_requests.Ask(
        organisation=agent.console.organisation.slug,
        email=str(form.get("customer_email") or ""),
        proxy=Proxy(
            str(form.get("proxy_name") or ""),
            str(form.get("relation") or ""),
            str(form.get("proxy_email") or "") or None,
            str(form.get("proxy_phone") or "") or None,
        ),
        scope=[scope] if isinstance(scope, str) else list(scope),
        valid_until=dates.instant(form, "valid_until", unreadable, end_of_day=True),
        customer_reference=str(form.get("customer_reference") or ""),
        note=str(form.get("note") or "") or None,
    )
    caller = await members.caller(ctx, agent.console)
    try:
        view = await mandate_requests.request_by_organisation(
            ctx, caller, ask, agent.pseudonym, unreadable=unreadable
        )
    except InvalidInput as exc:
        errors = field_errors(exc.errors, REQUEST_MESSAGES)
        return _page(request, agent, "request_new.html", 422, form=form, errors=errors)
    return RedirectResponse(f"/console/requests/{view.request.public_id}", status_code=303)


@router.get("/console/requests/{request_id}")
async def request_status(request: Request, request_id: str, agent: AgentDep, ctx: Context) -> Response:
    view = await mandate_requests.for_organisation(ctx, await members.caller(ctx, agent.console), request_id)
    return _page(request, agent, "request_status.html", view=view, state=_state(view, agent.language))


def _state(view: RequestView, language: Language) -> dict[str, str | None]:
    """What the status page and its live updates show. Once confirmed, the scope is what the customer
    confirmed (perhaps less than was asked)."""
    confirmed = view.status == RequestStatus.confirmed
    return {
        "status": view.status.value,
        "reference": view.mandate.reference if confirmed else None,
        "scope": ", ".join(Action(a).label(language) for a in view.mandate.scope) if confirmed else None,
        "reason": view.request.decline_reason if view.status == RequestStatus.declined else None,
    }


@router.get("/console/requests/{request_id}/events")
async def request_live(
    request: Request,
    request_id: str,
    agent: AgentDep,
    ctx: Context,
    wiring: Annotated[Wiring, Depends(get_wiring)],
) -> Response:
    view = await mandate_requests.for_organisation(ctx, await members.caller(ctx, agent.console), request_id)
    assert view.request.id is not None
    return EventSourceResponse(
        request_events(wiring, view.request.id, lambda v: json.dumps(_state(v, agent.language))),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# History and members ---------------------------------------------------------------------------------


@router.get("/console/history")
async def history(request: Request, agent: AgentDep, ctx: Context) -> Response:
    entries = await members.history(ctx, agent.console, agent.pseudonym)
    return _page(request, agent, "history.html", entries=entries)


@router.get("/console/admin/members")
async def members_page(request: Request, agent: AgentDep, ctx: Context) -> Response:
    found = await members.list_for(ctx, agent.console)
    rows = [(m, members.pseudonym(ctx, m)) for m in found]
    return _page(
        request, agent, "members.html", rows=rows, form={}, errors={}, flash=request.query_params.get("done")
    )


@router.post("/console/admin/members")
async def members_invite(request: Request, agent: AgentDep, ctx: Context) -> Response:
    form = await form_of(request, agent)
    members.require_admin(agent.console)
    try:
        await members.invite(
            ctx,
            agent.console.organisation.slug,
            str(form.get("email") or ""),
            str(form.get("role") or ""),
            actor=f"member:{agent.console.member.id}",
        )
    except (InvalidInput, Conflict) as exc:
        message = (
            i18n.gettext("This address is a member already.")
            if isinstance(exc, Conflict)
            else i18n.gettext("This is not an e-mail address. Check it, for example name@example.nl.")
        )
        found = await members.list_for(ctx, agent.console)
        rows = [(m, members.pseudonym(ctx, m)) for m in found]
        return _page(request, agent, "members.html", 422, rows=rows, form=form, errors={"email": message})
    return RedirectResponse("/console/admin/members?done=invited", status_code=303)


@router.post("/console/admin/members/{member_id}/role")
async def members_role(request: Request, member_id: int, agent: AgentDep, ctx: Context) -> Response:
    form = await form_of(request, agent)
    await members.set_role(ctx, agent.console, member_id, str(form.get("role") or ""))
    return RedirectResponse("/console/admin/members?done=changed", status_code=303)


def _confirm(request: Request, agent: Agent, active: str, **wording: Any) -> Response:
    """A page that asks before an admin's step that changes much: `question`, the `consequences`, and
    a form to `action` with its `confirm` button, or back to `cancel`."""
    return _page(request, agent, "confirm.html", active=active, **wording)


MEMBERS_PAGE = "/console/admin/members"


@router.get("/console/admin/members/{member_id}/deactivate")
async def members_deactivate_ask(request: Request, member_id: int, agent: AgentDep, ctx: Context) -> Response:
    member = await members.member_for(ctx, agent.console, member_id)
    if member.deactivated_at is not None or member.id == agent.console.member.id:
        return RedirectResponse(MEMBERS_PAGE, status_code=303)
    known_as = agent_label(members.pseudonym(ctx, member), agent.language)
    return _confirm(
        request,
        agent,
        "members",
        question=i18n.gettext("Deactivate %(email)s?") % {"email": member.email},
        consequences=[
            i18n.gettext("They can no longer sign in to the console, and their open sessions end at once."),
            i18n.gettext("Their checks and oral mandates stay in the history, under %(name)s.")
            % {"name": known_as},
            i18n.gettext(
                "You can reactivate them later on the Members page; they then sign in with a new link."
            ),
        ],
        action=f"{MEMBERS_PAGE}/{member_id}/deactivate",
        confirm=i18n.gettext("Deactivate"),
        cancel=MEMBERS_PAGE,
    )


@router.post("/console/admin/members/{member_id}/deactivate")
async def members_deactivate(request: Request, member_id: int, agent: AgentDep, ctx: Context) -> Response:
    await form_of(request, agent)
    await members.deactivate(ctx, agent.console, member_id)
    return RedirectResponse(f"{MEMBERS_PAGE}?done=deactivated", status_code=303)


@router.post("/console/admin/members/{member_id}/reactivate")
async def members_reactivate(request: Request, member_id: int, agent: AgentDep, ctx: Context) -> Response:
    await form_of(request, agent)
    await members.reactivate(ctx, agent.console, member_id)
    return RedirectResponse(f"{MEMBERS_PAGE}?done=reactivated", status_code=303)


# Admin: API keys, alerts, settings ------------------------------------------------------------------------


async def _keys_page(
    request: Request, agent: Agent, ctx: Context, status: int = 200, **extra: Any
) -> Response:
    found = await administration.keys(ctx, agent.console)
    return _page(
        request,
        agent,
        "keys.html",
        status,
        keys=found,
        scopes=api_keys.SCOPES,
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/console/admin/keys")
async def keys_page(request: Request, agent: AgentDep, ctx: Context) -> Response:
    return await _keys_page(request, agent, ctx, flash=request.query_params.get("done"))


@router.post("/console/admin/keys")
async def keys_create(request: Request, agent: AgentDep, ctx: Context) -> Response:
    """The new key is shown on this answer only (never stored): no redirect, so a reload cannot show it."""
    form = await form_of(request, agent)
    scopes = form.get("scopes") or []
    scopes = [scopes] if isinstance(scopes, str) else list(scopes)
    try:
        key, secret = await administration.create_key(ctx, agent.console, str(form.get("name") or ""), scopes)
    except InvalidInput as exc:
        messages = {
            "name": "Name the integration in 1 to 100 characters, such as Zendesk.",
            "scopes": "Choose at least one permission.",
        }
        return await _keys_page(
            request, agent, ctx, 422, form=form, errors=field_errors(exc.errors, messages)
        )
    except Conflict:
        errors = {"name": i18n.gettext("This name has two active keys already: revoke the older one first.")}
        return await _keys_page(request, agent, ctx, 409, form=form, errors=errors)
    return await _keys_page(request, agent, ctx, new_key=key, secret=secret)


@router.get("/console/admin/keys/{key_id}/revoke")
async def keys_revoke_ask(request: Request, key_id: int, agent: AgentDep, ctx: Context) -> Response:
    key = await administration.key(ctx, agent.console, key_id)
    if key.revoked_at is not None:
        return RedirectResponse("/console/admin/keys", status_code=303)
    return _confirm(
        request,
        agent,
        "keys",
        question=i18n.gettext("Revoke the key %(name)s (%(prefix)s…)?")
        % {"name": key.name, "prefix": key.prefix},
        consequences=[
            i18n.gettext("It stops working at once: every call with it is refused."),
            i18n.gettext("An integration that still uses it stops working until it has a new key."),
            i18n.gettext("This cannot be undone. To go on, make a new key and store it in the integration."),
        ],
        action=f"/console/admin/keys/{key_id}/revoke",
        confirm=i18n.gettext("Revoke"),
        cancel="/console/admin/keys",
    )


@router.post("/console/admin/keys/{key_id}/revoke")
async def keys_revoke(request: Request, key_id: int, agent: AgentDep, ctx: Context) -> Response:
    await form_of(request, agent)
    await administration.revoke_key(ctx, agent.console, key_id)
    return RedirectResponse("/console/admin/keys?done=revoked", status_code=303)


@router.get("/console/admin/alerts")
async def alerts_page(request: Request, agent: AgentDep, ctx: Context) -> Response:
    return _page(request, agent, "alerts.html", alerts=await administration.alerts(ctx, agent.console))


def _settings_form(agent: Agent) -> dict[str, str]:
    organisation = agent.console.organisation
    return {
        "display_name": organisation.display_name,
        "default_language": organisation.default_language,
        "frame_ancestors": "\n".join(organisation.frame_ancestors or []),
    }


@router.get("/console/admin/settings")
async def settings_page(request: Request, agent: AgentDep) -> Response:
    members.require_admin(agent.console)
    flash = request.query_params.get("done")
    return _page(request, agent, "settings.html", form=_settings_form(agent), errors={}, flash=flash)


@router.post("/console/admin/settings")
async def settings_save(request: Request, agent: AgentDep, ctx: Context) -> Response:
    form = await form_of(request, agent)
    try:
        await administration.update_settings(
            ctx,
            agent.console,
            display_name=str(form.get("display_name") or ""),
            default_language=str(form.get("default_language") or ""),
            frame_ancestors=str(form.get("frame_ancestors") or ""),
        )
    except InvalidInput as exc:
        errors = field_errors(exc.errors, SETTINGS_MESSAGES)
        return _page(request, agent, "settings.html", 422, form=form, errors=errors)
    return RedirectResponse("/console/admin/settings?done=saved", status_code=303)


# Admin: webhooks ---------------------------------------------------------------------------------------


async def _webhooks_page(
    request: Request, agent: Agent, ctx: Context, status: int = 200, **extra: Any
) -> Response:
    members.require_admin(agent.console)
    found = await webhooks.endpoints(ctx, agent.console.organisation)
    return _page(
        request,
        agent,
        "webhooks.html",
        status,
        endpoints=[(e, webhooks.stop_of(e.disabled_reason)) for e in found],
        events=webhooks.EVENTS,
        form=extra.pop("form", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/console/admin/webhooks")
async def webhooks_page(request: Request, agent: AgentDep, ctx: Context) -> Response:
    return await _webhooks_page(request, agent, ctx, flash=request.query_params.get("done"))


@router.post("/console/admin/webhooks")
async def webhooks_create(
    request: Request, agent: AgentDep, ctx: Context, wiring: Annotated[Wiring, Depends(get_wiring)]
) -> Response:
    """The secret is shown on this answer only: no redirect, so a reload cannot show it again."""
    form = await form_of(request, agent)
    members.require_admin(agent.console)
    chosen = form.get("event_types") or []
    try:
        endpoint, secret = await webhooks.create_endpoint(
            ctx,
            agent.console.organisation,
            str(form.get("url") or ""),
            event_types=[chosen] if isinstance(chosen, str) else list(chosen),
            description=str(form.get("description") or "") or None,
            allow_private=wiring.settings.webhook_allow_private,
            actor=f"member:{agent.console.member.id}",
        )
    except InvalidInput as exc:
        errors = field_errors(exc.errors, WEBHOOK_MESSAGES)
        return await _webhooks_page(request, agent, ctx, 422, form=form, errors=errors)
    return await _webhooks_page(request, agent, ctx, new_endpoint=endpoint, secret=secret)


@router.post("/console/admin/webhooks/{endpoint_id}/{state}")
async def webhooks_switch(
    request: Request, endpoint_id: str, state: str, agent: AgentDep, ctx: Context
) -> Response:
    await form_of(request, agent)
    members.require_admin(agent.console)
    if state not in ("enable", "disable"):
        raise WebhookEndpointNotFound("There is no such page.")
    await webhooks.set_active(
        ctx, agent.console.organisation, endpoint_id, state == "enable", f"member:{agent.console.member.id}"
    )
    return RedirectResponse(f"/console/admin/webhooks?done={state}d", status_code=303)


@router.get("/console/admin/webhooks/{endpoint_id}")
async def webhooks_deliveries(request: Request, endpoint_id: str, agent: AgentDep, ctx: Context) -> Response:
    members.require_admin(agent.console)
    endpoint, found = await webhooks.deliveries(ctx, agent.console.organisation, endpoint_id)
    rows = [(d, webhooks.failure_of(d.last_status_code, d.last_error)) for d in found]
    flash = request.query_params.get("done")
    return _page(request, agent, "webhook_deliveries.html", endpoint=endpoint, rows=rows, flash=flash)


@router.post("/console/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
async def webhooks_replay(
    request: Request, endpoint_id: str, delivery_id: str, agent: AgentDep, ctx: Context
) -> Response:
    await form_of(request, agent)
    members.require_admin(agent.console)
    await webhooks.replay(
        ctx, agent.console.organisation, endpoint_id, delivery_id, f"member:{agent.console.member.id}"
    )
    return RedirectResponse(f"/console/admin/webhooks/{endpoint_id}?done=replayed", status_code=303)
