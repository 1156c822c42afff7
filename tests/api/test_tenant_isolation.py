"""Every route that takes an object id answers 404 to another organisation (SECURITY.md).

The routes are read from the spec, so a new route is covered the day it appears: one whose id kind
has no maker below fails `test_every_id_route_is_covered` until someone adds one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from registry.app import create_app
from registry.models import Holder, Organisation
from registry.services import (
    ServiceContext,
    api_keys,
    codes,
    holders,
    mandate_requests,
    mandates,
    organisations,
    webhooks,
)
from registry.services import verifications as v
from registry.settings import Settings
from tests.api.test_http_basics import assert_problem

Maker = Callable[[ServiceContext, Any], Awaitable[str]]


async def a_verification(ctx: ServiceContext, caller: Any) -> str:
    return str(
        json.loads(await v.verify(ctx, caller, v.Check(code="00000000", customer_reference="KL-1")))[
            "verification_id"
        ]
    )


async def a_mandate_request(ctx: ServiceContext, caller: Any) -> str:
    """An answered request, so that its live status stream ends after its one event."""
    ask = mandate_requests.Ask(
        organisation="energie-bv",
        email="anna.de.vries@example.nl",
        proxy=mandates.Proxy("Jan", "partner"),
        scope=["information"],
        customer_reference="KL-1",
    )
    view = await mandate_requests.request_by_organisation(ctx, caller, ask)
    view.request.status = "declined"
    await ctx.session.flush()
    return view.request.public_id


async def a_mandate(ctx: ServiceContext, caller: Any) -> str:
    draft = mandates.Draft("energie-bv", mandates.Proxy("Jan", "partner"), ["information"])
    holder = await holders.get_or_create_verified(ctx, "anna.de.vries@example.nl")
    return (await mandates.grant(ctx, holder, draft)).reference


async def a_webhook_endpoint(ctx: ServiceContext, caller: Any) -> str:
    endpoint, _ = await webhooks.create_endpoint(
        ctx, caller.organisation, "https://hooks.example/x", allow_private=True, actor="test"
    )
    return endpoint.public_id


async def a_webhook_delivery(ctx: ServiceContext, caller: Any) -> str:
    """A delivery of the endpoint made just before (routes name the endpoint first)."""
    await webhooks.emit(ctx, caller.organisation.id, "mandate.revoked", {"mandate_reference": "M-X"})
    found = (await webhooks.endpoints(ctx, caller.organisation))[-1]
    _, rows = await webhooks.deliveries(ctx, caller.organisation, found.public_id)
    return rows[0].public_id


MAKERS: dict[str, Maker] = {
    "endpoint_id": a_webhook_endpoint,
    "delivery_id": a_webhook_delivery,
    "verification_id": a_verification,
    "request_id": a_mandate_request,
    "reference": a_mandate,
}


def id_routes(settings: Settings) -> list[tuple[str, str, list[str]]]:
    """(method, path, id parameters in order) of every documented route that needs a key and takes ids."""
    spec = create_app(settings).openapi()
    found: list[tuple[str, str, list[str]]] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            names = re.findall(r"{(\w+)}", path)
            if names and operation.get("security"):
                found.append((method, path, names))
    return found


def test_every_id_route_is_covered(settings: Settings) -> None:
    routes = id_routes(settings)
    assert routes, "the spec has no id routes: the test below would prove nothing"
    assert {name for _, _, names in routes for name in names} <= MAKERS.keys()


async def test_another_organisation_gets_404(
    settings: Settings,
    ctx: ServiceContext,
    client: httpx.AsyncClient,
    organisation: Organisation,
    holder: Holder,
) -> None:
    _, own_secret = await api_keys.create(ctx, "energie-bv", "crm", list(api_keys.SCOPES))
    owner = await api_keys.authenticate(ctx, own_secret)
    await organisations.create(ctx, "telecom-nl", "Telecom NL")
    _, their_secret = await api_keys.create(ctx, "telecom-nl", "crm", list(api_keys.SCOPES))
    mandate = await mandates.grant(
        ctx,
        holder,
        mandates.Draft(
            organisation="energie-bv",
            proxy=mandates.Proxy("Jan", "partner"),
            scope=["information"],
            customer_reference="KL-1",
        ),
    )
    await codes.issue(ctx, mandate)
    for method, path, names in id_routes(settings):
        url = path
        for name in names:  # in order: a delivery's maker uses the endpoint made just before
            url = url.replace("{" + name + "}", await MAKERS[name](ctx, owner))
        mine = await client.request(method, url, headers={"Authorization": f"Bearer {own_secret}"})
        assert mine.status_code == 200, (method, url)
        theirs = await client.request(method, url, headers={"Authorization": f"Bearer {their_secret}"})
        assert theirs.status_code == 404, (method, url)
        problem = assert_problem(theirs, 404, theirs.json()["code"])
        assert problem["code"].endswith("not_found"), (method, url)
