"""Content tests: every row of the page-state table, from real data, in Dutch and English, says what a
person must read there (the scope item by item, the outcome, the names and dates), and nothing that
should say something is blank.

One world is seeded per language in a database of its own (committed, as a real server's), and every
row is opened in process against it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from jinja2 import Template

import registry.email
import registry.web
from registry.app import create_app
from registry.clock import FrozenClock
from registry.db.engine import session_scope
from registry.domain.vocabulary import LANGUAGES, Language
from registry.email.senders import InMemorySender
from registry.web import deps
from registry.wiring import Wiring
from registry.worker.webhook_delivery import WebhookWorker
from tests.conftest import NOW, Databases, make_settings
from tests.support.page_states import ROWS, PageState, is_partial
from tests.support.reading import Reading, read
from tests.support.site import cookies_for, visit
from tests.support.world import World, seed
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.committed
BASE = "https://registry.test"


@dataclass
class Site:
    app: FastAPI
    world: World
    wiring: Wiring
    language: Language


@pytest.fixture(scope="module")
def rendered() -> Iterator[list[str]]:
    """The names of the page templates rendered, in order (to tell which template a row showed)."""
    names: list[str] = []
    original = deps.templates.get_template

    def recording(name: str) -> Template:
        names.append(name)
        return original(name)

    deps.templates.get_template = recording  # type: ignore[method-assign]
    yield names
    deps.templates.get_template = original  # type: ignore[method-assign]


@pytest.fixture(scope="module", params=LANGUAGES)
async def site(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Site]:
    language: Language = request.param
    settings = make_settings(databases.new_migrated())
    clock = FrozenClock(NOW)
    wiring = Wiring.build(settings, clock=clock, sender=InMemorySender())
    async with session_scope(wiring.session_factory) as session:
        world = await seed(wiring.context(session), clock, language)
    await WebhookWorker(wiring).run_once()  # its delivery to a closed port fails: a failed delivery to show
    yield Site(create_app(settings, wiring=wiring), world, wiring, language)
    await wiring.engine.dispose()


async def open_page(site: Site, row: PageState) -> httpx.Response:
    values: dict[str, str] = {}
    if row.prepare is not None:
        async with session_scope(site.wiring.session_factory) as session:
            values = await row.prepare(site.wiring.context(session), site.world)
    where = visit(row, site.world, values, site.wiring.clock.now())
    transport = httpx.ASGITransport(app=site.app, raise_app_exceptions=False)
    cookies = cookies_for(row, site.world, site.language)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, cookies=cookies) as client:
        page = await client.get(where.path, follow_redirects=True)
        for target, fields in where.posts:
            form = {**fields(page.text), "csrf_token": csrf_of(page)}
            page = await client.post(target, data=form, follow_redirects=True)
    return page


def assert_reads(reading: Reading, row: PageState, site: Site) -> None:
    missing = [fact for fact in row.facts(site.world, site.language) if not reading.says(fact)]
    assert missing == [], f"{row.id} ({site.language}) does not say {missing}:\n{reading.text}"
    assert reading.blanks == [], f"{row.id} ({site.language}) has blank {reading.blanks}"
    assert "None" not in reading.text.split(), f"{row.id} ({site.language}) shows 'None'"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
async def test_each_page_and_email_says_what_it_must(site: Site, row: PageState, rendered: list[str]) -> None:
    if row.mail is not None:
        message = site.world.mail[row.mail]
        assert message.language == site.language
        assert message.subject.strip()
        for body in (message.body_text or "", message.body_html or ""):
            assert_reads(
                read(body) if body.lstrip().startswith("<") else Reading(" ".join(body.split()), ""),
                row,
                site,
            )
        return
    rendered.clear()
    page = await open_page(site, row)
    assert page.status_code == row.status, f"{row.id}: {page.status_code}\n{page.text[:2000]}"
    assert row.template in rendered, f"{row.id} rendered {rendered}"
    reading = read(page.text)
    assert_reads(reading, row, site)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
    assert h1 is not None, f"{row.id} has no h1"


def _templates(folder: Path, pattern: str) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.glob(pattern) if not is_partial(path.name)}


def test_every_template_has_a_row() -> None:
    pages = _templates(Path(registry.web.__file__).parent / "templates", "**/*.html")
    mails = {
        name.split(".")[0]
        for name in _templates(Path(registry.email.__file__).parent / "templates" / "nl", "*.jinja")
    }
    covered = {row.template for row in ROWS}
    assert sorted(pages - covered) == [], "pages without a row in tests/support/page_states.py"
    assert sorted({f"email/{m}" for m in mails} - covered) == [], "e-mails without a row"
