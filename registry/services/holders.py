"""Holders: consumers who grant mandates. An address becomes a holder once its mailbox is proven."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from registry.domain.vocabulary import LANGUAGES
from registry.errors import InvalidInput
from registry.models import Holder
from registry.repositories import HolderRepository
from registry.services import ServiceContext, audit


def normalise_email(address: str, field: str = "email") -> str:
    """The address as stored and compared: validated and lower-cased. Mail systems treat the local part
    case-insensitively in practice, and one person must not become two holders by a capital letter."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput.for_field(field, f"This is not a valid e-mail address: {exc}") from exc
    return result.normalized.lower()


async def get_or_create_verified(ctx: ServiceContext, email: str, language: str = "nl") -> Holder:
    """The holder for a mailbox that was just proven (a clicked link), created on first sight."""
    address = normalise_email(email)
    repo = HolderRepository(ctx.session)
    now = ctx.clock.now()
    holder = await repo.by_email(address)
    if holder is None:
        language = language if language in LANGUAGES else "nl"
        # Two first sign-ins of one address at once: the second gets the first's row, never a 500.
        holder, created = await repo.add_if_new(address, language, now)
        if created:
            await audit.record(
                ctx, f"holder:{holder.id}", "holder.created", f"holder:{holder.id}", holder_id=holder.id
            )
    if holder.email_verified_at is None:
        holder.email_verified_at = now
    return holder


async def find(ctx: ServiceContext, email: str) -> Holder | None:
    return await HolderRepository(ctx.session).by_email(email)


async def set_language(ctx: ServiceContext, holder: Holder, language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput.for_field("language", f"Use one of: {', '.join(LANGUAGES)}.")
    holder.language = language
    await ctx.session.flush()
