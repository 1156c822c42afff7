"""Every page and e-mail of the product, in every state that changes what a person reads there.

One row is one (template, state): who looks (a visitor, the holder, an agent, an admin), how to get there
(a path, maybe a form to post), and the facts a person must read there, in the world that
`tests.support.world` seeds. Three things read this table:

- the content tests (`tests/web/test_page_states.py`): each row in process, in Dutch and English, asserts
  its facts and that no heading, list item or table cell is blank; a template without a row fails;
- the browser walk (`tests/test_page_walk.py`): each page row in Chromium at 1280x800 and 390x844, for
  width, target size, focus after a failed form, and axe;
- the gallery (`tools/gallery.py`, `make gallery OUT=dir`): a PNG of each page row and the text of each
  e-mail, in both languages, for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pyotp
from babel.dates import format_date

from registry.domain.vocabulary import Action, Language, Relation
from registry.email.render import LOCALES, TIMEZONE
from registry.services import (
    ServiceContext,
    api_keys,
    codes,
    holders,
    mandates,
    members,
    sign_in,
)
from tests.support.world import AGENT, HOLDER, JAN, World, new_invitation, new_request

Who = Literal["visitor", "holder", "agent", "admin"]
Facts = Callable[[World, Language], list[str]]
Prepare = Callable[[ServiceContext, World], Awaitable[dict[str, str]]]
# The fields of a form, from the world and `values`: what `prepare` made, the page it is posted from
# ("page") and the site's time as a POSIX timestamp ("now").
Form = Callable[[World, dict[str, str]], dict[str, str | list[str]]]
Where = Callable[[World, dict[str, str]], str]  # a path, from the world and what `prepare` gave


@dataclass(frozen=True)
class PageState:
    template: str  # "mandates.html", "console/verify.html", or "email/mandate_checked"
    state: str
    facts: Facts
    who: Who = "visitor"
    path: Where | None = None
    form: Form | None = None  # posted to `post_to` (else `path`) after the page is opened
    post_to: Where | None = None
    first: Form | None = None  # a form posted to `path` before `form` (a page that `form` is on)
    prepare: Prepare | None = None  # work in the database first, e.g. a fresh call code
    status: int = 200
    failed_form: bool = False  # a failed submit: focus must land on the error summary
    mail: str | None = None  # for e-mails: the world's name for the message

    @property
    def id(self) -> str:
        return f"{self.template}:{self.state}"

    @property
    def is_mail(self) -> bool:
        return self.mail is not None


def t(language: Language, nl: str, en: str) -> str:
    return nl if language == "nl" else en


def day(value: datetime, language: Language) -> str:
    return format_date(value.astimezone(TIMEZONE), format="long", locale=LOCALES[language])


def scope_of(world: World, name: str, language: Language) -> list[str]:
    return [Action(a).label(language) for a in world.mandates[name].scope]


def relation_of(world: World, name: str, language: Language) -> str:
    return Relation(world.mandates[name].proxy_relation).label(language)


def action(name: str, language: Language) -> str:
    return Action(name).label(language)


def fresh_code(name: str) -> Prepare:
    async def prepare(ctx: ServiceContext, world: World) -> dict[str, str]:
        mandate = await mandates.by_reference(ctx, world.ref(name))
        return {"code": (await codes.issue(ctx, mandate)).code}

    return prepare


def fresh_request(email: str) -> Prepare:
    """A new oral-mandate request of Energie BV to `email`, answered on the page (each visit its own)."""

    async def prepare(ctx: ServiceContext, world: World) -> dict[str, str]:
        return {"token": await new_request(ctx, email)}

    return prepare


async def fresh_invitation(ctx: ServiceContext, world: World) -> dict[str, str]:
    """A new mandate for Jan, and an invitation to set up his app for it (a mandate has one app, so each
    visit needs its own)."""
    holder = await holders.find(ctx, HOLDER)
    assert holder is not None
    proxy = mandates.Proxy(JAN.name, JAN.relation, JAN.email)
    draft = mandates.Draft(organisation="energie-bv", proxy=proxy, scope=["information"])
    mandate = await mandates.grant(ctx, holder, draft)
    return {"token": await new_invitation(ctx, holder, mandate.reference)}


def first_app_code(world: World, values: dict[str, str]) -> dict[str, str | list[str]]:
    """What the proxy types after adding the key the page shows to the app: the app's code of now."""
    key = re.search(r'id="secret">([A-Z2-7 ]+)<', values["page"])
    assert key, "the page shows no key to type into the app"
    return {"code": pyotp.TOTP(key.group(1).replace(" ", "")).at(float(values["now"]))}


