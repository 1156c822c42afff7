"""What pages need: the language, the signed-in holder, CSRF and origin checks, and rendering."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

from babel.dates import format_date, format_datetime
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from registry.crypto.security import equal, keyed_hash, keyed_hashes
from registry.db.unit_of_work import Context
from registry.domain.vocabulary import Action, Language, Relation, agent_label
from registry.email.render import LOCALES, TIMEZONE
from registry.models import Holder, WebSession
from registry.services import sign_in
from registry.web import dates, i18n

SESSION_COOKIE = "mr_session"
LANGUAGE_COOKIE = "mr_lang"
CSRF_COOKIE = "mr_csrf"  # visitors without a session: forms carry a keyed hash of this cookie's secret
TOKEN_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}  # pages with a token in the URL
_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
)
_environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
_environment.globals["date_parts"] = dates.parts_of  # the three fields of a date: see _date.html
templates = Jinja2Templates(env=_environment)


class NotSignedIn(Exception):
    """The page needs a signed-in holder; web/errors.py sends the browser to the sign-in page."""


class ForbiddenForm(Exception):
    """A form without a valid CSRF token, or posted from another site."""


def language_of(request: Request, holder: Holder | None = None) -> Language:
    chosen = i18n.pick(request.cookies.get(LANGUAGE_COOKIE))
    if chosen:
        return chosen
    if holder is not None and (known := i18n.pick(holder.language)):
        return known
    return "nl"


@dataclass(frozen=True)
class Visitor:
    """Whoever is looking at the page: maybe a signed-in holder. Without a session, forms carry a token
    bound to a cookie of this browser (`anonymous_csrf`); `new_csrf_secret` is that cookie, to be set."""

    language: Language
    holder: Holder | None = None
    session: WebSession | None = None
    anonymous_csrf: str = ""
    new_csrf_secret: str | None = None

    @property
    def csrf(self) -> str:
        return self.session.csrf_token if self.session else self.anonymous_csrf


def _anonymous_csrf(request: Request, secret: str) -> str:
    return keyed_hash(request.app.state.wiring.keys, "anonymous-csrf", secret)


async def get_visitor(request: Request, ctx: Context) -> Visitor:
    found = await sign_in.current(ctx, request.cookies.get(SESSION_COOKIE))
    holder, session = (found[1], found[0]) if found else (None, None)
    language = language_of(request, holder)
    i18n.current_language.set(language)
    if session is not None:
        return Visitor(language, holder, session)
    secret = request.cookies.get(CSRF_COOKIE) or ""
    new_secret = None
    if len(secret) < 32:
        secret = new_secret = secrets.token_urlsafe(32)
    return Visitor(language, anonymous_csrf=_anonymous_csrf(request, secret), new_csrf_secret=new_secret)


VisitorDep = Annotated[Visitor, Depends(get_visitor)]


@dataclass(frozen=True)
class SignedIn:
    language: Language
    holder: Holder
    session: WebSession

    @property
    def csrf(self) -> str:
        return self.session.csrf_token


async def require_holder(visitor: VisitorDep) -> SignedIn:
    if visitor.holder is None or visitor.session is None:
        raise NotSignedIn
    return SignedIn(visitor.language, visitor.holder, visitor.session)


HolderDep = Annotated[SignedIn, Depends(require_holder)]


def check_origin(request: Request) -> None:
    """Refuse a form posted from another site (Fetch Metadata, then Origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:  # browsers that send it say exactly where the form came from (Go's model)
        if site not in ("same-origin", "none"):
            raise ForbiddenForm
        return  # Origin may be "null" here: pages with Referrer-Policy no-referrer send that
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    configured = request.app.state.wiring.settings.base_url
    if origin is not None and origin not in (own, configured):
        raise ForbiddenForm


class Viewer(Protocol):
    """Whoever a page is rendered for: a visitor, a signed-in holder or a console member."""

    @property
    def language(self) -> Language: ...

    @property
    def csrf(self) -> str: ...

    @property
    def session(self) -> Any: ...


async def form_of(request: Request, visitor: Viewer) -> dict[str, Any]:
    """The posted form, after the origin check and the CSRF token check: the session's token, or for a
    visitor without a session the token bound to the cookie that the form's page set."""
    check_origin(request)
    form = await request.form()
    token = form.get("csrf_token")
    if visitor.session is not None:
        accepted = [visitor.session.csrf_token]
    else:
        cookie = request.cookies.get(CSRF_COOKIE)
        # a page rendered before an HMAC key rotation still posts: its token was made with a previous key
        accepted = keyed_hashes(request.app.state.wiring.keys, "anonymous-csrf", cookie) if cookie else []
    if not isinstance(token, str) or not any(equal(token, each) for each in accepted if each):
        raise ForbiddenForm
    return {key: (form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key)) for key in form}


def secure_cookies(request: Request) -> bool:
    return str(request.app.state.wiring.settings.base_url).startswith("https://")


def signed_in_to(
    request: Request, target: str, secret: str, cookie: str = SESSION_COOKIE
) -> RedirectResponse:
    """Send the browser on with the cookie of a session just opened (a holder's, or with `cookie` a
    console member's); the page it leaves carried a token."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        cookie,
        secret,
        max_age=int(sign_in.ABSOLUTE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    response.headers.update(TOKEN_HEADERS)
    return response


def signed_out(target: str = "/") -> RedirectResponse:
    """Send the browser on, without its session cookie."""
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def render(request: Request, name: str, visitor: Viewer, status: int = 200, **context: Any) -> HTMLResponse:
    language = visitor.language

    def date(value: datetime) -> str:
        return format_date(value.astimezone(TIMEZONE), format="long", locale=LOCALES[language])

    def moment(value: datetime) -> str:
        return format_datetime(value.astimezone(TIMEZONE), "d MMMM y, HH:mm", locale=LOCALES[language])

    response = templates.TemplateResponse(
        request,
        name,
        {
            "visitor": visitor,
            "lang": language,
            "csrf": visitor.csrf,
            "date": date,
            "moment": moment,
            "actions": list(Action),
            "relations": list(Relation),
            "relation_label": lambda value: Relation(value).label(language),
            "agent_label": lambda pseudonym: agent_label(pseudonym, language),
            "action_label": lambda value: (
                Action(value).label(language) if value in Action.__members__ else value
            ),
            "tz": TIMEZONE,
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    secret = getattr(visitor, "new_csrf_secret", None)
    if secret:
        response.set_cookie(
            CSRF_COOKIE,
            secret,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )
    return response
