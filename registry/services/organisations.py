"""Organisations: companies whose helpdesks check mandates."""

from __future__ import annotations

import re
from collections.abc import Sequence

from registry.domain.vocabulary import LANGUAGES
from registry.errors import FieldError, InvalidInput, OrganisationExists, OrganisationNotFound
from registry.models import Organisation
from registry.repositories import OrganisationRepository
from registry.services import ServiceContext, audit
from registry.services.holders import normalise_email

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def _validate(slug: str, display_name: str, language: str) -> list[FieldError]:
    errors = []
    if not SLUG.match(slug):
        errors.append(
            FieldError(
                "slug",
                "Use 1 to 64 lower-case letters, digits and dashes, "
                "starting and ending with a letter or digit, such as energie-bv.",
            )
        )
    if not display_name.strip() or len(display_name.strip()) > 200:
        errors.append(FieldError("display_name", "Give a name of 1 to 200 characters."))
    if language not in LANGUAGES:
        errors.append(FieldError("default_language", f"Use one of: {', '.join(LANGUAGES)}."))
    return errors


async def create(
    ctx: ServiceContext,
    slug: str,
    display_name: str,
    *,
    default_language: str = "nl",
    contact_email: str | None = None,
    actor: str = "operator",
) -> Organisation:
    errors = _validate(slug, display_name, default_language)
    if contact_email:
        try:
            contact_email = normalise_email(contact_email, "contact_email")
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The organisation cannot be created as given.", errors)
    repo = OrganisationRepository(ctx.session)
    if await repo.by_slug(slug):
        raise OrganisationExists(f"An organisation with the slug {slug!r} already exists.")
    organisation = await repo.add(
        Organisation(
            slug=slug,
            display_name=display_name.strip(),
            default_language=default_language,
            contact_email=contact_email or None,
            created_at=ctx.clock.now(),
        )
    )
    await audit.record(
        ctx,
        f"organisation:{slug}",
        "organisation.created",
        actor,
        {"slug": slug, "display_name": organisation.display_name},
        organisation_id=organisation.id,
    )
    return organisation


async def get(ctx: ServiceContext, slug: str) -> Organisation:
    organisation = await OrganisationRepository(ctx.session).by_slug(slug)
    if organisation is None:
        raise OrganisationNotFound(f"There is no organisation with the slug {slug!r}.")
    return organisation


async def list_all(ctx: ServiceContext) -> Sequence[Organisation]:
    return await OrganisationRepository(ctx.session).all()


async def by_id(ctx: ServiceContext, organisation_id: int) -> Organisation:
    organisation = await OrganisationRepository(ctx.session).by_id(organisation_id)
    if organisation is None:
        raise OrganisationNotFound(f"There is no organisation {organisation_id}.")
    return organisation


ORIGIN = re.compile(r"^https://[a-z0-9.-]+(?::[0-9]{1,5})?$")


def check_origins(text: str) -> list[str]:
    """Origins such as `https://crm.example.com`, separated by spaces, commas or new lines."""
    origins = [o.strip().rstrip("/").lower() for o in re.split(r"[\s,]+", text) if o.strip()]
    wrong = [o for o in origins if not ORIGIN.match(o)]
    if wrong:
        raise InvalidInput.for_field(
            "frame_ancestors",
            f"Give whole https origins such as https://crm.example.com; not: {', '.join(wrong)}.",
        )
    return list(dict.fromkeys(origins))


async def update_settings(
    ctx: ServiceContext,
    organisation: Organisation,
    *,
    display_name: str,
    default_language: str,
    frame_ancestors: str,
    actor: str,
) -> Organisation:
    """What an organisation's admin may change about it: its name, language and framing origins."""
    errors = _validate(organisation.slug, display_name, default_language)
    origins: list[str] = []
    try:
        origins = check_origins(frame_ancestors)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput("The settings cannot be saved as given.", errors)
    before = {
        "display_name": organisation.display_name,
        "default_language": organisation.default_language,
        "frame_ancestors": list(organisation.frame_ancestors or []),
    }
    organisation.display_name = display_name.strip()
    organisation.default_language = default_language
    organisation.frame_ancestors = origins
    after = {
        "display_name": organisation.display_name,
        "default_language": default_language,
        "frame_ancestors": origins,
    }
    if after != before:
        await ctx.session.flush()
        await audit.record(
            ctx,
            f"organisation:{organisation.slug}",
            "organisation.settings_changed",
            actor,
            {"before": before, "after": after},
            organisation_id=organisation.id,
        )
    return organisation
