"""The page-state world behind a real `serve`, opened in Chromium: for the browser walk and the gallery.

One server per language, each on a database of its own seeded with `tests.support.world`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page

from registry.clock import FrozenClock
from registry.db.engine import session_scope
from registry.domain.vocabulary import Language
from registry.wiring import Wiring
from tests.conftest import make_settings
from tests.servers import serving
from tests.smtp import SMTPServer
from tests.support.page_states import PageState
from tests.support.site import FILL_AND_SUBMIT, cookies_for, visit
from tests.support.world import World, real_now, seed

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "mobile": {"width": 390, "height": 844}}


@dataclass
class Served:
    env: dict[str, str]
    world: World
    language: Language

    @property
    def base(self) -> str:
        return self.env["base"]

    def wiring(self) -> Wiring:
        settings = make_settings(
            self.env["REGISTRY_DATABASE_URL"],
            hmac_key=self.env["REGISTRY_HMAC_KEY"],
            encryption_key=self.env["REGISTRY_ENCRYPTION_KEY"],
            base_url=self.env["base"],
        )
        return Wiring.build(settings, clock=FrozenClock(real_now()))


@contextmanager
def served(database_url: str, language: Language, log: Path) -> Iterator[Served]:
    """A `serve` on `database_url` (migrated, empty), e-mailing to a loopback SMTP server, seeded."""
    smtp = SMTPServer().start()
    try:
        with serving(database_url, smtp.port, log) as env:
            site = Served(env, World(language, real_now()), language)
            site.world = asyncio.run(_seed(site))
            yield site
    finally:
        smtp.stop()


async def _seed(site: Served) -> World:
    wiring = site.wiring()
    assert isinstance(wiring.clock, FrozenClock)
    try:
        async with session_scope(wiring.session_factory) as session:
            return await seed(wiring.context(session), wiring.clock, site.language)
    finally:
        await wiring.engine.dispose()


async def prepared(site: Served, row: PageState) -> dict[str, str]:
    if row.prepare is None:
        return {}
    wiring = site.wiring()
    try:
        async with session_scope(wiring.session_factory) as session:
            return await row.prepare(wiring.context(session), site.world)
    finally:
        await wiring.engine.dispose()


async def open_row(
    browser: Browser, site: Served, row: PageState, viewport: str
) -> tuple[BrowserContext, Page]:
    """A fresh browser context (cookies of whoever looks), on the row's page, its form sent if it has one."""
    context = await browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)  # type: ignore[arg-type]
    cookies = cookies_for(row, site.world, site.language)
    await context.add_cookies([{"name": k, "value": v, "url": site.base} for k, v in cookies.items()])
    page = await context.new_page()
    where = visit(row, site.world, await prepared(site, row), real_now())
    await page.goto(site.base + where.path)
    for target, fields in where.posts:
        form = fields(await page.content())
        async with page.expect_navigation():
            await page.evaluate(FILL_AND_SUBMIT, [target, form])
    await page.wait_for_load_state("load")
    return context, page
