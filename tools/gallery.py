"""The page gallery: a PNG of every page state and the text of every e-mail, in Dutch and English.

    make gallery OUT=gallery            # or: .venv/bin/python tools/gallery.py --out gallery

It starts a real `serve` per language on a fresh SQLite database, seeds the demo world of the page-state
table (tests/support/page_states.py), and writes

    OUT/index.html                          every picture and e-mail on one page, to scroll through
    OUT/<lang>/<desktop|mobile>/<row>.png   each page at 1280x800 or 390x844 (the whole page)
    OUT/<lang>/email/<row>.txt              each e-mail: subject, plain text, and the HTML's text

It uses the test dependencies (Playwright, aiosmtpd) and Debian's Chromium; the service itself needs
neither. `--only TEXT` keeps the rows whose id contains TEXT; `--limit N` the first N pages and e-mails.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone: `tests` is importable

from playwright.async_api import async_playwright

from registry import migrations
from registry.domain.vocabulary import LANGUAGES, Language
from tests.support.page_states import EMAILS, PAGES, PageState
from tests.support.reading import read
from tests.support.served import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS, Served, open_row, served


def file_name(row: PageState) -> str:
    return re.sub(r"[^a-z0-9]+", "-", row.id.lower()).strip("-")


async def pictures(site: Served, rows: list[PageState], out: Path) -> list[str]:
    written = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for row in rows:
                for viewport in VIEWPORTS:
                    target = out / site.language / viewport / f"{file_name(row)}.png"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    context, page = await open_row(browser, site, row, viewport)
                    await page.screenshot(path=str(target), full_page=True)
                    await context.close()
                    written.append(str(target.relative_to(out)))
                print(f"  {site.language} {row.id}", flush=True)
        finally:
            await browser.close()
    return written


def mails(site: Served, rows: list[PageState], out: Path) -> list[str]:
    written = []
    for row in rows:
        assert row.mail is not None
        message = site.world.mail[row.mail]
        target = out / site.language / "email" / f"{file_name(row)}.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            f"To: {message.recipient}\nSubject: {message.subject}\n\n{message.body_text}\n"
            f"--- the HTML part, as read ---\n{read(message.body_html or '').text}\n"
        )
        written.append(str(target.relative_to(out)))
    return written


def index(out: Path, written: list[str]) -> None:
    items = []
    for path in written:
        label = html.escape(path)
        if path.endswith(".png"):
            shown = f'<img src="{label}" alt="{label}">'
        else:
            shown = f"<pre>{html.escape((out / path).read_text())}</pre>"
        items.append(f"<figure><figcaption>{label}</figcaption>{shown}</figure>")
    (out / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Mandate Registry: page gallery</title>'
        "<style>body{font-family:system-ui;margin:1rem}figure{margin:0 0 2rem}img{max-width:100%;"
        "border:1px solid #ccc}pre{white-space:pre-wrap;background:#f5f5f5;padding:1rem}</style>"
        f"<h1>Page gallery</h1>{''.join(items)}</html>"
    )


def run(out: Path, only: str, limit: int | None) -> int:
    pages = [row for row in PAGES if only in row.id][:limit]
    emails = [row for row in EMAILS if only in row.id][:limit]
    written: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for language in LANGUAGES:
            started = time.monotonic()
            print(f"{language}: seeding a fresh database and starting serve", flush=True)
            url = f"sqlite+aiosqlite:///{scratch}/{language}.db"
            migrations.upgrade(url)
            lang: Language = language
            with served(url, lang, Path(scratch) / f"serve-{language}.log") as site:
                written += asyncio.run(pictures(site, pages, out))
                written += mails(site, emails, out)
            print(f"{language}: done in {time.monotonic() - started:.0f} s", flush=True)
    index(out, written)
    print(f"{len(written)} files in {out}; open {out / 'index.html'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="the folder to write into (made if missing)")
    parser.add_argument("--only", default="", help="only rows whose id contains this text")
    parser.add_argument("--limit", type=int, default=None, help="at most this many pages and e-mails")
    arguments = parser.parse_args()
    if not CHROMIUM.exists():
        print("The gallery needs Debian's chromium: apt-get install chromium", file=sys.stderr)
        return 1
    arguments.out.mkdir(parents=True, exist_ok=True)
    return run(arguments.out, arguments.only, arguments.limit)


if __name__ == "__main__":
    sys.exit(main())
