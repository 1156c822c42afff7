"""Fixtures of the API tests: a mandate of the fixture holder with Energie BV, and a key that may check it."""

from __future__ import annotations

import pytest

from registry.models import Holder, Mandate, Organisation
from registry.services import ServiceContext, api_keys, mandates


@pytest.fixture
async def mandate(ctx: ServiceContext, organisation: Organisation, holder: Holder) -> Mandate:
    draft = mandates.Draft(
        organisation="energie-bv", proxy=mandates.Proxy("Jan de Vries", "partner"), scope=["information"]
    )
    return await mandates.grant(ctx, holder, draft)


@pytest.fixture
async def key(ctx: ServiceContext, organisation: Organisation) -> str:
    return (await api_keys.create(ctx, "energie-bv", "crm", ["verify"]))[1]
