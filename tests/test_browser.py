"""A holder in real Chromium against a real server, with e-mail through a real SMTP server.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it); Playwright drives it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.async_api import Page, async_playwright

from registry.services import ServiceContext, codes, holders, mandates, members
from tests.conftest import Databases
from tests.servers import api_key, in_server_database, serving
from tests.smtp import SMTPServer

pytestmark = pytest.mark.committed
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if os.environ.get("REGISTRY_TEST_DATABASE_URL"):
    pytest.skip(
        "the browser tests do not depend on the engine: they run in the SQLite pass", allow_module_level=True
    )
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser tests; .ci/run installs it")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(
    databases: Databases, smtp: SMTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    log = tmp_path_factory.mktemp("browser") / "serve.log"
    with serving(databases.new_migrated(), smtp.port, log) as env:
        yield env


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            # bypass_csp only lets the test inject axe-core; the pages' own policy is tested elsewhere
            context = await browser.new_context(bypass_csp=True)
            yield await context.new_page()
        finally:
            await browser.close()


async def axe_problems(page: Page) -> list[str]:
    """Serious and critical WCAG 2.1 A/AA violations that axe-core finds on the page."""
    await page.wait_for_load_state("load")  # a click may have started a navigation: audit the new page
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})"
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x)"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def mailed_link(smtp: SMTPServer, to: str) -> str:
    for _ in range(100):
        for message in reversed(smtp.inbox.messages):
            if message["To"] == to:
                body = message.get_body(("plain",))
                assert body is not None
                match = re.search(r"(http://\S+/sign-in/\S+)", body.get_content())
                assert match
                return match.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no e-mail to {to}")


async def check(base: str, key: str, reference: str, code: str) -> str:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{base}/v1/verifications",
            headers={"Authorization": f"Bearer {key}"},
            json={"mandate_reference": reference, "code": code},
        )
    return str(answer.json()["result"])


@pytest.fixture(scope="module")
async def key(server: dict[str, str]) -> str:
    """Energie BV in the directory, with an API key to verify codes."""
    return await api_key(server, ["verify", "mandate_requests:write"])


async def test_sign_in_grant_code_verify_revoke(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    base = server["base"]
    await page.goto(f"{base}/")
    await page.get_by_role("link", name="Inloggen met uw e-mailadres").click()
    await page.get_by_label("E-mailadres").fill("anna@example.nl")
    await page.get_by_role("button", name="Stuur mij een link").click()
    await page.get_by_text("We hebben een link gestuurd naar anna@example.nl").wait_for()
    await page.goto(await mailed_link(smtp, "anna@example.nl"))
    await page.get_by_role("button", name="Inloggen").click()
    await page.get_by_role("heading", name="Uw machtigingen").wait_for()

    await page.get_by_role("link", name="Iemand machtigen").click()
    await page.get_by_label("Organisatie", exact=True).select_option("energie-bv")
    await page.get_by_label("Naam van de persoon die u machtigt").fill("Jan de Vries")
    await page.get_by_label("Deze persoon is mijn").select_option("partner")
    await page.get_by_label("informatie opvragen").check()
    await page.get_by_role("button", name="Volgende: controleren").click()
    await page.get_by_role("button", name="Machtiging bevestigen").click()
    await page.get_by_text("De machtiging werkt nu").wait_for()
    reference = (await page.locator("dl.facts dd").first.inner_text()).strip()

    async def new_code() -> str:
        await page.goto(f"{base}/mandates/{reference}")
        await page.get_by_role("button", name="Belcode maken").click()
        await page.get_by_role("button", name="Kopieer de code").wait_for()  # shown by the page's script
        return (await page.locator(".code").inner_text()).replace(" ", "")

    first = await new_code()
    assert await check(base, key, reference, first) == "verified"
    await page.get_by_role("link", name="Activiteit").click()
    await page.get_by_text("Gecontroleerd: de code klopte").wait_for()
    second = await new_code()
    await page.goto(f"{base}/mandates/{reference}")
    await page.get_by_role("link", name="Machtiging stoppen").click()
    await page.get_by_role("button", name="Ja, stoppen").click()
    await page.get_by_text("De machtiging is gestopt").wait_for()
    assert await check(base, key, reference, second) == "not_verified"
    assert await check(base, key, reference, first) == "not_verified"
    subjects = [m["Subject"] for m in smtp.inbox.messages if m["To"] == "anna@example.nl"]
    for _ in range(50):
        if len(subjects) >= 3:
            break
        await asyncio.sleep(0.1)
        subjects = [m["Subject"] for m in smtp.inbox.messages if m["To"] == "anna@example.nl"]
    assert "U heeft Jan de Vries gemachtigd bij Energie BV" in subjects
    assert "De machtiging voor Jan de Vries is gestopt" in subjects


@pytest.mark.usefixtures("key")
async def test_no_serious_accessibility_problems_on_any_page_in_either_language(
    server: dict[str, str], smtp: SMTPServer, page: Page
) -> None:
    base = server["base"]
    problems: dict[str, list[str]] = {}

    async def audit(name: str) -> None:
        found = await axe_problems(page)
        if found:
            problems[name] = found

    for language, switch in (("nl", None), ("en", "English")):
        await page.context.clear_cookies()
        await page.goto(f"{base}/")
        if switch:
            await page.get_by_role("button", name=switch).click()
        await audit(f"{language} home")
        await page.goto(f"{base}/sign-in")
        await page.locator("#email").fill("not an address")
        await page.locator("form[action='/sign-in'] button").click()
        await audit(f"{language} sign-in with an error")
        email = f"a11y-{language}@example.nl"
        await page.locator("#email").fill(email)
        await page.locator("form[action='/sign-in'] button").click()
        await audit(f"{language} link sent")
        await page.goto(await mailed_link(smtp, email))
        await audit(f"{language} sign-in confirmation")
        async with page.expect_navigation():
            await page.locator("main form button").click()
        await page.locator("h1").wait_for()
        await audit(f"{language} overview")
        await page.goto(f"{base}/mandates/new")
        await page.locator("form[action='/mandates/new'] button[type=submit]").click()
        await audit(f"{language} grant with errors")
        await page.locator("#organisation").select_option("energie-bv")
        await page.locator("#proxy_name").fill("Jan de Vries")
        await page.locator("#proxy_relation").select_option("partner")
        await page.locator("#scope-termination").check()
        await page.locator("form[action='/mandates/new'] button[type=submit]").click()
        await audit(f"{language} review")
        await page.locator("form[action='/mandates/new/confirm'] button:not([name])").click()
        await audit(f"{language} mandate")
        reference = (await page.locator("dl.facts dd").first.inner_text()).strip()
        await page.locator(f"form[action='/mandates/{reference}/code'] button").click()
        await audit(f"{language} call code")
        await page.goto(f"{base}/mandates/{reference}/revoke")
        await audit(f"{language} revoke")
        await page.goto(f"{base}/mandates/{reference}")
        await page.locator("#invite_email").fill(f"proxy-{language}@example.nl")
        await page.locator(f"form[action='/mandates/{reference}/invite'] button").click()
        await page.goto(await mailed(smtp, f"proxy-{language}@example.nl", r"(http://\S+/enrol/\S+)"))
        await audit(f"{language} enrolment start")
        await page.locator("main form button").click()
        await audit(f"{language} enrolment with QR code")
        await page.goto(f"{base}/activity")
        await audit(f"{language} activity")
        await page.goto(f"{base}/account")
        await audit(f"{language} account")
        await page.goto(f"{base}/account/delete")
        await audit(f"{language} account deletion")
        await page.goto(f"{base}/mandates/M-3479-BCDF-7")
        await audit(f"{language} not found")
        await page.goto(f"{base}/ask")
        await page.locator("form[action='/ask'] button[type=submit]").click()
        await audit(f"{language} ask with errors")
        await page.locator("#organisation").select_option("energie-bv")
        await page.locator("#holder_email").fill(f"ask-{language}@example.nl")
        await page.locator("#proxy_name").fill("Jan de Vries")
        await page.locator("#proxy_relation").select_option("child")
        await page.locator("#scope-information").check()
        await page.locator("form[action='/ask'] button[type=submit]").click()
        await audit(f"{language} ask sent")
        await page.goto(await mailed(smtp, f"ask-{language}@example.nl", r"(http://\S+/confirm/\S+)"))
        await audit(f"{language} oral mandate request")
        await page.locator("#scope-information").uncheck()
        await page.locator("button[value=confirm]").click()
        await audit(f"{language} oral mandate request with an error")
        await page.locator("#scope-information").check()
        await page.locator("button[value=confirm]").click()
        await audit(f"{language} oral mandate confirmed")
        await page.goto(f"{base}/confirm/not-a-token")
        await audit(f"{language} broken confirmation link")
        await page.goto(f"{base}/declined")
        await audit(f"{language} declined")
    assert problems == {}


async def mailed(smtp: SMTPServer, to: str, pattern: str, since: int = 0) -> str:
    """The newest e-mail to `to` matching `pattern`, among those received after the first `since`."""
    for _ in range(100):
        for message in reversed(smtp.inbox.messages[since:]):
            body = message.get_body(("plain",))
            if message["To"] == to and body is not None and (found := re.search(pattern, body.get_content())):
                return found.group(1)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no e-mail to {to} matching {pattern}")


async def test_invite_a_proxy_who_enrols_an_authenticator_and_verifies(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    base = server["base"]
    await page.goto(f"{base}/sign-in")
    await page.locator("#email").fill("els@example.nl")
    await page.locator("form[action='/sign-in'] button").click()
    await page.goto(await mailed_link(smtp, "els@example.nl"))
    await page.locator("main form button").click()
    await page.goto(f"{base}/mandates/new")
    await page.get_by_label("Organisatie", exact=True).select_option("energie-bv")
    await page.get_by_label("Naam van de persoon die u machtigt").fill("Piet Jansen")
    await page.get_by_label("Deze persoon is mijn").select_option("child")
    await page.get_by_label("afspraken maken en verzetten").check()
    await page.get_by_role("button", name="Volgende: controleren").click()
    await page.get_by_role("button", name="Machtiging bevestigen").click()
    reference = (await page.locator("dl.facts dd").first.inner_text()).strip()
    await page.get_by_label("Zijn of haar e-mailadres").fill("piet@example.nl")
    await page.get_by_role("button", name="Uitnodiging sturen").click()
    await page.get_by_text("De uitnodiging is verstuurd").wait_for()

    # The proxy, in a browser of their own: no account, only the e-mailed link.
    invitation = await mailed(smtp, "piet@example.nl", r"(http://\S+/enrol/\S+)")
    await page.context.clear_cookies()
    await page.goto(invitation)
    await page.get_by_role("button", name="Beginnen").click()
    assert await page.locator(".qr svg").count() == 1
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    totp = pyotp.TOTP(secret)
    await page.get_by_label("De 6 cijfers die de app nu toont").fill(
        "000000" if totp.now() != "000000" else "111111"
    )
    await page.get_by_role("button", name="Afronden").click()
    await page.locator("#code-error", has_text="Die code klopt niet").wait_for()  # and in the summary
    await page.get_by_label("De 6 cijfers die de app nu toont").fill(totp.now())
    await page.get_by_role("button", name="Afronden").click()
    await page.get_by_role("heading", name="De app is klaar").wait_for()

    code = totp.at(int(time.time()) + 30)  # the next step: inside T-1..T+1, later than the one just used
    assert await check(base, key, reference, code) == "verified"
    assert await check(base, key, reference, code) == "not_verified"


async def request_by_api(base: str, key: str, email: str, scope: list[str]) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        created = await client.post(
            "/v1/mandate-requests",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "customer_reference": "KL-" + email.split("@")[0],
                "customer_email": email,
                "proxy": {"name": "Jan de Vries", "relation": "partner"},
                "scope": scope,
            },
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


async def request_status(base: str, key: str, request_id: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base) as client:
        answer = await client.get(
            f"/v1/mandate-requests/{request_id}", headers={"Authorization": f"Bearer {key}"}
        )
        body: dict[str, object] = answer.json()
        return body


async def test_holder_confirms_an_oral_mandate_with_a_narrower_scope(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    base = server["base"]
    request_id = await request_by_api(base, key, "oma@example.nl", ["information", "billing", "termination"])
    await page.goto(await mailed(smtp, "oma@example.nl", r"(http://\S+/confirm/\S+)"))
    await page.get_by_role("heading", name="Mag Jan de Vries namens u handelen bij Energie BV?").wait_for()
    await page.get_by_label("het contract opzeggen").uncheck()
    await page.get_by_role("button", name="Machtiging bevestigen").click()
    await page.get_by_role("heading", name="Machtiging bevestigd").wait_for()
    assert "/confirm/" not in page.url  # the token left the address bar
    await page.get_by_role("button", name="Kopieer de code").wait_for()
    code = (await page.locator(".code").inner_text()).replace(" ", "")
    status = await request_status(base, key, request_id)
    assert (status["status"], status["scope"]) == ("confirmed", ["information", "billing"])
    reference = str(status["mandate_reference"])
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{base}/v1/verifications",
            headers={"Authorization": f"Bearer {key}"},
            json={"mandate_reference": reference, "code": code, "action": "termination"},
        )
    assert answer.json()["result"] == "verified"
    assert answer.json()["binding"] == "organisation_confirmed"
    assert answer.json()["action_permitted"] is False
    await page.get_by_role("link", name="Activiteit").click()
    await page.get_by_text("Mondelinge machtiging bevestigd").wait_for()


async def test_holder_declines_an_oral_mandate_this_was_not_me(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    base = server["base"]
    request_id = await request_by_api(base, key, "opa@example.nl", ["information"])
    await page.goto(await mailed(smtp, "opa@example.nl", r"(http://\S+/confirm/\S+)"))
    await page.get_by_role("button", name="Dit was ik niet").click()
    await page.get_by_role("heading", name="Jan de Vries mag niet namens u handelen").wait_for()
    await page.get_by_text("U heeft laten weten dat u Jan de Vries nooit toestemming").wait_for()
    assert "/confirm/" not in page.url
    status = await request_status(base, key, request_id)
    assert (status["status"], status["decline_reason"]) == ("declined", "not_me")


async def console_sign_in(
    page: Page, smtp: SMTPServer, base: str, email: str, audit: Callable[[str], Awaitable[None]] | None = None
) -> None:
    await page.goto(f"{base}/console/sign-in")
    await page.locator("#email").fill(email)
    before = len(smtp.inbox.messages)
    async with page.expect_navigation():
        await page.locator("#email").press("Enter")
    if audit:
        await audit("console link sent")
    await page.goto(await mailed(smtp, email, r"(http://\S+/console/sign-in/\S+)", since=before))
    if audit:
        await audit("console sign-in confirmation")
    async with page.expect_navigation():
        await page.locator("main form button[type=submit]").press("Enter")
    await page.locator("#subject").wait_for()


async def test_console_admin_invites_an_agent_who_checks_codes_with_the_keyboard_and_follows_an_oral_mandate(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    base = server["base"]

    async def setup(ctx: ServiceContext) -> tuple[str, str]:
        await members.invite(ctx, "energie-bv", "beheer@energie.example", "admin")
        holder = await holders.get_or_create_verified(ctx, "klant@example.nl")
        draft = mandates.Draft(
            "energie-bv", mandates.Proxy("Piet Klaassen", "child"), ["information", "billing"]
        )
        mandate = await mandates.grant(ctx, holder, draft)
        return mandate.reference, (await codes.issue(ctx, mandate)).code

    reference, code = await in_server_database(server, setup)
    await console_sign_in(page, smtp, base, "beheer@energie.example")
    await page.locator("a[href='/console/admin/members']").click()
    await page.locator("#email").fill("medewerker@energie.example")
    await page.locator("form[action='/console/admin/members'] button[type=submit]").click()
    await page.locator(".notice").wait_for()
    await mailed(smtp, "medewerker@energie.example", r"(http://\S+/console/sign-in)")

    await page.context.clear_cookies()
    await console_sign_in(page, smtp, base, "medewerker@energie.example")
    # Only the keyboard from here: the reference field has the focus; Tab moves on, Enter checks.
    await page.keyboard.type(reference.lower().replace("-", " "))
    await page.keyboard.press("Tab")
    await page.keyboard.type(f"{code[:4]} {code[4:]}")
    await page.keyboard.press("Enter")
    answer = page.locator("#answer")
    await answer.wait_for()
    text = await answer.inner_text()
    assert "Piet Klaassen" in text
    assert "informatie opvragen" in text and "rekeningen en betalingsregelingen" in text
    assert await page.evaluate("document.activeElement.id") == "answer-title"  # its headline has the focus
    await page.locator("#subject").fill(reference)  # the next check starts empty
    await page.locator("#code").fill(code)  # used once already
    await page.locator("#code").press("Enter")
    await page.locator(".console-answer--not_verified").wait_for()

    await page.locator("a[href='/console/requests/new']").click()
    await page.locator("#customer_reference").fill("KL-4040")
    await page.locator("#customer_email").fill("moeder@example.nl")
    await page.locator("#proxy_name").fill("Sanne Bakker")
    await page.locator("#proxy_relation").select_option("child")
    await page.locator("#scope-billing").check()
    await page.locator("form[action='/console/requests/new'] button[type=submit]").click()
    status = page.locator("#request-status .answer-title")
    await page.locator("#request-status[class*=pending]").wait_for()
    assert await status.get_attribute("data-status") == "pending"

    holder_context = await page.context.browser.new_context()  # type: ignore[union-attr]
    holder_page = await holder_context.new_page()
    await holder_page.goto(await mailed(smtp, "moeder@example.nl", r"(http://\S+/confirm/\S+)"))
    await holder_page.get_by_role("button", name="Machtiging bevestigen").click()
    await holder_page.get_by_role("heading", name="Machtiging bevestigd").wait_for()
    await holder_context.close()
    # No reload: the console heard it through its event stream.
    await page.locator("#request-status .answer-title[data-status=confirmed]").wait_for(timeout=5000)
    assert re.search(r"M-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]", await status.inner_text())


async def test_no_serious_accessibility_problems_on_console_pages_in_either_language(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    base = server["base"]

    async def setup(ctx: ServiceContext) -> list[tuple[str, str]]:
        await members.invite(ctx, "energie-bv", "a11y-admin@energie.example", "admin")
        holder = await holders.get_or_create_verified(ctx, "a11y-klant@example.nl")
        made = []
        for _ in range(2):
            draft = mandates.Draft("energie-bv", mandates.Proxy("Jan", "partner"), ["information"])
            mandate = await mandates.grant(ctx, holder, draft)
            made.append((mandate.reference, (await codes.issue(ctx, mandate)).code))
        return made

    valid = await in_server_database(server, setup)
    problems: dict[str, list[str]] = {}

    async def audit(name: str) -> None:
        found = await axe_problems(page)
        if found:
            problems[name] = found

    for language, (reference, code) in zip(("nl", "en"), valid, strict=True):
        await page.context.clear_cookies()
        await page.context.add_cookies([{"name": "mr_lang", "value": language, "url": base}])
        await page.goto(f"{base}/console/sign-in")
        await audit(f"{language} console sign-in")

        async def audit_in_language(name: str, language: str = language) -> None:
            await audit(f"{language} {name}")

        await console_sign_in(page, smtp, base, "a11y-admin@energie.example", audit_in_language)
        await audit(f"{language} check a code")
        await page.locator("#subject").fill(reference)
        await page.locator("#code").fill(code)
        await page.locator("#action").select_option("termination")
        await page.locator("form.check-form button[type=submit]").click()
        await page.locator("#answer").wait_for()
        await audit(f"{language} verified")
        await page.locator("form.check-form button[type=submit]").click()
        await audit(f"{language} check with errors")
        await page.locator("#subject").fill("M-3479-BCDF-7")
        await page.locator("#code").fill("12345678")
        await page.locator("form.check-form button[type=submit]").click()
        await audit(f"{language} not verified")
        await page.goto(f"{base}/console/requests/new")
        await page.locator("form[action='/console/requests/new'] button[type=submit]").click()
        await audit(f"{language} oral mandate with errors")
        await page.locator("#customer_reference").fill("KL-1")
        await page.locator("#customer_email").fill(f"a11y-{language}@example.nl")
        await page.locator("#proxy_name").fill("Jan")
        await page.locator("#proxy_relation").select_option("partner")
        await page.locator("#scope-information").check()
        await page.locator("form[action='/console/requests/new'] button[type=submit]").click()
        await audit(f"{language} oral mandate status")
        await page.goto(f"{base}/console/history")
        await audit(f"{language} history")
        await page.goto(f"{base}/console/admin/members")
        await audit(f"{language} members")
        await page.goto(f"{base}/console/admin/keys")
        await page.locator("#name").fill(f"CRM {language}")
        await page.locator("input[name=scopes]").first.check()
        await page.locator("form[action='/console/admin/keys'] button[type=submit]").click()
        await audit(f"{language} API keys with a new key")
        await page.goto(f"{base}/console/admin/alerts")
        await audit(f"{language} alerts")
        await page.goto(f"{base}/console/admin/settings")
        await page.locator("#frame_ancestors").fill("http://not-https.example")
        await page.locator("form[action='/console/admin/settings'] button[type=submit]").click()
        await audit(f"{language} settings with an error")
    assert problems == {}


async def test_a_holder_on_a_phone_no_sideways_scroll_big_targets_focus_on_errors(
    server: dict[str, str], smtp: SMTPServer, page: Page, key: str
) -> None:
    """Issue 17: at 390x844 no holder page is wider than the screen (the activity rows stack), the
    high-risk checkboxes keep 24x24 px when their label wraps, and a failed change focuses its summary."""
    base = server["base"]
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{base}/sign-in")
    await page.locator("#email").fill("mobile@example.nl")
    await page.locator("form[action='/sign-in'] button").click()
    await page.goto(await mailed_link(smtp, "mobile@example.nl"))
    await page.locator("main form button").click()
    await page.goto(f"{base}/mandates/new")
    for action in ("changes", "termination"):
        box = await page.locator(f"#scope-{action}").bounding_box()
        assert box is not None and box["width"] >= 24 and box["height"] >= 24, (action, box)
    await page.locator("#organisation").select_option("energie-bv")
    await page.locator("#proxy_name").fill("Jan de Vries")
    await page.locator("#proxy_relation").select_option("partner")
    await page.locator("#scope-information").check()
    await page.locator("form[action='/mandates/new'] button[type=submit]").click()
    await page.locator("form[action='/mandates/new/confirm'] button:not([name])").click()
    reference = (await page.locator("dl.facts dd").first.inner_text()).strip()
    await page.locator(f"form[action='/mandates/{reference}/code'] button").click()
    code = (await page.locator(".code").inner_text()).replace(" ", "")
    assert await check(base, key, reference, code) == "verified"
    for path in ("/mandates", f"/mandates/{reference}", "/activity", "/account"):
        await page.goto(base + path)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390, path
    await page.goto(f"{base}/mandates/{reference}")
    await page.locator("#valid_until-year").fill("2040")
    await page.locator(f"form[action='/mandates/{reference}/change'] button").click()
    await page.locator(".error-summary").wait_for()
    assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
