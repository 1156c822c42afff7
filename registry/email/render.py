"""Render e-mails from templates in the recipient's language and put them in the outbox.

Each message is one Jinja file per language, `templates/<lang>/<name>.jinja`, with the blocks
`subject`, `text` and `html`. Rendering happens when the message is queued, inside the transaction of
the change that causes it, so a template error fails the change instead of losing the message later.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from registry.clock import Clock
from registry.domain.vocabulary import Language, agent_label
from registry.models import OutboxMessage
from registry.repositories import OutboxRepository

TIMEZONE = ZoneInfo("Europe/Amsterdam")
LOCALES = {"nl": "nl_NL", "en": "en_GB"}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("registry.email", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.jinja",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Renderer:
    """Each message has `<lang>/<name>.txt.jinja` (blocks `subject` and `text`) and
    `<lang>/<name>.html.jinja` (extends `base.html.jinja`, autoescaped)."""

    def __init__(self) -> None:
        self.env = _environment()

    def render(self, name: str, language: Language, context: dict[str, Any]) -> RenderedEmail:
        values = {
            **context,
            "lang": language,
            "date": _date_filter(language),
            "datetime": _datetime_filter(language),
            "agent_label": lambda pseudonym: agent_label(pseudonym, language),
        }
        plain = self.env.get_template(f"{language}/{name}.txt.jinja")
        blocks = plain.new_context(values)
        subject = " ".join("".join(plain.blocks["subject"](blocks)).split())
        text = "".join(plain.blocks["text"](blocks)).strip() + "\n"
        html = self.env.get_template(f"{language}/{name}.html.jinja").render(**values, subject=subject)
        return RenderedEmail(subject=subject, text=text, html=html)


def _date_filter(language: Language) -> Any:
    def fmt(value: datetime) -> str:
        return format_date(value.astimezone(TIMEZONE), format="long", locale=LOCALES[language])

    return fmt


def _datetime_filter(language: Language) -> Any:
    def fmt(value: datetime) -> str:
        local = value.astimezone(TIMEZONE)
        pattern = "d MMMM y 'om' HH:mm" if language == "nl" else "d MMMM y 'at' HH:mm"
        return format_datetime(local, pattern, locale=LOCALES[language])

    return fmt


class Mailer:
    """Queues rendered e-mails in the outbox of the current transaction."""

    def __init__(self, renderer: Renderer, sender_address: str, base_url: str) -> None:
        self.renderer = renderer
        self.sender_address = sender_address
        self.base_url = base_url
        self.domain = parseaddr(sender_address)[1].rpartition("@")[2] or "localhost"

    async def queue(
        self,
        session: AsyncSession,
        clock: Clock,
        *,
        to: str,
        language: str,
        template: str,
        context: dict[str, Any],
    ) -> OutboxMessage:
        lang: Language = "en" if language == "en" else "nl"
        rendered = self.renderer.render(template, lang, {**context, "base_url": self.base_url})
        now = clock.now()
        message = OutboxMessage(
            template=template,
            language=lang,
            recipient=to,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            message_id=f"<{uuid.uuid4().hex}@{self.domain}>",
            next_attempt_at=now,
            created_at=now,
        )
        return await OutboxRepository(session).add(message)
