"""Demo data for a newcomer: organisations, a holder, an active mandate, an API key and a call code.

Running it again keeps the organisations, holder and mandate; it makes a new API key (revoking the
previous demo key, whose secret cannot be shown again) and a new call code (retiring the previous one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.domain.vocabulary import Action, EffectiveStatus
from registry.models import Mandate, Organisation
from registry.repositories import (
    ApiKeyRepository,
    MandateRepository,
    MemberRepository,
    OrganisationRepository,
)
from registry.services import ServiceContext, api_keys, codes, holders, mandates, members, organisations

ORGANISATIONS = (("energie-bv", "Energie BV"), ("telecom-nl", "Telecom NL"))
HOLDER_EMAIL = "anna.de.vries@example.nl"
PROXY = mandates.Proxy(name="Jan de Vries", relation="partner", email="jan.de.vries@example.nl")
SCOPE = (Action.information, Action.appointments, Action.billing)
CUSTOMER_REFERENCE = "KL-100234"
KEY_NAME = "demo"
MEMBERS = (("admin@energie-bv.example", "admin"), ("agent@energie-bv.example", "agent"))


@dataclass(frozen=True)
class DemoData:
    organisations: list[Organisation]
    holder_email: str
    mandate: Mandate
    api_key: str
    call_code: codes.IssuedCode

    def as_dict(self) -> dict[str, Any]:
        m = self.mandate
        return {
            "organisation": self.organisations[0].slug,
            "organisations": [{"slug": o.slug, "display_name": o.display_name} for o in self.organisations],
            "api_key": self.api_key,
            "holder_email": self.holder_email,
            "mandate_reference": m.reference,
            "call_code": self.call_code.code,
            "call_code_expires_at": self.call_code.expires_at.isoformat(),
            "console_members": [{"email": email, "role": role} for email, role in MEMBERS],
            "mandate": {
                "reference": m.reference,
                "organisation": self.organisations[0].slug,
                "customer_reference": m.customer_reference,
                "proxy_name": m.proxy_name,
                "relation": m.proxy_relation,
                "scope": list(m.scope),
                "valid_until": m.valid_until.isoformat(),
            },
        }

    def explain(self, base_url: str) -> str:
        m = self.mandate
        orgs = ", ".join(f"{o.slug} ({o.display_name})" for o in self.organisations)
        body = (
            f'{{"mandate_reference": "{m.reference}", "code": "{self.call_code.code}", "action": "billing"}}'
        )
        return (
            "Demo data is ready.\n\n"
            f"  organisations  {orgs}\n"
            f"  holder         {self.holder_email}\n"
            f"  mandate        {m.reference}: {m.proxy_name} ({m.proxy_relation}) may "
            f"{', '.join(m.scope)} at {self.organisations[0].display_name}\n"
            f"                 customer reference {m.customer_reference}, "
            f"valid until {m.valid_until:%Y-%m-%d}\n"
            f"  API key        {self.api_key}  (energie-bv; shown once)\n"
            f"                 scopes {', '.join(api_keys.SCOPES)}\n"
            f"  call code      {self.call_code.grouped}  "
            f"(single use, until {self.call_code.expires_at:%Y-%m-%d %H:%M} UTC)\n"
            f"  console        {MEMBERS[0][0]} (admin), {MEMBERS[1][0]} (agent)\n\n"
            "Try it:\n"
            "  mandate-registry serve\n"
            f"  curl -s {base_url}/v1/verifications -H 'Authorization: Bearer {self.api_key}' \\\n"
            f"       -H 'Content-Type: application/json' -d '{body}'\n"
            f"  open {base_url}/docs\n"
            f"  open {base_url}/console/sign-in as {MEMBERS[1][0]} (serve prints the link)\n"
        )


async def create(ctx: ServiceContext) -> DemoData:
    orgs = []
    for slug, name in ORGANISATIONS:
        existing = await OrganisationRepository(ctx.session).by_slug(slug)
        orgs.append(existing or await organisations.create(ctx, slug, name, actor="operator:demo"))
    holder = await holders.get_or_create_verified(ctx, HOLDER_EMAIL, "nl")
    mandate = await _mandate(ctx, holder.id or 0, orgs[0])
    if mandate is None:
        draft = mandates.Draft(
            organisation=orgs[0].slug,
            proxy=PROXY,
            scope=[a.value for a in SCOPE],
            customer_reference=CUSTOMER_REFERENCE,
        )
        mandate = await mandates.grant(ctx, holder, draft, actor="operator:demo")
    for key in await ApiKeyRepository(ctx.session).of_organisation(orgs[0].id or 0):
        if key.name == KEY_NAME and key.id is not None:
            await api_keys.revoke(ctx, key.id)
    _, secret = await api_keys.create(ctx, orgs[0].slug, KEY_NAME, list(api_keys.SCOPES))
    for email, role in MEMBERS:
        if await MemberRepository(ctx.session).by_email(email) is None:
            await members.invite(ctx, orgs[0].slug, email, role, actor="operator:demo")
    code = await codes.issue(ctx, mandate, actor="operator:demo")
    return DemoData(orgs, holder.email, mandate, secret, code)


async def _mandate(ctx: ServiceContext, holder_id: int, organisation: Organisation) -> Mandate | None:
    for mandate in await MandateRepository(ctx.session).of_holder_and_organisation(
        holder_id, organisation.id or 0
    ):
        if (
            mandate.proxy_name == PROXY.name
            and mandates.effective_status(mandate, ctx.clock.now()) == EffectiveStatus.active
        ):
            return mandate
    return None