async def fresh_console_link(ctx: ServiceContext, world: World) -> dict[str, str]:
    return {"token": await sign_in.new_link(ctx, AGENT, "127.0.0.1", members.LINK_PURPOSE)}


async def zendesk_key(ctx: ServiceContext, world: World) -> dict[str, str]:
    """The id of Energie BV's Zendesk key (the console's revoke step names it)."""
    key = next(k for k in await api_keys.list_for(ctx, "energie-bv") if k.name == "Zendesk")
    return {"key": str(key.id)}


def _mandate_facts(name: str) -> Facts:
    """What a holder must read about a mandate: who, as what, may do what, until when."""

    def facts(w: World, lang: Language) -> list[str]:
        m = w.mandates[name]
        return [m.proxy_name, relation_of(w, name, lang), m.reference, *scope_of(w, name, lang)]

    return facts


def _with(*more: Facts) -> Facts:
    def facts(w: World, lang: Language) -> list[str]:
        return [fact for each in more for fact in each(w, lang)]

    return facts


def _say(nl: str, en: str) -> Facts:
    return lambda w, lang: [t(lang, nl, en)]


def _until(name: str) -> Facts:
    return lambda w, lang: [day(w.mandates[name].valid_until, lang)]


GRANT_FORM: dict[str, str | list[str]] = {
    "organisation": "energie-bv",
    "proxy_name": JAN.name,
    "relation": JAN.relation,
    "proxy_email": JAN.email or "",
    "proxy_phone": JAN.phone or "",
    "scope": ["information", "changes", "termination"],
}


def _grant_review_facts(w: World, lang: Language) -> list[str]:
    return [
        "Energie BV",
        JAN.name,
        Relation(JAN.relation).label(lang),
        JAN.email or "",
        JAN.phone or "",
        *(action(a, lang) for a in ("information", "changes", "termination")),
    ]


def _verify(action_name: str | None, code: str | None = None) -> Form:
    def form(w: World, values: dict[str, str]) -> dict[str, str | list[str]]:
        fields: dict[str, str | list[str]] = {
            "subject": w.ref("active"),
            "code": code or values["code"],
        }
        if action_name:
            fields["action"] = action_name
        return fields

    return form


