"""Issue 17 on the holder's pages: what a holder reads is what the registry knows, no more and no less,
in Dutch and in English."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select

from registry.api.lane import Lane
from registry.app import create_app
from registry.crypto import otp
from registry.db.engine import session_scope
from registry.domain.vocabulary import Language
from registry.models import AuditEvent, Holder, Organisation, OutboxMessage
from registry.services import (
    ServiceContext,
    api_keys,
    audit,
    authenticators,
    codes,
    holders,
    mandate_requests,
    mandates,
)
from registry.services.mandate_requests import Ask
from registry.wiring import Wiring
from tests.cases import new_case
from tests.conftest import Databases, make_settings
from tests.web.conftest import csrf_of, post_form, sign_in

EMAIL = "anna@example.nl"
GRANT = {
    "organisation": "energie-bv",
    "proxy_name": "Jan de Vries",
    "relation": "child",
    "proxy_email": "jan@example.nl",
    "proxy_phone": "06 1234 5678",
    "customer_reference": "KL-12345",
    "scope": ["information", "billing", "termination"],
}
SCOPE_WORDS = {
    "nl": ["informatie opvragen", "rekeningen en betalingsregelingen", "het contract opzeggen"],
    "en": ["receive information", "bills and payment arrangements", "end the contract"],
}
LANGUAGES: list[Language] = ["nl", "en"]


def text_of(fragment: str) -> str:
    """What a person reads in an HTML fragment: the tags gone, the entities decoded, spaces collapsed."""
    inline = re.sub(r"</?(?:strong|em|span|a)\b[^>]*>", "", fragment)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def scope_items(page: str, label: str) -> list[list[str]]:
    """Each list of things the proxy may do that follows a `label` term, item by item."""
    found = re.findall(rf"<dt>{label}</dt><dd>(.*?)</dd>", page, re.S)
    return [[text_of(item) for item in re.findall(r"<li>(.*?)</li>", each, re.S)] for each in found]


def facts(page: str) -> dict[str, str]:
    """The first fact list on the page, term by term."""
    listing = re.search(r'<dl class="facts">(.*?)</dl>', page, re.S)
    assert listing, page
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", listing.group(1), re.S)
    return {text_of(term): text_of(value) for term, value in pairs}


def activity_rows(page: str) -> list[dict[str, str]]:
    """The activity table as read: per row, each column's heading and what it says."""
    rows = re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>", 1)[1], re.S)
    result = []
    for row in rows:
        cells = re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row, re.S)
        result.append({html.unescape(label): text_of(value) for label, value in cells})
    return result


async def choose(client: httpx.AsyncClient, language: Language) -> None:
    csrf = csrf_of(await client.get("/mandates"))
    await client.post("/language", data={"csrf_token": csrf, "language": language})


@pytest.fixture
async def anna(client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation) -> Holder:
    await sign_in(client, ctx, EMAIL)
    found = await holders.find(ctx, EMAIL)
    assert found is not None
    return found


async def granted(client: httpx.AsyncClient, **changes: object) -> str:
    """Grant through the two steps of the form; the new mandate's reference."""
    csrf = csrf_of(await client.get("/mandates"))
    form = {**GRANT, **changes, "csrf_token": csrf}
    review = await client.post("/mandates/new", data=form)
    assert review.status_code == 200, review.text
    done = await client.post("/mandates/new/confirm", data=form)
    assert done.status_code == 303, done.text
    return str(done.headers["location"]).split("/")[2].split("?")[0]


class TestWhatTheProxyMayDo:
    """Defect 1: "May" was blank on the overview, the mandate page and the review step."""

    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_the_scope_item_by_item_on_all_three_pages(
        self, client: httpx.AsyncClient, anna: Holder, language: Language
    ) -> None:
        await choose(client, language)
        may = {"nl": "Mag", "en": "May"}[language]
        csrf = csrf_of(await client.get("/mandates"))
        review = await client.post("/mandates/new", data={**GRANT, "csrf_token": csrf})
        assert scope_items(review.text, may) == [SCOPE_WORDS[language]]
        reference = await granted(client)
        page = await client.get(f"/mandates/{reference}")
        assert scope_items(page.text, may) == [SCOPE_WORDS[language]]
        overview = await client.get("/mandates")
        assert scope_items(overview.text, may) == [SCOPE_WORDS[language]]


