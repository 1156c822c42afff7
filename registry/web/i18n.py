"""Dutch first, English second: gettext catalogues read with Babel, the language chosen per request.

Message ids are English; `locale/nl/LC_MESSAGES/messages.po` holds the Dutch. The catalogue is compiled
in memory when the process starts, so no build step is needed and a missing translation shows English.
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from registry.domain.vocabulary import LANGUAGES, Language

LOCALE_DIR = Path(__file__).parent / "locale"
current_language: ContextVar[Language] = ContextVar("current_language", default="nl")


@cache
def translations(language: Language) -> gettext_module.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext_module.NullTranslations()
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def pick(value: str | None) -> Language | None:
    return value if value in LANGUAGES else None