HOLDER_PAGES = [
    PageState("home.html", "visitor", _say("machtig", "mandate"), path=lambda w, v: "/"),
    PageState("sign_in.html", "empty", _say("E-mailadres", "E-mail address"), path=lambda w, v: "/sign-in"),
    PageState(
        "sign_in_sent.html",
        "sent",
        lambda w, lang: [HOLDER],
        path=lambda w, v: "/sign-in",
        form=lambda w, v: {"email": HOLDER},
    ),
    PageState(
        "sign_in_confirm.html",
        "link",
        _say("Inloggen", "Sign in"),
        path=lambda w, v: f"/sign-in/{w.tokens['sign_in']}",
    ),
    PageState(
        "mandates.html",
        "overview",
        _with(
            _mandate_facts("active"),
            _mandate_facts("low_risk"),
            _mandate_facts("scheduled"),
            lambda w, lang: [w.mandates["revoked"].proxy_name, w.mandates["expired"].proxy_name],
        ),
        who="holder",
        path=lambda w, v: "/mandates",
    ),
    PageState(
        "mandate.html",
        "active high risk",
        _with(_mandate_facts("active"), _until("active"), lambda w, lang: ["KL-100234"]),
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('active')}",
    ),
    PageState(
        "mandate.html",
        "scheduled",
        _with(_mandate_facts("scheduled"), lambda w, lang: [day(w.mandates["scheduled"].valid_from, lang)]),
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('scheduled')}",
    ),
    PageState(
        "mandate.html",
        "locked",
        _mandate_facts("locked"),
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('locked')}",
    ),
    PageState(
        "mandate.html",
        "hard locked",
        _mandate_facts("hard_locked"),
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('hard_locked')}",
    ),
    PageState(
        "mandate.html",
        "revoked",
        _mandate_facts("revoked"),
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('revoked')}",
    ),
    PageState(
        "mandate.html",
        "expired",
        _mandate_facts("expired"),
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('expired')}",
    ),
    PageState(
        "grant.html",
        "empty",
        lambda w, lang: ["Energie BV", *(a.label(lang) for a in Action)],
        who="holder",
        path=lambda w, v: "/mandates/new",
    ),
    PageState(
        "grant.html",
        "errors",
        _say("Kies minstens één ding", "Choose at least one"),
        who="holder",
        path=lambda w, v: "/mandates/new",
        form=lambda w, v: {"proxy_name": JAN.name},
        status=422,
        failed_form=True,
    ),
    PageState(
        "grant_review.html",
        "high risk",
        _grant_review_facts,
        who="holder",
        path=lambda w, v: "/mandates/new",
        form=lambda w, v: GRANT_FORM,
    ),
    PageState(
        "code.html",
        "new code",
        lambda w, lang: [w.ref("active"), JAN.name],
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('active')}",
        post_to=lambda w, v: f"/mandates/{w.ref('active')}/code",
        form=lambda w, v: {"valid": "1h"},
    ),
    PageState(
        "revoke.html",
        "confirm",
        lambda w, lang: [w.mandates["low_risk"].proxy_name, "Energie BV"],
        who="holder",
        path=lambda w, v: f"/mandates/{w.ref('low_risk')}/revoke",
    ),
    PageState(
        "revoke_link.html",
        "from the e-mail",
        lambda w, lang: [w.mandates["low_risk"].proxy_name, "Energie BV"],
        path=lambda w, v: f"/revoke/{w.tokens['revoke']}",
    ),
    PageState(
        "activity.html",
        "checks, locks, changes",
        lambda w, lang: [
            JAN.name,
            "Energie BV",
            action("billing", lang),
            action("orders", lang),
            t(lang, "Medewerker", "Agent"),
        ],
        who="holder",
        path=lambda w, v: "/activity",
    ),
    PageState("account.html", "holder", lambda w, lang: [HOLDER], who="holder", path=lambda w, v: "/account"),
    PageState(
        "account_delete.html",
        "confirm",
        _say("Uw account verwijderen?", "Delete your account?"),
        who="holder",
        path=lambda w, v: "/account/delete",
    ),
]

PROXY_PAGES = [
    PageState(
        "enrol_start.html",
        "invited",
        lambda w, lang: [w.ref("active"), "Energie BV"],
        path=lambda w, v: f"/enrol/{w.tokens['enrol']}",
    ),
    PageState(
        "enrol.html",
        "secret shown",
        lambda w, lang: [w.ref("active"), "Energie BV"],
        path=lambda w, v: f"/enrol/{w.tokens['enrol']}",
        form=lambda w, v: {},
    ),
    PageState(
        "enrol_retry.html",
        "wrong first code",
        lambda w, lang: [w.ref("active"), "Energie BV"],
        path=lambda w, v: f"/enrol/{w.tokens['enrol']}",
        first=lambda w, v: {},
        post_to=lambda w, v: f"/enrol/{w.tokens['enrol']}/activate",
        form=lambda w, v: {"code": "000000"},
        status=422,
        failed_form=True,
    ),
    PageState(
        "enrol_done.html",
        "app set up",
        lambda w, lang: ["Energie BV", t(lang, "De app is klaar", "The app is ready")],
        prepare=fresh_invitation,
        path=lambda w, v: f"/enrol/{v['token']}",
        first=lambda w, v: {},
        post_to=lambda w, v: f"/enrol/{v['token']}/activate",
        form=first_app_code,
    ),
    PageState(
        "enrol_gone.html",
        "used or unknown",
        _say("niet meer", "no longer"),
        path=lambda w, v: "/enrol/not-a-real-token-at-all",
        status=410,
    ),
]

