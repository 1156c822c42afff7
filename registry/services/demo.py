"""Demo data for a newcomer: two organisations, a holder and an active mandate. Safe to run again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry.models import Mandate, Organisation
from registry.repositories import MandateRepository, OrganisationRepository
from registry.services import ServiceContext, holders, mandates, organisations
from registry.vocabulary import Action, EffectiveStatus

ORGANISATIONS = (("energie-bv", "Energie BV"), ("telecom-nl", "Telecom NL"))
HOLDER_EMAIL = "anna.de.vries@example.nl"
PROXY = mandates.Proxy(name="Jan de Vries", relation="partner", email="jan.de.vries@example.nl")
SCOPE = (Action.information, Action.appointments, Action.billing)
CUSTOMER_REFERENCE = "KL-100234"


@dataclass(frozen=True)
class DemoData:
    organisations: list[Organisation]
    holder_email: str
    mandate: Mandate

    def as_dict(self) -> dict[str, Any]:
        m = self.mandate
        return {
            "organisations": [{"slug": o.slug, "display_name": o.display_name} for o in self.organisations],
            "holder_email": self.holder_email,
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
        return (
            "Demo data is ready.\n\n"
            f"  organisations  {orgs}\n"
            f"  holder         {self.holder_email}\n"
            f"  mandate        {m.reference}: {m.proxy_name} ({m.proxy_relation}) may "
            f"{', '.join(m.scope)} at {self.organisations[0].display_name}\n"
            f"                 customer reference {m.customer_reference}, valid until "
            f"{m.valid_until:%Y-%m-%d}\n\n"
            "Try it:\n"
            "  mandate-registry serve\n"
            f"  curl {base_url}/readyz\n"
            f"  curl {base_url}/v1/references/{m.reference.lower().replace('-', ' ')}\n"
            f"  open {base_url}/docs\n"
        )


async def create(ctx: ServiceContext) -> DemoData:
    orgs = []
    for slug, name in ORGANISATIONS:
        existing = await OrganisationRepository(ctx.session).by_slug(slug)
        orgs.append(existing or await organisations.create(ctx, slug, name, actor="operator:demo"))
    holder = await holders.get_or_create_verified(ctx, HOLDER_EMAIL, "nl")
    for mandate in await MandateRepository(ctx.session).of_holder_and_organisation(
        holder.id or 0, orgs[0].id or 0
    ):
        if (
            mandate.proxy_name == PROXY.name
            and mandates.effective_status(mandate, ctx.clock.now()) == EffectiveStatus.active
        ):
            return DemoData(orgs, holder.email, mandate)
    draft = mandates.Draft(
        organisation=orgs[0].slug,
        proxy=PROXY,
        scope=[a.value for a in SCOPE],
        customer_reference=CUSTOMER_REFERENCE,
    )
    mandate = await mandates.grant(ctx, holder, draft, actor="operator:demo")
    return DemoData(orgs, holder.email, mandate)
