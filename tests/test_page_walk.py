"""The browser walk: every page row of the page-state table in Debian's Chromium, at 1280x800 and
390x844, in Dutch and English, against a real `serve` on a seeded world.

On each: the page is no wider than the viewport; every checkbox, radio button and button is at least
24x24 CSS px (WCAG 2.2 target size); after a failed submit, focus is on the error summary; axe-core finds
no serious or critical WCAG 2.1 A/AA violation. What the pages say is asserted by the content tests
(tests/web/test_page_states.py); this walk is about how they behave in a browser. It is engine-independent,
so it runs once, in the SQLite pass.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, async_playwright

from registry.domain.vocabulary import LANGUAGES, Language
from tests.conftest import TEST_DATABASE_URL, Databases
from tests.support.page_states import PAGES, PageState
from tests.support.served import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS, Served, open_row, served
from tests.test_browser import axe_problems

pytestmark = pytest.mark.committed

if TEST_DATABASE_URL:
    pytest.skip(
        "the browser walk does not depend on the engine: it runs in the SQLite pass", allow_module_level=True
    )
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium for the browser walk; .ci/run installs it")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

MEASURE = """
() => {
  const small = [];
  for (const el of document.querySelectorAll(
      'input[type=checkbox], input[type=radio], button, input[type=submit], select')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    if (box.width < 24 || box.height < 24)
      small.push(`${el.tagName.toLowerCase()}[${el.name || el.type}] ` +
                 `"${(el.innerText || el.value || '').trim().slice(0, 30)}" ` +
                 `${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  const active = document.activeElement;
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    small,
    focusInSummary: !!(active && active.closest('.error-summary')),
    hasSummary: !!document.querySelector('.error-summary'),
  };
}
"""


@pytest.fixture(scope="module", params=LANGUAGES)
def site(
    request: pytest.FixtureRequest, databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    language: Language = request.param
    log = tmp_path_factory.mktemp(f"walk-{language}") / "serve.log"
    with served(databases.new_migrated(), language, log) as each:
        yield each


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


def visit_path(row: PageState, site: Served) -> str:
    assert row.path is not None
    return row.path(site.world, {"token": ""})


async def measure(page: Page) -> dict[str, object]:
    result: dict[str, object] = await page.evaluate(MEASURE)
    return result


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("row", PAGES, ids=lambda row: row.id)
async def test_each_page_fits_and_works(
    site: Served, browser: Browser, row: PageState, viewport: str
) -> None:
    context, page = await open_row(browser, site, row, viewport)
    try:
        found = await measure(page)
        problems = []
        if int(found["scrollWidth"]) > int(found["innerWidth"]):  # type: ignore[call-overload]
            problems.append(f"wider than the viewport: {found['scrollWidth']} > {found['innerWidth']} px")
        if found["small"]:
            problems.append(f"targets under 24x24 px: {found['small']}")
        if row.failed_form and not found["focusInSummary"]:
            problems.append(f"focus is not on the error summary (summary shown: {found['hasSummary']})")
        landed = urlsplit(page.url).path
        if landed.endswith("/sign-in") and not visit_path(row, site).endswith("/sign-in"):
            problems.append(f"sent to {landed} instead of the page")
        if viewport == "desktop":  # the same markup at both widths: axe once per page and language
            problems.extend(await axe_problems(page))
        assert problems == [], f"{row.id} ({site.language}, {viewport}) at {page.url}: {problems}"
    finally:
        await context.close()