CUSTOMER_PAGES = [
    PageState(
        "request.html",
        "pending",
        lambda w, lang: [
            "Energie BV",
            "Sanne Bakker",
            *(action(a, lang) for a in ("information", "billing", "termination")),
        ],
        path=lambda w, v: f"/confirm/{w.tokens['confirm']}",
    ),
    PageState(
        "request.html",
        "asked by the proxy",
        lambda w, lang: ["Telecom NL", "Marit de Boer", action("information", lang), action("changes", lang)],
        path=lambda w, v: f"/confirm/{w.tokens['proxy_request']}",
    ),
    PageState(
        "request_gone.html",
        "lapsed",
        _say("Energie BV", "Energie BV"),
        status=410,
        path=lambda w, v: f"/confirm/{w.tokens['lapsed']}",
    ),
    PageState(
        "request_gone.html",
        "answered: confirmed",
        _say("Energie BV", "Energie BV"),
        status=410,
        path=lambda w, v: f"/confirm/{w.tokens['confirmed']}",
    ),
    PageState(
        "request_gone.html",
        "answered: not me",
        _say("Energie BV", "Energie BV"),
        status=410,
        path=lambda w, v: f"/confirm/{w.tokens['not_me']}",
    ),
    PageState(
        "request_confirmed.html",
        "confirmed",
        lambda w, lang: ["Energie BV", "Sanne Bakker", action("information", lang)],
        prepare=fresh_request("nicht@example.nl"),
        path=lambda w, v: f"/confirm/{v['token']}",
        form=lambda w, v: {"answer": "confirm", "scope": ["information", "billing"]},
    ),
    PageState(
        "request_declined.html",
        "declined",
        lambda w, lang: ["Energie BV"],
        prepare=fresh_request("neef@example.nl"),
        path=lambda w, v: f"/confirm/{v['token']}",
        form=lambda w, v: {"answer": "decline"},
    ),
    PageState(
        "request_declined.html",
        "not me",
        lambda w, lang: ["Energie BV"],
        prepare=fresh_request("zus@example.nl"),
        path=lambda w, v: f"/confirm/{v['token']}",
        form=lambda w, v: {"answer": "not_me"},
    ),
    PageState("ask.html", "empty", lambda w, lang: ["Energie BV"], path=lambda w, v: "/ask"),
    PageState(
        "ask.html",
        "errors",
        _say("Kies de organisatie uit de lijst.", "Choose the organisation from the list."),
        path=lambda w, v: "/ask",
        form=lambda w, v: {"proxy_name": JAN.name},
        status=422,
        failed_form=True,
    ),
    PageState(
        "ask_sent.html",
        "sent",
        _say("24 uur", "24 hours"),
        path=lambda w, v: "/ask",
        form=lambda w, v: {
            "organisation": "energie-bv",
            "holder_email": "oma@example.nl",
            "proxy_name": JAN.name,
            "relation": "child",
            "scope": ["information"],
        },
    ),
]

