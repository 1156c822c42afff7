"""Issue 17 for the customer: what the confirmation page, the proxy's /ask page, their e-mails and every date
field say must be true, in Dutch and in English. Each test reads what a person reads: headings, sentences,
names, dates and the values left in the fields."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from sqlmodel import col, select

from registry.clock import FrozenClock
from registry.domain.vocabulary import Action, Language
from registry.models import Holder, Organisation, OutboxMessage
from registry.services import (
    ServiceContext,
    api_keys,
    holders,
    mandate_requests,
    mandates,
    members,
    organisations,
)
from registry.services.mandates import Proxy
from registry.web.dates import DateParts, UnreadableDate, parse, parts_of
from tests.support.reading import read
from tests.web.conftest import csrf_of, sign_in

LANGUAGES: list[Language] = ["nl", "en"]
CUSTOMER = "klant@example.nl"
AGENT = "agent@energie.example"


@dataclass(frozen=True)
class Words:
    """What the pages say, per language (the Dutch is what the issue quotes)."""

    unreadable: str
    day: str
    month: str
    year: str
    example: str
    check_fields: str


WORDS = {
    "nl": Words(
        "Vul een bestaande datum in, bijvoorbeeld 31 12 2027.",
        "Dag",
        "Maand",
        "Jaar",
        "Bijvoorbeeld 31 12 2027.",
        "Controleer deze velden",
    ),
    "en": Words(
        "Enter a real date, for example 31 12 2027.",
        "Day",
        "Month",
        "Year",
        "For example 31 12 2027.",
        "Please check these fields",
    ),
}


def typed(day: str, month: str, year: str, name: str = "valid_until") -> dict[str, str]:
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


def said(page: httpx.Response) -> str:
    return read(page.text).text


def heading(page: httpx.Response) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
    assert found, "no h1"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def assert_title_is_heading(page: httpx.Response) -> None:
    title = read(page.text).title
    assert title.split(" – ")[0] == heading(page), (title, heading(page))


def assert_date_fields(
    page: httpx.Response, language: Language, name: str, parts: tuple[str, str, str], error: str | None
) -> None:
    """One fieldset with a legend, a hint with an example, three numeric text fields with their labels and
    the given values; with `error`, the message by the fieldset, the fields marked, the summary linking
    to the day field."""
    words = WORDS[language]
    text = page.text
    assert 'type="date"' not in text
    fieldsets = re.findall(r'<fieldset class="field date-input[^"]*">(.*?)</fieldset>', text, re.S)
    inside = next((f for f in fieldsets if f'name="{name}-day"' in f), None)
    assert inside, f"no date fieldset for {name}"
    assert re.search(r"<legend>\s*\S", inside)
    assert words.example in read(inside).text
    for (part, label), value in zip(
        (("day", words.day), ("month", words.month), ("year", words.year)), parts, strict=True
    ):
        field_id = name if part == "day" else f"{name}-{part}"
        assert f'<label for="{field_id}">{label}</label>' in inside
        tag = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', inside, re.S)
        assert tag, field_id
        for attribute in ('type="text"', 'inputmode="numeric"', 'autocomplete="off"', f'value="{value}"'):
            assert attribute in tag.group(0), (field_id, attribute)
        assert (f"{name}-error" in tag.group(0)) == (error is not None)
        assert ('aria-invalid="true"' in tag.group(0)) == (error is not None)
    if error is None:
        assert f'id="{name}-error"' not in inside
        return
    assert re.search(rf'<p class="field-error" id="{name}-error">{re.escape(error)}</p>', inside)
    summary = re.search(r'<div class="error-summary".*?</div>', text, re.S)
    assert summary and f'<a href="#{name}">{error}</a>' in summary.group(0)


# Parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("31", "12", "2027", date(2027, 12, 31)),
        ("1", "2", "2027", date(2027, 2, 1)),
        ("01", "02", "2027", date(2027, 2, 1)),
        ("29", "2", "2028", date(2028, 2, 29)),
        ("", "", "", None),
        ("31", "02", "2027", "error"),
        ("29", "2", "2027", "error"),
        ("00", "1", "2027", "error"),
        ("1", "0", "2027", "error"),
        ("1", "13", "2027", "error"),
        ("a", "1", "2027", "error"),
        ("1", "1", "27", "error"),
        ("1", "1", "20277", "error"),
        ("1", "", "2027", "error"),
        ("٣", "1", "2027", "error"),
        ("1.5", "1", "2027", "error"),
        ("-1", "1", "2027", "error"),
    ],
)
def test_parsing_a_date_from_three_fields(day: str, month: str, year: str, expected: object) -> None:
    found = parse(DateParts(day, month, year), "valid_until")
    if expected == "error":
        assert isinstance(found, UnreadableDate)
        assert (found.field, found.message) == ("valid_until", "Enter a real date, for example 31 12 2027.")
    else:
        assert found == expected


def test_parts_are_read_from_the_form_trimmed_or_start_from_a_default() -> None:
    assert parts_of({"end-day": " 5 ", "end-month": "6 ", "end-year": " 2027"}, "end") == DateParts(
        "5", "6", "2027"
    )
    assert parts_of({}, "end", date(2027, 3, 31)) == DateParts("31", "3", "2027")
    assert parts_of({"end-day": ""}, "end", date(2027, 3, 31)) == DateParts("", "", "")  # typed empty
    assert parts_of(None, "end") == DateParts("", "", "")


# The forms with a date ----------------------------------------------------------------------------


@pytest.fixture
async def signed_in(client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation) -> str:
    await sign_in(client, ctx, "anna@example.nl")
    return csrf_of(await client.get("/mandates"))


@pytest.mark.parametrize("language", LANGUAGES)
class TestDateFields:
    async def test_grant_shows_day_month_year_and_keeps_a_wrong_date(
        self, client: httpx.AsyncClient, signed_in: str, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        empty = await client.get("/mandates/new")
        assert_date_fields(empty, language, "valid_from", ("", "", ""), None)
        assert_date_fields(empty, language, "valid_until", ("", "", ""), None)
        form = {
            "csrf_token": signed_in,
            "organisation": "energie-bv",
            "proxy_name": "Jan de Vries",
            "relation": "partner",
            "scope": "information",
            **typed("x", "1", "2027", "valid_from"),
            **typed("31", "02", "2027"),
        }
        bad = await client.post("/mandates/new", data=form)
        assert bad.status_code == 422
        assert_date_fields(bad, language, "valid_from", ("x", "1", "2027"), WORDS[language].unreadable)
        assert_date_fields(bad, language, "valid_until", ("31", "02", "2027"), WORDS[language].unreadable)

    async def test_grant_review_carries_the_typed_date_to_the_mandate(
        self, client: httpx.AsyncClient, signed_in: str, language: Language, ctx: ServiceContext
    ) -> None:
        client.cookies.set("mr_lang", language)
        form = {
            "csrf_token": signed_in,
            "organisation": "energie-bv",
            "proxy_name": "Jan de Vries",
            "relation": "partner",
            "scope": "information",
            **typed("3", "7", "2027"),
        }
        review = await client.post("/mandates/new", data=form)
        assert {"nl": "3 juli 2027", "en": "3 July 2027"}[language] in said(review)
        done = await client.post("/mandates/new/confirm", data=form)
        page = await client.get(done.headers["location"])
        assert {"nl": "3 juli 2027", "en": "3 July 2027"}[language] in said(page)

    async def test_change_starts_from_the_end_and_keeps_a_wrong_one(
        self, client: httpx.AsyncClient, signed_in: str, language: Language, ctx: ServiceContext
    ) -> None:
        client.cookies.set("mr_lang", language)
        holder = await anna(ctx)
        draft = mandates.Draft("energie-bv", Proxy("Jan de Vries", "partner"), ["information"])
        mandate = await mandates.grant(ctx, holder, draft)
        page = await client.get(f"/mandates/{mandate.reference}")
        assert_date_fields(page, language, "valid_until", ("28", "11", "2027"), None)  # a year from now
        url = f"/mandates/{mandate.reference}/change"
        wrong = await client.post(
            url, data={"csrf_token": signed_in, "scope": "information", **typed("", "2", "2027")}
        )
        assert wrong.status_code == 422
        assert_date_fields(wrong, language, "valid_until", ("", "2", "2027"), WORDS[language].unreadable)
        past = await client.post(
            url, data={"csrf_token": signed_in, "scope": "information", **typed("1", "1", "2020")}
        )
        assert past.status_code == 422  # a real day in the past keeps the form's own message
        specific = {
            "nl": "Het einde moet na het begin en in de toekomst liggen, en hoogstens 5 jaar na het begin.",
            "en": "The end must be after the start and in the future, and at most 5 years after the start.",
        }[language]
        assert_date_fields(past, language, "valid_until", ("1", "1", "2020"), specific)

    async def test_ask_names_every_problem_with_the_wrong_date_among_them(
        self, client: httpx.AsyncClient, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        empty = await client.get("/ask")
        assert_date_fields(empty, language, "valid_until", ("", "", ""), None)
        bad = await client.post(
            "/ask",
            data={"csrf_token": csrf_of(empty), "proxy_name": "Jan de Vries", **typed("32", "1", "2027")},
        )
        assert bad.status_code == 422
        assert_date_fields(bad, language, "valid_until", ("32", "1", "2027"), WORDS[language].unreadable)
        summary = re.search(r'<div class="error-summary".*?</div>', bad.text, re.S)
        assert summary
        links = re.findall(r'<a href="#([\w-]+)">', summary.group(0))
        assert links == ["organisation", "holder_email", "proxy_relation", "scope", "valid_until"]
        assert WORDS[language].check_fields in read(summary.group(0)).text
        assert 'value="Jan de Vries"' in bad.text
        empty_address = {"nl": "Vul zijn of haar e-mailadres in.", "en": "Fill in their e-mail address."}
        assert f'<a href="#holder_email">{empty_address[language]}</a>' in summary.group(0)

    async def test_confirm_starts_from_the_asked_end_and_keeps_a_wrong_one(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        token = await organisation_asks(ctx)
        page = await client.get(f"/confirm/{token}")
        assert_date_fields(page, language, "valid_until", ("28", "11", "2027"), None)
        hint = {
            "nl": "U kunt een eerdere datum kiezen dan 28 november 2027, geen latere.",
            "en": "You can choose an earlier date than 28 November 2027, not a later one.",
        }[language]
        assert hint in said(page)
        answer = {"csrf_token": csrf_of(page), "answer": "confirm", "scope": "information"}
        wrong = await client.post(f"/confirm/{token}", data={**answer, **typed("31", "2", "2027")})
        assert wrong.status_code == 422
        assert_date_fields(wrong, language, "valid_until", ("31", "2", "2027"), WORDS[language].unreadable)
        later = await client.post(f"/confirm/{token}", data={**answer, **typed("1", "1", "2028")})
        specific = {
            "nl": "Het einde mag eerder zijn dan gevraagd, niet later, en moet in de toekomst liggen.",
            "en": "The end can be earlier than asked, not later, and must be in the future.",
        }[language]
        assert_date_fields(later, language, "valid_until", ("1", "1", "2028"), specific)
        nothing_chosen = {"csrf_token": answer["csrf_token"], "answer": "confirm", **typed("1", "x", "2027")}
        both = await client.post(f"/confirm/{token}", data=nothing_chosen)
        summary = re.search(r'<div class="error-summary".*?</div>', both.text, re.S)
        assert summary and re.findall(r'<a href="#([\w-]+)">', summary.group(0)) == ["scope", "valid_until"]
        earlier = await client.post(f"/confirm/{token}", data={**answer, **typed("31", "3", "2027")})
        assert earlier.status_code == 303
        view = await mandate_requests.by_token(ctx, token)
        assert view is not None
        assert view.mandate.valid_until.isoformat().startswith("2027-03-31T21:59:59")

    async def test_console_oral_request_names_every_problem_and_keeps_the_date(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        await members.invite(ctx, "energie-bv", AGENT, "agent")
        await console_sign_in(client, ctx)
        client.cookies.set("mr_lang", language)
        page = await client.get("/console/requests/new")
        assert_date_fields(page, language, "valid_until", ("", "", ""), None)
        bad = await client.post(
            "/console/requests/new",
            data={"csrf_token": csrf_of(page), "proxy_name": "Jan de Vries", **typed("1", "1", "year")},
        )
        assert bad.status_code == 422
        assert_date_fields(bad, language, "valid_until", ("1", "1", "year"), WORDS[language].unreadable)
        assert 'id="customer_email-error"' in bad.text  # the other problems are named in the same answer
        assert await outbox(ctx, CUSTOMER) == []


# The confirmation link, state by state -------------------------------------------------------------

REQUEST_PAGES: dict[str, dict[str, str]] = {
    "pending": {
        "nl": "Mag Jan de Vries namens u handelen bij Energie BV?",
        "en": "May Jan de Vries act for you at Energie BV?",
    },
    "decline": {
        "nl": "Weigeren: Jan de Vries krijgt geen machtiging en kan met dit verzoek niet namens u handelen "
        "bij Energie BV. Wij laten Energie BV weten dat u nee heeft gezegd.",
        "en": "Decline: Jan de Vries gets no mandate and cannot act for you at Energie BV with this request. "
        "We let Energie BV know that you said no.",
    },
    "declined": {"nl": "Jan de Vries mag niet namens u handelen", "en": "Jan de Vries may not act for you"},
    "declined text": {
        "nl": "U heeft het verzoek geweigerd. Jan de Vries krijgt geen machtiging en kan hiermee niet namens "
        "u handelen bij Energie BV. Wij hebben Energie BV laten weten dat u nee heeft gezegd.",
        "en": "You declined the request. Jan de Vries gets no mandate and cannot act for you at Energie BV "
        "with it. We have let Energie BV know that you said no.",
    },
    "not me text": {
        "nl": "U heeft laten weten dat u Jan de Vries nooit toestemming heeft gegeven om namens u te "
        "handelen. Jan de Vries krijgt geen machtiging, en wij hebben Energie BV gewaarschuwd",
        "en": "You told us that you never gave Jan de Vries permission to act for you. Jan de Vries gets no "
        "mandate, and we have let Energie BV know",
    },
    "blocked": {
        "nl": "U krijgt via deze website geen verzoeken meer voor Energie BV.",
        "en": "You will get no more requests for Energie BV from this website.",
    },
    "lapsed": {"nl": "Dit verzoek is vervallen", "en": "This request has lapsed"},
    "confirmed": {"nl": "Dit verzoek is al bevestigd", "en": "This request has already been confirmed"},
    "answered declined": {
        "nl": "Dit verzoek is al geweigerd",
        "en": "This request has already been declined",
    },
    "to mandates": {"nl": "Naar uw machtigingen", "en": "Go to your mandates"},
    "sign in": {"nl": "Inloggen", "en": "Sign in"},
}


def words(key: str, language: Language) -> str:
    return REQUEST_PAGES[key][language]


@pytest.mark.parametrize("language", LANGUAGES)
class TestConfirmationStates:
    async def test_pending_says_who_where_and_what_each_button_does(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        page = await client.get(f"/confirm/{await organisation_asks(ctx)}")
        assert heading(page) == words("pending", language)
        assert_title_is_heading(page)
        assert words("decline", language) in said(page)
        assert (
            'aria-describedby="decline-hint"' in page.text and 'aria-describedby="not-me-hint"' in page.text
        )

    async def test_declined_names_the_person_and_the_organisation(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        page = await answer(client, await organisation_asks(ctx), "decline")
        assert heading(page) == words("declined", language)
        assert_title_is_heading(page)
        assert words("declined text", language) in said(page)
        assert words("blocked", language) not in said(page)
        assert {"nl": "de organisatie", "en": "the organisation"}[language] not in said(page)
        assert "geweigerd\n" not in said(page) and heading(page) != "U heeft geweigerd"

    async def test_not_me_says_what_happened_and_that_the_organisation_knows(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        token = await organisation_asks(ctx)
        page = await answer(client, token, "not_me")
        assert heading(page) == words("declined", language)
        assert_title_is_heading(page)
        assert words("not me text", language) in said(page)
        assert words("blocked", language) not in said(page)  # nothing was blocked: it was not asked
        view = await mandate_requests.by_token(ctx, token)
        assert view is not None and view.request.decline_reason == "not_me"  # what the organisation reads

    async def test_blocking_is_said_only_when_it_happened(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        page = await answer(client, await proxy_asks(ctx), "not_me", block="1")
        assert words("blocked", language) in said(page)
        await proxy_asks(ctx, expect_mail=False)  # and it is true: the next ask sends nothing

    async def test_declined_page_without_its_cookie_claims_nothing(
        self, client: httpx.AsyncClient, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        page = await client.get("/declined")
        assert (
            heading(page) == {"nl": "Uw antwoord is opgeslagen", "en": "Your answer has been saved"}[language]
        )
        assert_title_is_heading(page)

    async def test_confirmed_shows_what_was_confirmed(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        page = await answer(client, await organisation_asks(ctx), "confirm", scope="billing")
        assert_title_is_heading(page)
        text = said(page)
        assert {"nl": "rekeningen en betalingsregelingen", "en": "bills and payment arrangements"}[
            language
        ] in text
        assert {"nl": "informatie opvragen", "en": "receive information"}[language] not in text  # taken away
        assert {"nl": "28 november 2027", "en": "28 November 2027"}[language] in text

    async def test_lapsed_says_when_and_who(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        organisation: Organisation,
        clock: FrozenClock,
        language: Language,
    ) -> None:
        client.cookies.set("mr_lang", language)
        token = await organisation_asks(ctx)
        clock.advance(timedelta(hours=25))
        page = await client.get(f"/confirm/{token}")
        assert page.status_code == 410
        assert heading(page) == words("lapsed", language)
        assert_title_is_heading(page)
        text = said(page)
        assert "Jan de Vries" in text and "Energie BV" in text
        assert {"nl": "29 november 2026, 11:00", "en": "29 November 2026, 11:00"}[language] in text
        assert words("sign in", language) in text

    async def test_answered_link_offers_the_mandates_when_signed_in_and_sign_in_when_not(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        token = await organisation_asks(ctx)
        await answer(client, token, "confirm", scope="information")  # confirming signs this browser in
        signed_in = await client.get(f"/confirm/{token}")
        assert signed_in.status_code == 410
        assert heading(signed_in) == words("confirmed", language)
        assert_title_is_heading(signed_in)
        assert re.search(
            rf'<a class="button" href="/mandates">{words("to mandates", language)}</a>', signed_in.text
        )
        assert 'href="/sign-in"' not in signed_in.text
        async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as other:
            other.cookies.set("mr_lang", language)
            signed_out = await other.get(f"/confirm/{token}")
        assert heading(signed_out) == words("confirmed", language)
        assert re.search(
            rf'<a class="button" href="/sign-in">{words("sign in", language)}</a>', signed_out.text
        )
        assert words("to mandates", language) not in said(signed_out)

    async def test_a_declined_link_says_declined_and_by_whom(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
    ) -> None:
        client.cookies.set("mr_lang", language)
        token = await organisation_asks(ctx)
        await answer(client, token, "not_me")
        page = await client.get(f"/confirm/{token}")
        assert page.status_code == 410
        assert heading(page) == words("answered declined", language)
        assert_title_is_heading(page)
        text = said(page)
        assert "Jan de Vries" in text and "Energie BV" in text
        assert {"nl": "nooit", "en": "never"}[language] in text


# The e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_request_email_lists_each_action_so_that_it_reads(
    ctx: ServiceContext, organisation: Organisation, language: Language
) -> None:
    await organisation_asks(ctx, ["information", "billing", "changes", "termination"], language=language)
    message = (await outbox(ctx, CUSTOMER))[-1]
    text, page = message.body_text or "", message.body_html or ""
    if language == "nl":
        assert "vraagt ook om het contract opzeggen" not in text
        assert (
            "Mag:\n  • informatie opvragen\n  • rekeningen en betalingsregelingen\n"
            "  • contract- of contactgegevens wijzigen\n  • het contract opzeggen\n"
        ) in text
        assert (
            "Let op, dit omvat vergaande toestemming:\n  • contract- of contactgegevens wijzigen\n"
            "  • het contract opzeggen\nGeef dit alleen aan iemand die u goed vertrouwt."
        ) in text
        warning = "Let op, dit omvat vergaande toestemming:"
    else:
        assert "also asks to" not in text
        assert (
            "May:\n  • receive information\n  • bills and payment arrangements\n"
            "  • change contract or contact details\n  • end the contract\n"
        ) in text
        assert (
            "Please note, this includes far-reaching permission:\n  • change contract or contact details\n"
            "  • end the contract\nOnly allow this for someone you trust completely."
        ) in text
        warning = "Please note, this includes far-reaching permission:"
    risky = " ".join(Action(a).label(language) for a in ("changes", "termination"))
    assert f"{warning} {risky}" in read(page).text  # the HTML: the same list, item by item


async def test_a_request_without_far_reaching_actions_has_no_warning(
    ctx: ServiceContext, organisation: Organisation
) -> None:
    await organisation_asks(ctx, ["information"])
    message = (await outbox(ctx, CUSTOMER))[-1]
    assert "Let op" not in (message.body_text or "") and "Let op" not in (message.body_html or "")


# The proxy's /ask pages --------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_ask_and_its_answer_have_titles_that_match_and_claim_only_what_is_true(
    client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation, language: Language
) -> None:
    client.cookies.set("mr_lang", language)
    page = await client.get("/ask")
    assert_title_is_heading(page)
    sent = await client.post(
        "/ask",
        data={
            "csrf_token": csrf_of(page),
            "organisation": "energie-bv",
            "holder_email": CUSTOMER,
            "proxy_name": "Jan de Vries",
            "relation": "child",
            "scope": "information",
        },
    )
    assert sent.status_code == 303
    done = await client.get(sent.headers["location"])
    assert_title_is_heading(done)
    assert (
        heading(done)
        == {"nl": "We hebben uw verzoek ontvangen", "en": "We have received your request"}[language]
    )
    text = said(done)
    assert {"nl": "24 uur", "en": "24 hours"}[language] in text
    assert {
        "nl": "Komt er een weigering of geen antwoord, dan krijgt u geen e-mail van ons.",
        "en": "If they decline or do not answer, you get no e-mail from us.",
    }[language] in text


# Helpers ----------------------------------------------------------------------------------------


async def anna(ctx: ServiceContext) -> Holder:
    found = await holders.find(ctx, "anna@example.nl")
    assert found is not None
    return found


async def outbox(ctx: ServiceContext, to: str) -> list[OutboxMessage]:
    rows = await ctx.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == to, OutboxMessage.template == "mandate_request")
        .order_by(col(OutboxMessage.id))
    )
    return list(rows.scalars().all())


def token_in(message: OutboxMessage) -> str:
    found = re.search(r"/confirm/(\S+)", message.body_text or "")
    assert found, message.body_text
    return found.group(1)


async def organisation_asks(
    ctx: ServiceContext, scope: list[str] | None = None, *, language: Language = "nl"
) -> str:
    """Energie BV asks its customer to confirm that Jan de Vries may act for them: the link's token."""
    key, _ = await api_keys.create(ctx, "energie-bv", "crm", ["mandate_requests:write"])
    caller = api_keys.Caller(key, await organisations.get(ctx, "energie-bv"))
    ask = mandate_requests.Ask(
        organisation="energie-bv",
        email=CUSTOMER,
        proxy=Proxy("Jan de Vries", "partner"),
        scope=scope or ["information", "billing"],
        customer_reference="KL-100234",
        language=language,
    )
    await mandate_requests.request_by_organisation(ctx, caller, ask)
    return token_in((await outbox(ctx, CUSTOMER))[-1])


