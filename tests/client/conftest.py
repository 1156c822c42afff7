"""Fixtures for the client's tests: the client on the real app in-process, and its data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from mandate_registry_client import AsyncClient

from registry.app import create_app
from registry.domain.vocabulary import Basis, Binding
from registry.models import Holder, Mandate, Organisation
from registry.services import ServiceContext, api_keys, mandates
from registry.settings import Settings
from registry.wiring import Wiring

BASE_URL = "https://registry.test"
ALL_SCOPES = ["verify", "mandates:read", "mandates:write", "mandate_requests:write"]
PROXY = mandates.Proxy("Jan de Vries", "partner")


def app_transport(settings: Settings, wiring: Wiring) -> httpx.ASGITransport:
    """The app in-process, answering errors as a real server would (see the `client` fixture)."""
    return httpx.ASGITransport(app=create_app(settings, wiring=wiring), raise_app_exceptions=False)


@pytest.fixture
async def key(ctx: ServiceContext, organisation: Organisation) -> str:
    return (await api_keys.create(ctx, "energie-bv", "crm", ALL_SCOPES))[1]


@pytest.fixture
async def registry(settings: Settings, wiring: Wiring, key: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(BASE_URL, key, transport=app_transport(settings, wiring)) as client:
        yield client


async def grant(
    ctx: ServiceContext,
    holder: Holder,
    customer: str = "KL-1",
    *,
    basis: Basis = Basis.web,
    binding: Binding = Binding.unconfirmed,
) -> Mandate:
    """An active mandate of `holder` at energie-bv for Jan de Vries, with information and billing."""
    draft = mandates.Draft("energie-bv", PROXY, ["information", "billing"], customer_reference=customer)
    return await mandates.grant(ctx, holder, draft, basis=basis, binding=binding)
