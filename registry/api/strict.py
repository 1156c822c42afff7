"""Query parameters the operation does not know are refused: `?customer_ref=KL-1` (a typo) must not
quietly list every mandate. Keys in the URL are left to `auth.py`, which explains that case better."""

from __future__ import annotations

from fastapi import Request
from fastapi.routing import APIRoute

from registry.api.auth import QUERY_NAMES
from registry.errors import FieldError, InvalidInput
from registry.services.api_keys import KEY_PREFIX


async def known_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = {param.alias for param in route.dependant.query_params}
    for dependency in route.dependant.dependencies:
        known |= {param.alias for param in dependency.query_params}
    unknown = sorted(
        {
            name
            for name, value in request.query_params.multi_items()
            if name not in known and name.lower() not in QUERY_NAMES and not value.startswith(KEY_PREFIX)
        }
    )
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise InvalidInput(
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            [
                FieldError(name, f"This operation takes no such parameter; it knows: {allowed}.")
                for name in unknown
            ],
        )