async def a_check(
    client: httpx.AsyncClient,
    ctx: ServiceContext,
    reference: str,
    action: str | None,
    code: str | None = None,
) -> dict[str, object]:
    """An organisation checks a live call code of the mandate through the API, asking about `action`."""
    if code is None:
        holder = await holders.find(ctx, EMAIL)
        assert holder is not None
        view = await mandates.get_for_holder(ctx, holder, reference)
        code = (await codes.issue(ctx, view.mandate)).code
    _, key = await api_keys.create(ctx, "energie-bv", "crm", ["verify"])
    body: dict[str, object] = {"mandate_reference": reference, "code": code, "agent_id": "crm-7"}
    if action:
        body["action"] = action
    answer = await client.post("/v1/verifications", headers={"Authorization": f"Bearer {key}"}, json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def checked_email(ctx: ServiceContext) -> str:
    rows = await ctx.session.execute(
        select(OutboxMessage)
        .where(col(OutboxMessage.template) == "mandate_checked")
        .order_by(col(OutboxMessage.id).desc())
    )
    message = rows.scalars().first()
    assert message is not None, "no mandate_checked e-mail"
    text = " ".join((message.body_text or "").split())
    return f"{message.subject}\n{text}\n{text_of(message.body_html or '')}"  # subject, text part, HTML


ALLOWED = {
    "nl": (
        "Gecontroleerd: de code klopte, en ‘informatie opvragen’ mag",
        "Gevraagd werd of Jan de Vries dit voor u mag doen: informatie opvragen. Dat mag met deze "
        "machtiging, en dat hebben wij geantwoord.",
    ),
    "en": (
        "Checked: the code was right, and “receive information” is allowed",
        "They asked whether Jan de Vries may do this for you: receive information. This mandate allows "
        "that, and that is what we answered.",
    ),
}
REFUSED = {
    "nl": (
        "Gecontroleerd: de code klopte, maar ‘het contract opzeggen’ mag NIET (dat hebben wij de "
        "organisatie geantwoord)",
        "Gevraagd werd of Jan de Vries dit voor u mag doen: het contract opzeggen. Dat mag NIET met deze "
        "machtiging, en dat hebben wij geantwoord. Het register zelf doet niets aan uw contract.",
    ),
    "en": (
        "Checked: the code was right, but “end the contract” is NOT allowed (that is what the "
        "organisation was told)",
        "They asked whether Jan de Vries may do this for you: end the contract. This mandate does NOT "
        "allow that, and that is what we answered. The registry itself does nothing to your contract.",
    ),
}


class TestARefusedActionNeverReadsAsDone:
    """Defect 2: a check whose action was refused read as "the code was right (end the contract)"."""

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize(("action", "expected"), [("information", ALLOWED), ("termination", REFUSED)])
    async def test_activity_and_e_mail_say_allowed_or_not(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        anna: Holder,
        language: Language,
        action: str,
        expected: dict[str, tuple[str, str]],
    ) -> None:
        await choose(client, language)  # the holder's language: pages and e-mails
        reference = await granted(client, scope=["information", "billing"])
        await mandates.set_check_notices(ctx, anna, reference, True)
        answer = await a_check(client, ctx, reference, action)
        assert answer["action_permitted"] is (action == "information")
        row, sentence = expected[language]
        rows = activity_rows((await client.get("/activity")).text)
        checks = [r for r in rows if r[_what(language)].startswith(("Gecontroleerd", "Checked"))]
        assert [r[_what(language)] for r in checks] == [row]
        assert checks[0][{"nl": "Door", "en": "By"}[language]].startswith("Energie BV, ")
        mail = await checked_email(ctx)
        assert mail.count(sentence) == 2, mail  # the text and the HTML part
        assert ("De code klopte" if language == "nl" else "The code was right") in mail
        refused_subject = {
            "nl": "‘het contract opzeggen’ mag niet",
            "en": "‘end the contract’ is not allowed",
        }
        assert (refused_subject[language] in mail.splitlines()[0]) is (action == "termination")

    async def test_the_check_records_whether_the_action_was_allowed(
        self, client: httpx.AsyncClient, ctx: ServiceContext, anna: Holder
    ) -> None:
        reference = await granted(client, scope=["information"])
        await a_check(client, ctx, reference, "termination")
        data = await succeeded_data(ctx, reference)
        assert (data["action"], data["action_permitted"]) == ("termination", False)

    async def test_an_old_check_without_the_answer_names_the_action_neutrally(
        self, client: httpx.AsyncClient, ctx: ServiceContext, anna: Holder
    ) -> None:
        reference = await granted(client, scope=["information"])
        view = await mandates.get_for_holder(ctx, anna, reference)
        await audit.record(  # as checks were recorded before `action_permitted`
            ctx,
            f"mandate:{reference}",
            "verification.succeeded",
            "organisation:energie-bv",
            {"action": "termination", "agent": None, "evaluated": True},
            organisation_id=view.mandate.organisation_id,
            holder_id=anna.id,
            mandate_id=view.mandate.id,
        )
        neutral: list[tuple[Language, str]] = [
            ("nl", "Gecontroleerd: de code klopte (gevraagd naar: het contract opzeggen)"),
            ("en", "Checked: the code was right (asked about: end the contract)"),
        ]
        for language, expected in neutral:
            await choose(client, language)
            first = activity_rows((await client.get("/activity")).text)[0]
            assert first[_what(language)] == expected


def _what(language: str) -> str:
    return {"nl": "Wat", "en": "What"}[language]


async def succeeded_data(ctx: ServiceContext, reference: str) -> dict[str, object]:
    rows = await ctx.session.execute(
        select(AuditEvent.data).where(
            col(AuditEvent.chain) == f"mandate:{reference}", col(AuditEvent.kind) == "verification.succeeded"
        )
    )
    return dict(json.loads(rows.scalars().one()))


@pytest.fixture
async def lane_app(databases: Databases) -> AsyncIterator[tuple[httpx.AsyncClient, Wiring]]:
    """The app with its fast lane open, on a committed database of its own (the lane's connections)."""
    app = create_app(make_settings(databases.new_migrated()))
    async with app.router.lifespan_context(app):
        lane: Lane | None = app.state.lane
        assert lane is not None
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
            yield client, app.state.wiring


@pytest.mark.committed
async def test_the_fast_lane_records_whether_the_action_was_allowed(
    lane_app: tuple[httpx.AsyncClient, Wiring],
) -> None:
    client, wiring = lane_app
    case = await new_case(wiring, "lane-truth")
    answer = await client.post(
        "/v1/verifications",
        headers={"Authorization": f"Bearer {case.key}"},
        json={"mandate_reference": case.reference, "code": case.code, "action": "termination"},
    )
    assert answer.json()["action_permitted"] is False
    async with session_scope(wiring.session_factory) as session:
        rows = await session.execute(
            select(AuditEvent.data).where(
                col(AuditEvent.chain) == f"mandate:{case.reference}",
                col(AuditEvent.kind) == "verification.succeeded",
            )
        )
        data = json.loads(rows.scalars().one())
    assert (data["action"], data["action_permitted"]) == ("termination", False)


class TestEveryActivityRowSaysWhatAndWho:
    """Defect 3: an empty "What" for the invitation, "By: You" for the proxy's app, a wrong code as
    "not allowed"."""

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            (
                "nl",
                [
                    (
                        "Gecontroleerd: de code klopte niet (gevraagd naar: informatie opvragen)",
                        "Energie BV, ",
                    ),
                    ("App voor codes ingesteld", "Jan de Vries"),
                    ("Uitnodiging gestuurd om een app voor codes in te stellen", "U"),
                    ("Machtiging gegeven", "U"),
                ],
            ),
            (
                "en",
                [
                    ("Checked: the code was not right (asked about: receive information)", "Energie BV, "),
                    ("Authenticator app set up", "Jan de Vries"),
                    ("Invitation sent to set up an authenticator app", "You"),
                    ("Mandate given", "You"),
                ],
            ),
        ],
    )
    async def test_what_happened_and_who_did_it(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        anna: Holder,
        language: Language,
        expected: list[tuple[str, str]],
    ) -> None:
        reference = await granted(client, scope=["information"])
        await authenticators.invite(ctx, anna, reference, None)
        view = await mandates.get_for_holder(ctx, anna, reference)
        enrolment = await authenticators.enrol(ctx, view.mandate)
        now_code = otp.code_for_step(enrolment.secret, otp.step_at(ctx.clock.now()))
        await authenticators.activate(ctx, view.mandate, now_code)  # the proxy, on the invitation's page
        answer = await a_check(client, ctx, reference, "information", code="00000000")
        assert answer["result"] == "not_verified"
        await choose(client, language)
        rows = activity_rows((await client.get("/activity")).text)
        by = {"nl": "Door", "en": "By"}[language]
        assert [(r[_what(language)], r[by]) for r in rows] == [
            (what, r[by] if who.endswith(", ") and r[by].startswith(who) else who)
            for (what, who), r in zip(expected, rows, strict=True)
        ]