async def proxy_asks(ctx: ServiceContext, *, expect_mail: bool = True) -> str:
    """Jan de Vries asks the customer on the website: the link's token (or "" when nothing was sent)."""
    before = len(await outbox(ctx, CUSTOMER))
    ask = mandate_requests.Ask(
        organisation="energie-bv", email=CUSTOMER, proxy=Proxy("Jan de Vries", "child"), scope=["information"]
    )
    await mandate_requests.request_by_proxy(ctx, ask, "192.0.2.1")
    sent = await outbox(ctx, CUSTOMER)
    assert (len(sent) > before) == expect_mail
    return token_in(sent[-1]) if expect_mail else ""


async def answer(client: httpx.AsyncClient, token: str, choice: str, **form: str) -> httpx.Response:
    """Answer on the page as a browser does, and follow the answer to the page after it."""
    page = await client.get(f"/confirm/{token}")
    data = {"csrf_token": csrf_of(page), "answer": choice, **form}
    if choice == "confirm":
        data |= {
            f"valid_until-{part}": re.findall(rf'name="valid_until-{part}" value="(\d+)"', page.text)[0]
            for part in ("day", "month", "year")
        }
    posted = await client.post(f"/confirm/{token}", data=data)
    assert posted.status_code == 303, posted.text
    return await client.get(posted.headers["location"])


async def console_sign_in(client: httpx.AsyncClient, ctx: ServiceContext) -> None:
    page = await client.get("/console/sign-in")
    sent = await client.post("/console/sign-in", data={"email": AGENT, "csrf_token": csrf_of(page)})
    assert sent.status_code == 200, sent.text
    rows = await ctx.session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == AGENT, OutboxMessage.template == "console_sign_in")
        .order_by(col(OutboxMessage.id).desc())
    )
    body = rows.scalars().first().body_text or ""  # type: ignore[union-attr]
    link = re.search(r"https?://[^/\s]+(/console/sign-in/\S+)", body)
    assert link, body
    confirm = await client.get(link.group(1))
    done = await client.post(link.group(1), data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 303
