"""Who is calling: an organisation's API key, sent as `Authorization: Bearer <key>` and nowhere else."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from registry.api.deps import Context
from registry.db.unit_of_work import wiring_of
from registry.errors import NotAuthenticated, RateLimited
from registry.services import api_keys
from registry.services.api_keys import Caller

# Documents the scheme in the spec; the header is read below so that every failure is one problem+json.
bearer = HTTPBearer(
    auto_error=False, description="An organisation's API key: `Authorization: Bearer mrk_...`"
)
QUERY_NAMES = {"api_key", "apikey", "key", "access_token", "token", "authorization"}


async def get_caller(request: Request, ctx: Context, _: Annotated[object, Depends(bearer)]) -> Caller:
    for name, value in request.query_params.multi_items():
        if name.lower() in QUERY_NAMES or value.startswith(api_keys.KEY_PREFIX):
            raise NotAuthenticated(
                "An API key in the URL is refused: URLs end up in logs. Send it as "
                "`Authorization: Bearer <key>` and make a new key, since this one leaked."
            )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise NotAuthenticated("Send an API key as `Authorization: Bearer <key>`.")
    caller = await api_keys.authenticate(ctx, token.strip())
    if (request.method, request.url.path) != ("POST", "/v1/verifications"):
        await api_keys.note_use(ctx, caller)  # a check notes it in its own statements, in their lock order
    # A check the fast lane handed over was counted there already (api/lane.py): count it once.
    budget = getattr(request.state, "rate_limit", None)
    if budget is None:
        budget = await wiring_of(request).budget.spend(caller.key.id or 0, caller.key.prefix)
    if budget is not None:
        request.state.rate_limit = budget  # the answer carries it in its headers (app.py)
        if not budget.allowed:
            raise RateLimited(
                f"This key used its {budget.limit} requests per {budget.window} seconds. "
                f"Try again in {budget.reset} seconds.",
                retry_after=max(1, budget.reset),
            )
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