class TestRequestsWaitingForTheHolder:
    """Defect 4: a proxy's request to the holder's address was missing under "Waiting for your answer"."""

    @pytest.mark.parametrize(
        ("language", "heading", "asks", "where", "may"),
        [
            (
                "nl",
                "Wacht op uw antwoord",
                "Jan de Vries vraagt u om een machtiging bij Energie BV",
                "Antwoord met de link in de e-mail die wij naar anna@example.nl hebben gestuurd.",
                "Zou mogen",
            ),
            (
                "en",
                "Waiting for your answer",
                "Jan de Vries asks you for a mandate at Energie BV",
                "To answer, use the link in the e-mail we sent to anna@example.nl.",
                "Would be allowed to",
            ),
        ],
    )
    async def test_a_proxys_request_is_listed_with_who_what_and_how_to_answer(
        self,
        client: httpx.AsyncClient,
        ctx: ServiceContext,
        anna: Holder,
        language: Language,
        heading: str,
        asks: str,
        where: str,
        may: str,
    ) -> None:
        ask = Ask(
            organisation="energie-bv",
            email=EMAIL,
            proxy=mandates.Proxy("Jan de Vries", "child"),
            scope=["information", "billing"],
        )
        await mandate_requests.request_by_proxy(ctx, ask, "192.0.2.1")
        await choose(client, language)
        page = (await client.get("/mandates")).text
        waiting = page.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]
        assert asks in text_of(waiting)
        assert where in text_of(waiting)
        assert scope_items(waiting, may) == [SCOPE_WORDS[language][:2]]


