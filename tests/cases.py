"""Test data in a committed database, for tests that run real servers or the app's own connections: an
organisation with an API key, and a holder's mandate with a live call code."""

from __future__ import annotations

from dataclasses import dataclass

from registry.db.engine import session_scope
from registry.services import api_keys, codes, holders, mandates, organisations
from registry.wiring import Wiring


@dataclass(frozen=True)
class Case:
    mandate_id: int
    reference: str
    key: str  # the API key's secret
    code: str  # the mandate's live call code
    holder_email: str


async def new_case(
    wiring: Wiring, slug: str, *, scopes: tuple[str, ...] = ("verify",), contact_email: str | None = None
) -> Case:
    async with session_scope(wiring.session_factory) as session:
        ctx = wiring.context(session)
        await organisations.create(ctx, slug, slug.title(), contact_email=contact_email)
        holder = await holders.get_or_create_verified(ctx, f"anna@{slug}.example", "nl")
        draft = mandates.Draft(
            organisation=slug, proxy=mandates.Proxy("Jan de Vries", "partner"), scope=["information"]
        )
        mandate = await mandates.grant(ctx, holder, draft)
        _, secret = await api_keys.create(ctx, slug, "CRM", list(scopes))
        code = (await codes.issue(ctx, mandate)).code
        assert mandate.id is not None
        return Case(mandate.id, mandate.reference, secret, code, holder.email)
