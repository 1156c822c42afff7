"""Every sentence on the pages has its Dutch translation (English is the message id)."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import registry.web
from registry.web.console import KEY_MESSAGES, REQUEST_MESSAGES, SETTINGS_MESSAGES, WEBHOOK_MESSAGES
from registry.web.errors import PAGES
from registry.web.mandates import FIELD_MESSAGES
from registry.web.requests import ASK_MESSAGES, CONFIRM_MESSAGES

WEB = Path(registry.web.__file__).parent


def _page_messages() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(WEB),
        method_map=[("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    # Messages chosen at run time: the field messages, and the texts of the error pages.
    found.update(FIELD_MESSAGES.values())
    found.update(ASK_MESSAGES.values())
    found.update(CONFIRM_MESSAGES.values())
    for messages in (REQUEST_MESSAGES, KEY_MESSAGES, SETTINGS_MESSAGES, WEBHOOK_MESSAGES):
        found.update(messages.values())
    for heading, message in PAGES.values():  # the error page of each status
        found.update((heading, message))
    tree = ast.parse((WEB / "errors.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_page":
            found.update(
                a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return found


def test_every_message_has_dutch() -> None:
    with (WEB / "locale" / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="nl")
    translated = {m.id for m in catalogue if m.id and m.string}
    messages = _page_messages()
    assert len(messages) > 80
    missing = sorted(messages - translated)
    assert missing == [], f"add these to messages.po: {missing}"