class TestFocusAfterAFailedForm:
    """Defect 5: the change form's error was 1,650 px down with no summary; focus did not move."""

    @pytest.mark.parametrize(
        ("language", "message"),
        [
            ("nl", "Controleer deze velden"),
            ("en", "Please check these fields"),
        ],
    )
    async def test_the_change_form_shows_a_summary_at_the_top(
        self, client: httpx.AsyncClient, anna: Holder, language: Language, message: str
    ) -> None:
        reference = await granted(client)
        await choose(client, language)
        csrf = csrf_of(await client.get("/mandates"))
        bad = await client.post(
            f"/mandates/{reference}/change",
            data={
                "csrf_token": csrf,
                "scope": "billing",
                "valid_until": "2040-01-01",  # as the form was before it asked day, month and year
                "valid_until-day": "1",
                "valid_until-month": "1",
                "valid_until-year": "2040",
            },
        )
        assert bad.status_code == 422
        summary = re.search(r'<div class="error-summary"[^>]*tabindex="-1"[^>]*>(.*?)</div>', bad.text, re.S)
        assert summary, bad.text
        assert message in text_of(summary.group(1))
        assert 'href="#valid_until"' in summary.group(1)
        assert bad.text.index("error-summary") < bad.text.index('<dl class="facts">')  # before everything

    async def test_the_script_that_moves_focus_is_served_from_the_site(
        self, client: httpx.AsyncClient
    ) -> None:
        page = await client.get("/sign-in")
        assert '<script src="/static/forms.js" defer></script>' in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self' allows it
        script = await client.get("/static/forms.js")
        assert script.status_code == 200
        assert 'querySelector(".error-summary")' in script.text and "focus()" in script.text

    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_sign_in_and_invitation_errors_have_a_summary(
        self, client: httpx.AsyncClient, anna: Holder, language: Language
    ) -> None:
        reference = await granted(client)
        await choose(client, language)
        csrf = csrf_of(await client.get("/mandates"))
        invite = await client.post(
            f"/mandates/{reference}/invite", data={"csrf_token": csrf, "email": "jan at"}
        )
        assert invite.status_code == 422
        assert 'class="error-summary"' in invite.text and 'href="#invite_email"' in invite.text
        client.cookies.delete("mr_session")
        empty = await post_form(client, "/sign-in", {"email": ""})
        assert 'class="error-summary"' in empty.text and 'href="#email"' in empty.text


