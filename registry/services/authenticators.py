"""Proxy authenticators: a TOTP secret per mandate, encrypted at rest, active after its first good code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from registry.crypto import otp
from registry.crypto.security import decrypt, encrypt, first_found, keyed_hash, new_token
from registry.domain.vocabulary import EffectiveStatus, Language
from registry.errors import Conflict, InvalidInput, MandateNotActive
from registry.models import Authenticator, AuthenticatorInvitation, Holder, Mandate
from registry.repositories import AuthenticatorRepository, InvitationRepository, OrganisationRepository
from registry.services import ServiceContext, audit, mandates, notifications
from registry.services.holders import normalise_email
from registry.services.mandates import effective_status

PENDING, ACTIVE = "pending", "active"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def _secret(ctx: ServiceContext, authenticator: Authenticator, mandate: Mandate) -> str:
    return decrypt(ctx.keys, authenticator.secret_encrypted, mandate.reference.encode()).decode()


async def enrol(ctx: ServiceContext, mandate: Mandate) -> Enrolment:
    """Start (or restart) enrolment: a fresh secret that works only after `activate`."""
    now = ctx.clock.now()
    if effective_status(mandate, now) not in (EffectiveStatus.active, EffectiveStatus.scheduled):
        raise MandateNotActive("An authenticator can only be set up for a mandate that has not ended.")
    assert mandate.id is not None
    repo = AuthenticatorRepository(ctx.session)
    existing = await repo.of_mandate(mandate.id)
    if existing is not None and existing.status == ACTIVE:
        raise Conflict("This mandate already has an authenticator; remove it before setting up another.")
    if existing is not None:
        await repo.remove(existing)
    secret = otp.new_totp_secret()
    await repo.add(
        Authenticator(
            mandate_id=mandate.id,
            secret_encrypted=encrypt(ctx.keys, secret.encode(), mandate.reference.encode()),
            status=PENDING,
            created_at=now,
        )
    )
    organisation = await OrganisationRepository(ctx.session).by_id(mandate.organisation_id)
    account = f"{organisation.display_name if organisation else ''} {mandate.reference}".strip()
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        "authenticator.enrolment_started",
        "holder",
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )
    return Enrolment(secret, otp.provisioning_uri(secret, account))


async def activate(ctx: ServiceContext, mandate: Mandate, code: str) -> None:
    """Activate after the first correct code; that step is then used."""
    assert mandate.id is not None
    repo = AuthenticatorRepository(ctx.session)
    authenticator = await repo.of_mandate(mandate.id)
    if authenticator is None or authenticator.status != PENDING:
        raise Conflict("There is no authenticator waiting for its first code: start the set-up again.")
    step = otp.matching_step(_secret(ctx, authenticator, mandate), otp.normalise_code(code), ctx.clock.now())
    if step is None or len(code.replace(" ", "")) != otp.TOTP_DIGITS:
        raise InvalidInput.for_field(
            "code",
            "That code is not right. Check the clock of the phone and type the 6 digits the app shows now.",
        )
    assert authenticator.id is not None
    if not await repo.accept_step(authenticator.id, step):
        raise Conflict("That code was used already: wait for the next one the app shows.")
    authenticator.status, authenticator.activated_at = ACTIVE, ctx.clock.now()
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        "authenticator.activated",
        "proxy",
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )


INVITATION_LIFETIME = timedelta(days=7)


async def invite(ctx: ServiceContext, holder: Holder, reference: str, email: str | None) -> None:
    """E-mail the proxy a link to set up an authenticator app for this mandate (valid for 7 days)."""
    view = await mandates.get_for_holder(ctx, holder, reference)
    mandate = view.mandate
    if view.status not in (EffectiveStatus.active, EffectiveStatus.scheduled):
        raise MandateNotActive("Only a mandate that has not ended can get an authenticator.")
    address = normalise_email(email or mandate.proxy_email or "", "email")
    token = new_token()
    now = ctx.clock.now()
    await InvitationRepository(ctx.session).add(
        AuthenticatorInvitation(
            mandate_id=mandate.id or 0,
            email=address,
            token_hash=keyed_hash(ctx.keys, "invitation", token),
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
    )
    language: Language = "en" if holder.language == "en" else "nl"
    await ctx.mailer.queue(
        ctx.session,
        ctx.clock,
        to=address,
        language=language,
        template="authenticator_invitation",
        context={
            **notifications.mandate_context(mandate, view.organisation, language),
            "link": f"{ctx.mailer.base_url}/enrol/{token}",
            "days": INVITATION_LIFETIME.days,
        },
    )
    await audit.record(
        ctx,
        f"mandate:{mandate.reference}",
        "authenticator.invited",
        f"holder:{holder.id}",
        organisation_id=mandate.organisation_id,
        holder_id=mandate.holder_id,
        mandate_id=mandate.id,
    )


async def invitation(ctx: ServiceContext, token: str) -> tuple[AuthenticatorInvitation, Mandate] | None:
    """The invitation behind a link, if it can still be used."""
    found = await first_found(ctx.keys, "invitation", token, InvitationRepository(ctx.session).by_hash)
    if found is None or found[0].used_at is not None or ctx.clock.now() >= found[0].expires_at:
        return None
    if effective_status(found[1], ctx.clock.now()) not in (EffectiveStatus.active, EffectiveStatus.scheduled):
        return None
    return found


async def accept(ctx: ServiceContext, token: str, code: str) -> Mandate:
    """Activate the authenticator set up from an invitation with its first correct code."""
    found = await invitation(ctx, token)
    if found is None:
        raise Conflict("This invitation has been used or has expired.")
    invite_row, mandate = found
    await activate(ctx, mandate, code)
    await InvitationRepository(ctx.session).use(invite_row.id or 0, ctx.clock.now())
    return mandate