CONSOLE_PAGES = [
    PageState(
        "console/sign_in.html",
        "empty",
        _say("E-mailadres", "E-mail address"),
        path=lambda w, v: "/console/sign-in",
    ),
    PageState(
        "console/sign_in_sent.html",
        "sent",
        lambda w, lang: [AGENT],
        path=lambda w, v: "/console/sign-in",
        form=lambda w, v: {"email": AGENT},
    ),
    PageState(
        "console/sign_in_confirm.html",
        "link",
        _say("Inloggen", "Sign in"),
        prepare=fresh_console_link,
        path=lambda w, v: f"/console/sign-in/{v['token']}",
    ),
    PageState(
        "console/verify.html",
        "empty",
        _say("Code controleren", "Check a code"),
        who="agent",
        path=lambda w, v: "/console",
    ),
    PageState(
        "console/verify.html",
        "allowed",
        lambda w, lang: [JAN.name, action("billing", lang)],
        who="agent",
        path=lambda w, v: "/console",
        form=_verify("billing"),
        prepare=fresh_code("active"),
    ),
    PageState(
        "console/verify.html",
        "refused",
        lambda w, lang: [JAN.name, action("orders", lang)],
        who="agent",
        path=lambda w, v: "/console",
        form=_verify("orders"),
        prepare=fresh_code("active"),
    ),
    PageState(
        "console/verify.html",
        "verified, no action",
        lambda w, lang: [JAN.name, *scope_of(w, "active", lang)],
        who="agent",
        path=lambda w, v: "/console",
        form=_verify(None),
        prepare=fresh_code("active"),
    ),
    PageState(
        "console/verify.html",
        "not verified",
        _say("Niet goedgekeurd", "Not verified"),
        who="agent",
        path=lambda w, v: "/console",
        form=_verify("billing", code="12345678"),
    ),
    PageState(
        "console/request_new.html",
        "empty",
        lambda w, lang: [a.label(lang) for a in Action],
        who="agent",
        path=lambda w, v: "/console/requests/new",
    ),
    *(
        PageState(
            "console/request_status.html",
            state,
            lambda w, lang: ["KL-555"],
            who="admin",
            path=lambda w, v, state=state: f"/console/requests/{w.requests[state]}",  # type: ignore[misc]
        )
        for state in ("pending", "confirmed", "declined", "not_me", "lapsed")
    ),
    PageState(
        "console/history.html",
        "admin",
        lambda w, lang: [w.ref("active")],
        who="admin",
        path=lambda w, v: "/console/history",
    ),
    PageState(
        "console/members.html",
        "admin",
        lambda w, lang: ["beheer@energie.example", "agent@energie.example"],
        who="admin",
        path=lambda w, v: "/console/admin/members",
    ),
    PageState(
        "console/keys.html",
        "admin",
        lambda w, lang: ["Zendesk"],
        who="admin",
        path=lambda w, v: "/console/admin/keys",
    ),
    PageState(
        "console/webhooks.html",
        "admin",
        lambda w, lang: ["http://127.0.0.1:9/hooks/registry"],
        who="admin",
        path=lambda w, v: "/console/admin/webhooks",
    ),
    PageState(
        "console/webhook_deliveries.html",
        "failed deliveries",
        lambda w, lang: ["http://127.0.0.1:9/hooks/registry"],
        who="admin",
        path=lambda w, v: f"/console/admin/webhooks/{w.webhook_id}",
    ),
    PageState(
        "console/alerts.html",
        "key failures",
        lambda w, lang: ["Zendesk"],
        who="admin",
        path=lambda w, v: "/console/admin/alerts",
    ),
    PageState(
        "console/settings.html",
        "admin",
        lambda w, lang: ["Energie BV"],
        who="admin",
        path=lambda w, v: "/console/admin/settings",
    ),
    PageState(
        "console/confirm.html",
        "deactivate a member",
        lambda w, lang: [AGENT, t(lang, "Deactiveren", "Deactivate"), t(lang, "Annuleren", "Cancel")],
        who="admin",
        path=lambda w, v: f"/console/admin/members/{w.member_ids['agent']}/deactivate",
    ),
    PageState(
        "console/confirm.html",
        "revoke a key",
        lambda w, lang: ["Zendesk", t(lang, "Intrekken", "Revoke"), t(lang, "Annuleren", "Cancel")],
        who="admin",
        prepare=zendesk_key,
        path=lambda w, v: f"/console/admin/keys/{v['key']}/revoke",
    ),
]