class TestReviewAndMandateFacts:
    """Defect 6: the review step left out relation, e-mail and phone; the mandate page relation and customer
    number; the high-risk warning was repeated and said "end" under "change details"."""

    @pytest.mark.parametrize(
        ("language", "expected", "change_warning", "end_warning"),
        [
            (
                "nl",
                {
                    "Klantnummer": "KL-12345",
                    "Relatie": "kind",
                    "Zijn of haar e-mailadres": "jan@example.nl",
                    "Zijn of haar telefoonnummer": "06 1234 5678",
                },
                "Let op: hiermee kan deze persoon uw contract en uw contactgegevens wijzigen.",
                "Let op: hiermee kan deze persoon uw contract opzeggen.",
            ),
            (
                "en",
                {
                    "Customer number": "KL-12345",
                    "Relation": "child",
                    "Their e-mail address": "jan@example.nl",
                    "Their phone number": "06 1234 5678",
                },
                "Careful: with this, the person can change your contract and your contact details.",
                "Careful: with this, the person can end your contract.",
            ),
        ],
    )
    async def test_every_fact_given_and_one_true_warning_per_risky_option(
        self,
        client: httpx.AsyncClient,
        anna: Holder,
        language: Language,
        expected: dict[str, str],
        change_warning: str,
        end_warning: str,
    ) -> None:
        await choose(client, language)
        csrf = csrf_of(await client.get("/mandates"))
        form = await client.get("/mandates/new")
        assert re.search(rf'id="risk-changes">{re.escape(change_warning)}<', form.text)
        assert re.search(rf'id="risk-termination">{re.escape(end_warning)}<', form.text)
        review = await client.post(
            "/mandates/new", data={**GRANT, "scope": ["information", "changes"], "csrf_token": csrf}
        )
        shown = facts(review.text)
        assert {term: shown.get(term) for term in expected} == expected
        warning = text_of(re.findall(r'<div class="warning">(.*?)</div>', review.text, re.S)[0])
        named = {
            "nl": "Let op: Jan de Vries kan dan uw contract en uw contactgegevens wijzigen.",
            "en": "Careful: Jan de Vries can then change your contract and your contact details.",
        }
        assert warning.startswith(named[language])
        assert "opzeggen" not in warning and "end your contract" not in warning  # not chosen
        reference = await granted(client, scope=["information", "changes"])
        page = await client.get(f"/mandates/{reference}")
        shown = facts(page.text)
        assert {term: shown.get(term) for term in expected} == expected
        assert re.search(rf'id="change-risk-changes">{re.escape(change_warning)}<', page.text)
        assert re.search(rf'id="change-risk-termination">{re.escape(end_warning)}<', page.text)


