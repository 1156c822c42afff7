"""Query parameters the operation does not know are refused: `?customer_ref=KL-1` (a typo) must not
quietly list every mandate. So is a parameter of one value given twice (`?status=active&status=revoked`
would otherwise mean the last one). Keys in the URL are left to `auth.py`, which explains that case
better."""

from __future__ import annotations

from collections import Counter
from typing import Any, get_args, get_origin

from fastapi import Request
from fastapi.routing import APIRoute

from registry.api.auth import QUERY_NAMES
from registry.errors import FieldError, InvalidInput
from registry.services.api_keys import KEY_PREFIX


async def known_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    params = [*route.dependant.query_params]
    for dependency in route.dependant.dependencies:
        params += dependency.query_params
    known = {param.alias for param in params}
    single = {param.alias for param in params if not _takes_many(param.field_info.annotation)}
    given = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, count in given.items() if count > 1 and name in single)
    if repeated:
        raise InvalidInput(
            f"Give each of these query parameters once: {', '.join(repeated)}.",
            [FieldError(name, "Give this parameter once.") for name in repeated],
        )
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


def _takes_many(annotation: Any) -> bool:
    """A list (or set, tuple) of values, alone or in a union with None."""
    kinds = [annotation, *get_args(annotation)]
    return any(get_origin(kind) in (list, set, tuple) or kind in (list, set, tuple) for kind in kinds)