ERROR_PAGES = [
    PageState(
        "error.html",
        "not found",
        _say("Pagina niet gevonden", "Page not found"),
        path=lambda w, v: "/does-not-exist",
        status=404,
    ),
    PageState(
        "error.html",
        "someone else's mandate",
        _say("Pagina niet gevonden", "Page not found"),
        who="holder",
        path=lambda w, v: "/mandates/M-7K3Q-9XPD-Q",
        status=404,
    ),
]


def _mail(name: str, state: str, key: str, facts: Facts) -> PageState:
    return PageState(f"email/{name}", state, facts, mail=key)


def _mandate_mail(name: str) -> Facts:
    return lambda w, lang: [w.mandates[name].proxy_name, "Energie BV", w.ref(name)]


EMAILS = [
    _mail("mandate_granted", "high risk", "mandate_granted/active", _with(_mandate_facts("active"))),
    _mail("mandate_granted_proxy", "to the proxy", "proxy/active", _mandate_mail("active")),
    _mail("mandate_changed", "end date", "mandate_changed", _mandate_mail("changes")),
    _mail("mandate_revoked", "by the holder", "mandate_revoked", _mandate_mail("revoked")),
    _mail("mandate_expiring", "in a week", "mandate_expiring", _mandate_mail("expiring")),
    _mail(
        "mandate_checked",
        "allowed",
        "mandate_checked/allowed",
        lambda w, lang: [JAN.name, "Energie BV", action("billing", lang)],
    ),
    _mail(
        "mandate_checked",
        "refused",
        "mandate_checked/refused",
        lambda w, lang: [JAN.name, "Energie BV", action("orders", lang)],
    ),
    _mail(
        "mandate_checked",
        "verified, no action",
        "mandate_checked/verified",
        lambda w, lang: [JAN.name, "Energie BV"],
    ),
    _mail("mandate_locked", "15 minutes", "mandate_locked", _mandate_mail("locked")),
    _mail("mandate_hard_locked", "until unblocked", "mandate_hard_locked", _mandate_mail("hard_locked")),
    _mail("mandate_hard_locked_proxy", "to the proxy", "hard_locked_proxy", _mandate_mail("hard_locked")),
    _mail(
        "mandate_request",
        "by the organisation",
        "mandate_request/pending",
        lambda w, lang: [
            "Energie BV",
            "Sanne Bakker",
            *(action(a, lang) for a in ("information", "billing", "termination")),
        ],
    ),
    _mail(
        "mandate_request",
        "by the proxy",
        "mandate_request/proxy",
        lambda w, lang: ["Telecom NL", "Marit de Boer", action("information", lang), action("changes", lang)],
    ),
    _mail("authenticator_invitation", "to the proxy", "authenticator_invitation", _mandate_mail("active")),
    _mail("sign_in", "link", "sign_in", lambda w, lang: ["15"]),
    _mail("console_sign_in", "agent", "console_sign_in/agent", lambda w, lang: ["15"]),
    _mail("member_invitation", "agent", "member_invitation/agent", lambda w, lang: ["Energie BV"]),
    _mail("key_failures", "20 in an hour", "key_failures", lambda w, lang: ["Zendesk", "20"]),
    _mail(
        "webhook_disabled",
        "410",
        "webhook_disabled",
        lambda w, lang: ["https://old-crm.energie.example/hooks"],
    ),
]

PAGES: list[PageState] = [*HOLDER_PAGES, *PROXY_PAGES, *CUSTOMER_PAGES, *CONSOLE_PAGES, *ERROR_PAGES]
ROWS: list[PageState] = [*PAGES, *EMAILS]


def is_partial(template: str) -> bool:
    """A piece of other templates (`base.html`, `_macros.html`, `console/_base.html`, ...), asserted
    through the rows of the pages and e-mails that include it."""
    name = template.rsplit("/", 1)[-1]
    return name.startswith("_") or name.split(".")[0] == "base"