class TestAccountSignInFooterIcon:
    """Defect 7."""

    @pytest.mark.parametrize(
        ("language", "term", "saved"),
        [
            ("nl", "Taal", "Opgeslagen. Pagina's en e-mails zijn vanaf nu in deze taal."),
            ("en", "Language", "Saved. From now on, pages and e-mails are in this language."),
        ],
    )
    async def test_the_account_says_the_language_once_and_confirms_a_change(
        self, client: httpx.AsyncClient, anna: Holder, language: Language, term: str, saved: str
    ) -> None:
        csrf = csrf_of(await client.get("/account"))
        done = await client.post(
            "/language", data={"csrf_token": csrf, "language": language, "saved": "account"}
        )
        assert done.headers["location"] == "/account?done=language"
        page = await client.get(done.headers["location"])
        assert f"<dt>{term}</dt>" not in page.text
        assert saved in text_of(page.text)
        assert saved not in text_of((await client.get("/account")).text)  # said once, after saving

    @pytest.mark.parametrize(
        ("language", "why"), [("nl", "Log in om deze pagina te zien."), ("en", "Sign in to see this page.")]
    )
    async def test_a_signed_out_visit_says_why_it_asks_to_sign_in(
        self, client: httpx.AsyncClient, language: Language, why: str
    ) -> None:
        client.cookies.set("mr_lang", language)
        sent = await client.get("/activity")
        assert sent.status_code == 303
        page = await client.get(sent.headers["location"])
        assert why in text_of(page.text)
        assert why not in text_of((await client.get("/sign-in")).text)

    async def test_the_tagline_only_on_a_holders_pages(
        self, client: httpx.AsyncClient, ctx: ServiceContext, organisation: Organisation
    ) -> None:
        tagline = "Met het Machtigingenregister bepaalt u zelf wie namens u bedrijven mag bellen."
        for path in ("/ask", "/console/sign-in", "/enrol/not-a-token", "/sign-in"):
            assert tagline not in (await client.get(path)).text, path
        await sign_in(client, ctx, EMAIL)
        for path in ("/mandates", "/activity", "/account"):
            assert tagline in (await client.get(path)).text, path

    async def test_a_favicon_everywhere(self, client: httpx.AsyncClient) -> None:
        page = await client.get("/sign-in")
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
        for path in ("/static/favicon.svg", "/favicon.ico"):
            icon = await client.get(path)
            assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml"), path
            assert icon.text.startswith("<svg")


class TestNarrowScreens:
    """Defect 8 (measured in Chromium in tests/test_browser.py): the rules that make it so."""

    async def test_activity_rows_stack_and_targets_keep_their_size(
        self, client: httpx.AsyncClient, anna: Holder
    ) -> None:
        await granted(client)
        page = (await client.get("/activity")).text
        assert '<table class="activity table-stack">' in page
        assert activity_rows(page)[0] == {
            "Wanneer": activity_rows(page)[0]["Wanneer"],
            "Wat": "Machtiging gegeven",
            "Machtiging": "Jan de Vries, Energie BV",
            "Door": "U",
        }
        css = (await client.get("/static/site.css")).text
        assert ".table-stack td[data-label]::before { content: attr(data-label)" in css
        assert ".choice input { flex: none; min-width: 24px; min-height: 24px; }" in css


class TestTheProxysInvitationPages:
    @pytest.mark.parametrize(
        ("language", "line"),
        [("nl", "Machtiging {reference} bij Energie BV"), ("en", "Mandate {reference} at Energie BV")],
    )
    async def test_they_name_the_mandate_and_organisation_without_the_holders_tagline(
        self, client: httpx.AsyncClient, ctx: ServiceContext, anna: Holder, language: Language, line: str
    ) -> None:
        reference = await granted(client)
        await authenticators.invite(ctx, anna, reference, None)
        rows = await ctx.session.execute(
            select(OutboxMessage).where(col(OutboxMessage.template) == "authenticator_invitation")
        )
        link = re.search(r"https://registry\.test(/enrol/\S+)", rows.scalars().one().body_text or "")
        assert link
        await choose(client, language)
        start = text_of((await client.get(link.group(1))).text)  # a holder signed in here, all the same
        assert line.format(reference=reference) in start
        assert "Mandate Registry lets you" not in start and "bepaalt u zelf" not in start
        secret = text_of((await post_form(client, link.group(1))).text)
        assert line.format(reference=reference) in secret
