"""Issue 17 in the helpdesk console: what an agent or admin reads must be true, in Dutch and English.

Each test reads what a person reads (headlines, names, items, dates), not only a status code.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.domain.vocabulary import Language, agent_label
from registry.models import ApiKey, Holder, Mandate, MandateRequest, Member, WebhookDelivery
from registry.services import (
    ServiceContext,
    api_keys,
    audit,
    codes,
    mandate_requests,
    mandates,
    members,
    organisations,
    webhooks,
)
from tests.support.reading import read
from tests.web import test_console
from tests.web.conftest import csrf_of, sign_in
from tests.web.test_console import ADMIN, AGENT, _register, check, console_sign_in, last_mail

# The console tests' fixtures: a team (an admin and an agent of Energie BV) and a mandate with a code.
team = test_console.team
mandate_and_code = test_console.mandate_and_code

LANGUAGES: tuple[Language, ...] = ("nl", "en")


async def sign_in_as(client: httpx.AsyncClient, ctx: ServiceContext, email: str, language: Language) -> None:
    await console_sign_in(client, ctx, email)
    client.cookies.set("mr_lang", language)


def visible(html: str) -> str:
    """The text a person sees: without the elements the page hides (`hidden`)."""
    shown = re.sub(r"<(\w+)\b[^>]*\shidden\b[^>]*>.*?</\1>", " ", html, flags=re.S)
    return read(shown).text


def answer_of(page: httpx.Response) -> str:
    found = re.search(r'<section[^>]*id="answer".*?</section>', page.text, re.S)
    assert found, page.text
    return found.group(0)


def title_of(page: httpx.Response) -> str:
    found = re.search(r"<title>(.*?)</title>", page.text, re.S)
    assert found
    return " ".join(found.group(1).split())


# 1. Each outcome of a check is distinct: headline, colour (class), icon, and the page's title. -----------

OUTCOMES = {
    # outcome: (action asked, right code?, Dutch headline, English headline, icon)
    "not_verified": (
        "termination",
        False,
        "Niet goedgekeurd: help deze beller niet",
        "Not verified: do not act for this caller",
        "✗",
    ),
    "verified": ("", True, "Goedgekeurd: de code klopt", "Verified: the code is right", "ℹ"),
    "allowed": (
        "billing",
        True,
        "Code klopt — toegestaan: rekeningen en betalingsregelingen",
        "Code is right — allowed: bills and payment arrangements",
        "✓",
    ),
    "refused": (
        "termination",
        True,
        "Code klopt — NIET toegestaan: het contract opzeggen",
        "Code is right — NOT allowed: end the contract",
        "⚠",
    ),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("outcome", list(OUTCOMES))
async def test_each_outcome_has_its_own_headline_colour_icon_and_title(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    team: dict[str, Any],
    mandate_and_code: tuple[Mandate, str],
    outcome: str,
    language: Language,
) -> None:
    mandate, code = mandate_and_code
    action, right, dutch, english, icon = OUTCOMES[outcome]
    headline = dutch if language == "nl" else english
    await sign_in_as(client, ctx, AGENT, language)
    page = await check(client, mandate.reference, code if right else "12345678", action)
    answer = answer_of(page)
    title = re.search(r'<h2 id="answer-title"[^>]*>(.*?)</h2>', answer, re.S)
    assert title
    assert read(title.group(1)).text == f"{icon} {headline}"
    assert f"console-answer--{outcome}" in answer
    assert title_of(page).startswith(headline)
    said = read(answer).text
    if outcome == "refused":  # a refusal never reads as a plain approval
        assert ("Goedgekeurd" if language == "nl" else "Verified") not in said
        assert (
            "Doe dit niet voor de beller: het contract opzeggen"
            if language == "nl"
            else "Do not do this for the caller: end the contract"
        ) in said
    if outcome != "not_verified":
        assert "Jan de Vries" in said


# 3. The next check starts empty. ----------------------------------------------------------------------


async def test_the_next_check_starts_empty(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    team: dict[str, Any],
    mandate_and_code: tuple[Mandate, str],
) -> None:
    mandate, code = mandate_and_code
    await sign_in_as(client, ctx, AGENT, "en")
    page = await check(client, mandate.reference, code, "billing")
    assert "Code is right — allowed" in page.text
    form = page.text.split("<h2>Next check</h2>")[1]
    assert re.search(r'<input type="text" id="subject" name="subject" value=""', form)
    assert mandate.reference not in form
    action = re.search(r'<select id="action".*?</select>', form, re.S)
    assert action and "selected" not in action.group(0)


# 2. The console's own language switch, and sign-in e-mails in the chosen language. ------------------------


async def test_a_member_switches_language_and_the_choice_is_kept(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
) -> None:
    await sign_in_as(client, ctx, AGENT, "en")
    history = await client.get("/console/history")
    assert '<form method="post" action="/console/language"' in history.text
    client.cookies.delete("mr_lang")  # from here on, only the cookie the switch sets
    assert "<h1>History</h1>" in history.text
    switched = await client.post(
        "/console/language",
        data={"language": "nl", "back": "/console/history", "csrf_token": csrf_of(history)},
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/console/history"
    assert client.cookies.get("mr_lang") == "nl"
    page = await client.get("/console/history")
    assert "<h1>Geschiedenis</h1>" in page.text and "Dit formulier kon niet worden verstuurd" not in page.text
    member = (await ctx.session.execute(select(Member).where(Member.email == AGENT))).scalars().one()
    await ctx.session.refresh(member)
    assert member.language == "nl"
    elsewhere = await client.post(
        "/console/language",
        data={"language": "en", "back": "https://evil.example/", "csrf_token": csrf_of(page)},
    )
    assert elsewhere.headers["location"] == "/console"


async def test_console_sign_in_mail_follows_the_page_language_else_the_members(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
) -> None:
    assert team["agent"].language == "nl"
    client.cookies.set("mr_lang", "en")
    page = await client.get("/console/sign-in")
    await client.post("/console/sign-in", data={"email": AGENT, "csrf_token": csrf_of(page)})
    english = await last_mail(ctx, AGENT, "console_sign_in")
    assert english.language == "en" and english.subject == "Your link to sign in to the helpdesk console"
    client.cookies.delete("mr_lang")
    await client.post("/console/sign-in", data={"email": AGENT, "csrf_token": csrf_of(page)})
    dutch = await last_mail(ctx, AGENT, "console_sign_in")
    assert dutch.language == "nl" and dutch.subject == "Uw link om in te loggen bij de helpdeskconsole"


# 4. "Medewerker 5D33" on Dutch pages and e-mails, "Agent 5D33" in English; the API keeps `Agent`. --------


@pytest.mark.parametrize(("language", "word"), [("nl", "Medewerker"), ("en", "Agent")])
async def test_the_agents_pseudonym_in_the_readers_language(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    team: dict[str, Any],
    mandate_and_code: tuple[Mandate, str],
    holder: Holder,
    language: Language,
    word: str,
) -> None:
    stored = members.pseudonym(ctx, team["agent"])
    assert stored.startswith("Agent ")  # what the API and the database keep
    shown = f"{word} {stored.removeprefix('Agent ')}"
    assert agent_label(stored, language) == shown
    mandate, code = mandate_and_code
    await sign_in_as(client, ctx, AGENT, language)
    home = await client.get("/console")
    header = read(home.text.split("<main")[0]).text
    assert f"Energie BV · {shown}" in header
    if language == "nl":
        assert stored not in header
    await check(client, mandate.reference, code)
    client.cookies.clear()
    await sign_in(client, ctx, holder.email)
    client.cookies.set("mr_lang", language)
    activity = read((await client.get("/activity")).text).text
    assert f"Energie BV, {shown}" in activity


async def test_the_holders_check_email_names_the_agent_in_the_holders_language(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any], holder: Holder
) -> None:
    draft = mandates.Draft("energie-bv", mandates.Proxy("Jan de Vries", "partner"), ["termination"])
    mandate = await mandates.grant(ctx, holder, draft)  # high risk: the holder hears of each check
    code = (await codes.issue(ctx, mandate)).code
    await sign_in_as(client, ctx, AGENT, "en")
    await check(client, mandate.reference, code, "termination")
    mail = await last_mail(ctx, holder.email, "mandate_checked")
    tag = members.pseudonym(ctx, team["agent"]).removeprefix("Agent ")
    assert mail.language == "nl"
    assert f"De medewerker heet bij ons Medewerker {tag}." in " ".join((mail.body_text or "").split())
    assert f"Agent {tag}" not in (mail.body_text or "") + (mail.body_html or "")


# 5. The oral-mandate status page says only what is true for each status. ----------------------------------

STATUS_WORDS = {
    "pending": (
        "Als de klant bevestigt, ziet hij of zij een belcode",
        "When the customer confirms, they see a call code",
    ),
    "confirmed": ("De klant ziet nu een belcode", "The customer now sees a call code"),
    "declined": ("Er is geen machtiging", "There is no mandate"),
    "lapsed": ("Er is geen machtiging", "There is no mandate"),
}
CALL_CODE = ("belcode", "call code")


async def _answer(ctx: ServiceContext, clock: FrozenClock, status: str) -> None:
    """Answer the newest oral request as the customer would (or let it lapse)."""
    message = await last_mail(ctx, "klant@example.nl", "mandate_request")
    token = re.search(r"/confirm/(\S+)", message.body_text or "")
    assert token
    if status == "confirmed":
        await mandate_requests.confirm(ctx, token.group(1), scope=["information"])
    elif status == "declined":
        await mandate_requests.decline(ctx, token.group(1))
    elif status == "lapsed":  # 24 hours without an answer (the agent's session stays fresh)
        request = (await ctx.session.execute(select(MandateRequest))).scalars().one()
        request.expires_at = clock.now() - timedelta(minutes=1)
        await ctx.session.flush()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", list(STATUS_WORDS))
async def test_the_request_status_page_says_only_what_is_true(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    team: dict[str, Any],
    clock: FrozenClock,
    status: str,
    language: Language,
) -> None:
    await sign_in_as(client, ctx, AGENT, language)
    url = await _register(client, scope=cast(str, ["information", "billing"]))  # posted as two fields
    await _answer(ctx, clock, status)
    page = await client.get(url)
    seen = visible(page.text)
    nl = language == "nl"
    assert STATUS_WORDS[status][0 if nl else 1] in seen
    others = {words[0 if nl else 1] for other, words in STATUS_WORDS.items() if other != status}
    others -= {STATUS_WORDS[status][0 if nl else 1]}
    assert [words for words in others if words in seen] == []
    if status in ("declined", "lapsed"):
        assert CALL_CODE[0 if nl else 1] not in seen
    if status == "confirmed":  # what the customer confirmed, not what was asked
        assert ("Bevestigd voor informatie opvragen" if nl else "Confirmed for receive information") in seen
        assert ("rekeningen" if nl else "bills") not in seen
    if status == "lapsed":
        assert ("Vervallen op" if nl else "Lapsed at") in seen
        assert ("Vervalt op" if nl else "Lapses at") not in seen


# 7. Every authenticated API call counts as a use of the key. ----------------------------------------------


async def test_a_key_that_only_registered_an_oral_mandate_shows_when_it_was_used(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
) -> None:
    _, secret = await api_keys.create(ctx, "energie-bv", "Zendesk", ["mandate_requests:write"])
    made = await client.post(
        "/v1/mandate-requests",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "customer_reference": "KL-1",
            "customer_email": "k@example.nl",
            "proxy": {"name": "J", "relation": "partner"},
            "scope": ["information"],
        },
    )
    assert made.status_code == 201
    await sign_in_as(client, ctx, ADMIN, "nl")
    keys = await client.get("/console/admin/keys")
    row = re.search(r"<tr>\s*<td[^>]*>Zendesk</td>.*?</tr>", keys.text, re.S)
    assert row
    said = read(row.group(0)).text
    assert "28 november 2026, 11:00" in said and "Nooit" not in said


# 8. Deactivating a member and revoking a key ask first; a member can be reactivated. -------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_deactivating_asks_first_and_can_be_undone(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any], language: Language
) -> None:
    agent_id = team["agent"].id
    await sign_in_as(client, ctx, ADMIN, language)
    listed = await client.get("/console/admin/members")
    assert f'href="/console/admin/members/{agent_id}/deactivate"' in listed.text  # a link to the question
    ask = await client.get(f"/console/admin/members/{agent_id}/deactivate")
    said = read(ask.text).text
    if language == "nl":
        assert f"{AGENT} deactiveren?" in said and "open sessies stoppen meteen" in said
    else:
        assert f"Deactivate {AGENT}?" in said and "their open sessions end at once" in said
    assert team["agent"].deactivated_at is None  # asking changed nothing
    assert 'href="/console/admin/members"' in ask.text  # cancel
    done = await client.post(
        f"/console/admin/members/{agent_id}/deactivate", data={"csrf_token": csrf_of(ask)}
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert ("Weer activeren" if language == "nl" else "Reactivate") in read(page.text).text
    back = await client.post(
        f"/console/admin/members/{agent_id}/reactivate", data={"csrf_token": csrf_of(page)}
    )
    page = await client.get(back.headers["location"])
    assert ("Het lid is weer actief" if language == "nl" else "The member has been reactivated") in page.text
    await ctx.session.refresh(team["agent"])
    assert team["agent"].deactivated_at is None
    client.cookies.clear()
    await console_sign_in(client, ctx, AGENT)  # signs in again with a new link
    assert (await client.get("/console")).status_code == 200


@pytest.mark.parametrize("language", LANGUAGES)
async def test_revoking_a_key_asks_first(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any], language: Language
) -> None:
    key, _ = await api_keys.create(ctx, "energie-bv", "Zendesk", ["verify"])
    await sign_in_as(client, ctx, ADMIN, language)
    listed = await client.get("/console/admin/keys")
    assert f'href="/console/admin/keys/{key.id}/revoke"' in listed.text
    ask = await client.get(f"/console/admin/keys/{key.id}/revoke")
    said = read(ask.text).text
    question = (
        f"De sleutel Zendesk ({key.prefix}…) intrekken?"
        if language == "nl"
        else f"Revoke the key Zendesk ({key.prefix}…)?"
    )
    assert question in said and question in title_of(ask)
    await ctx.session.refresh(key)
    assert key.revoked_at is None
    done = await client.post(f"/console/admin/keys/{key.id}/revoke", data={"csrf_token": csrf_of(ask)})
    assert done.status_code == 303
    await ctx.session.refresh(key)
    assert key.revoked_at is not None
    gone = await client.get(f"/console/admin/keys/{key.id}/revoke")
    assert gone.status_code == 303  # nothing left to ask


# 9. Technical names carry words beside them; a failed delivery says what went wrong. ---------------------


async def test_scopes_and_events_have_words_beside_their_names(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
) -> None:
    await api_keys.create(ctx, "energie-bv", "Zendesk", ["mandate_requests:write", "mandates:write"])
    await sign_in_as(client, ctx, ADMIN, "nl")
    keys = read((await client.get("/console/admin/keys")).text).text
    assert "mondelinge machtigingen registreren mandate_requests:write" in keys
    assert "bevestigen dat de machtiginggever uw klant is mandates:write" in keys
    hooks = read((await client.get("/console/admin/webhooks")).text).text
    assert "een mondelinge machtiging is niet binnen 24 uur beantwoord mandate_request.lapsed" in hooks
    members_page = await client.get("/console/admin/members")
    assert '<select id="role"' not in members_page.text  # choices whose words are never cut off
    assert "Beheerder: beheert ook de leden, API-sleutels, webhooks en instellingen" in members_page.text


DELIVERY_FAILURES = [
    (
        None,
        "ConnectError: [Errno -2] Name or service not known",
        "Geen verbinding: de server is niet gevonden of nam de verbinding niet aan.",
        "Could not connect: the server was not found or did not accept the connection.",
    ),
    (
        None,
        "ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
        "De beveiligde verbinding (TLS) is mislukt",
        "The secure connection (TLS) failed",
    ),
    (None, "ReadTimeout: ", "De server antwoordde niet op tijd.", "The server did not answer in time."),
    (503, "HTTP 503", "De server antwoordde met een eigen fout (HTTP 503).", "error of its own (HTTP 503)"),
    (
        404,
        "HTTP 404",
        "De server weigerde het bericht (HTTP 404)",
        "The server refused the delivery (HTTP 404)",
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("status_code", "error", "dutch", "english"), DELIVERY_FAILURES)
async def test_a_failed_delivery_says_what_went_wrong_in_words(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    team: dict[str, Any],
    holder: Holder,
    language: Language,
    status_code: int | None,
    error: str,
    dutch: str,
    english: str,
) -> None:
    organisation = team["admin"].organisation_id
    endpoint, _ = await webhooks.create_endpoint(
        ctx,
        await organisations.get(ctx, "energie-bv"),
        "https://hooks.example.com/x",
        allow_private=True,
        actor="operator",
    )
    await webhooks.emit(ctx, organisation, "mandate.revoked", {"mandate_reference": "M-X"})
    delivery = (await ctx.session.execute(select(WebhookDelivery))).scalars().one()
    delivery.attempts, delivery.last_status_code, delivery.last_error = 1, status_code, error
    await ctx.session.flush()
    await sign_in_as(client, ctx, ADMIN, language)
    said = read((await client.get(f"/console/admin/webhooks/{endpoint.public_id}")).text).text
    assert (dutch if language == "nl" else english) in said
    assert "Errno" not in said and "ConnectError" not in said and "ReadTimeout" not in said
    assert (
        "de machtiginggever heeft een machtiging beëindigd"
        if language == "nl"
        else "the holder ended a mandate"
    ) in said


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("disabled by the organisation", "by_organisation"),
        ("the receiver answered 410 Gone", "gone"),
        ("no delivery succeeded for 9 tries: HTTP 502", "server"),
        ("no delivery succeeded for 9 tries: ConnectError: [Errno 111] Connection refused", "connect"),
    ],
)
def test_why_an_endpoint_stopped_is_read_from_its_reason(reason: str, kind: str) -> None:
    stop = webhooks.stop_of(reason)
    assert stop is not None and stop.kind == kind


async def test_console_keys_stay_apart_from_the_keys_page(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
) -> None:
    console_key = (
        (await ctx.session.execute(select(ApiKey).where(col(ApiKey.member_id).is_not(None))))
        .scalars()
        .first()
    )
    assert console_key is not None
    await sign_in_as(client, ctx, ADMIN, "en")
    assert (await client.get(f"/console/admin/keys/{console_key.id}/revoke")).status_code == 404


async def test_an_alert_on_an_agents_console_names_the_agent_in_words(
    client: httpx.AsyncClient, ctx: ServiceContext, team: dict[str, Any]
) -> None:
    key = (
        (await ctx.session.execute(select(ApiKey).where(ApiKey.member_id == team["agent"].id)))
        .scalars()
        .one()
    )
    data = {"key_id": key.id, "failures_this_hour": 20}
    organisation = await organisations.get(ctx, "energie-bv")
    await audit.record(
        ctx,
        "organisation:energie-bv",
        "api_key.failure_alert",
        "registry",
        data,
        organisation_id=organisation.id,
    )
    tag = members.pseudonym(ctx, team["agent"]).removeprefix("Agent ")
    await sign_in_as(client, ctx, ADMIN, "nl")
    alerts = read((await client.get("/console/admin/alerts")).text).text
    assert f"De console van Medewerker {tag}" in alerts and "console Agent" not in alerts


async def test_the_history_names_a_refused_action(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    team: dict[str, Any],
    mandate_and_code: tuple[Mandate, str],
) -> None:
    mandate, code = mandate_and_code
    await sign_in_as(client, ctx, AGENT, "nl")
    await check(client, mandate.reference, code, "termination")
    history = read((await client.get("/console/history")).text).text
    assert "NIET toegestaan: het contract opzeggen" in history


# 6. After a check the answer's headline has the focus, with the page heading, the menu and the whole focus
#    ring in view (in Chromium, on the page-state world, at both widths). ---------------------------------

FOCUS = """
() => {
  const title = document.getElementById('answer-title');
  const ring = title.getBoundingClientRect();  // the ring reaches 11px further: outline, offset, shadow
  const h1 = document.querySelector('h1').getBoundingClientRect();
  const menu = document.querySelector('.console-nav [aria-current=page]').getBoundingClientRect();
  return {
    focused: document.activeElement === title,
    scrollY: window.scrollY,
    headingShown: h1.top >= 0 && h1.bottom <= window.innerHeight,
    menuShown: menu.top >= 0,
    ringShown: ring.top - 11 >= 0 && ring.left - 11 >= 0 && ring.right + 11 <= window.innerWidth
               && ring.bottom + 11 <= window.innerHeight,
  };
}
"""


@pytest.mark.committed
def test_the_answer_is_focused_without_hiding_the_heading(
    databases: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.support.served import CHROMIUM, served

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    log = tmp_path_factory.mktemp("console-focus") / "serve.log"
    with served(databases.new_migrated(), "nl", log) as site:
        problems = asyncio.run(_focus_problems(site))
    assert problems == []


async def _focus_problems(site: Any) -> list[str]:
    from playwright.async_api import async_playwright

    from tests.support.page_states import CONSOLE_PAGES
    from tests.support.served import CHROMIUM, CHROMIUM_ARGS, open_row

    rows = [r for r in CONSOLE_PAGES if r.template == "console/verify.html" and r.state != "empty"]
    expected = {"focused": True, "scrollY": 0, "headingShown": True, "menuShown": True, "ringShown": True}
    problems = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for row in rows:
                for viewport in ("desktop", "mobile"):
                    context, page = await open_row(browser, site, row, viewport)
                    found = await page.evaluate(FOCUS)
                    await context.close()
                    if found != expected:
                        problems.append(f"{row.state} ({viewport}): {found}")
        finally:
            await browser.close()
    return problems
