"""Senders behind one small protocol; `build_sender(settings)` picks one."""

from __future__ import annotations

import sys
from email.message import EmailMessage
from typing import Protocol, TextIO

import aiosmtplib

from registry.settings import Settings


class DeliveryError(Exception):
    """The message was not accepted; `permanent` when retrying cannot help (a 5xx answer)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` or raise DeliveryError."""
        ...


class SMTPSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                timeout=s.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            raise DeliveryError(
                f"SMTP refused the recipient: {codes}", permanent=all(500 <= code < 600 for code in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP unavailable: {exc.__class__.__name__}: {exc}") from exc


class ConsoleSender:
    """Prints each message for development. Never use it in production: bodies hold sign-in links."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        self.stream.write(
            f"\n----- e-mail -----\nTo: {message['To']}\nSubject: {message['Subject']}\n\n{text}"
            "------------------\n"
        )
        self.stream.flush()


class InMemorySender:
    """Keeps messages in a list, for tests."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.messages.append(message)


def build_sender(settings: Settings) -> EmailSender:
    if settings.email_backend == "smtp":
        return SMTPSender(settings)
    if settings.email_backend == "memory":
        return InMemorySender()
    return ConsoleSender()
