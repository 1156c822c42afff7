"""The `Idempotency-Key` header of the API's POSTs: look up before the work, keep the answer with it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import Response

from registry.api.auth import CallerDep
from registry.api.deps import Context
from registry.services import ServiceContext, idempotency
from registry.services.api_keys import Caller

KEY_DESCRIPTION = (
    "Any unique string (a UUID, say) that you send again when you retry this request. Within 24 hours the "
    "same key with the same body gets the first answer again (with `Idempotent-Replayed: true`) and the "
    "work is not done twice; the same key with another body is 422 `idempotency_key_reused`; while the "
    "first request still runs it is 409 `idempotency_key_in_use`."
)


class Once:
    """One POST's idempotency: `replay()` before the work, `answer()` to reply and keep the reply."""

    def __init__(self, ctx: ServiceContext, caller: Caller, key: str | None, fingerprint: str) -> None:
        self.ctx, self.caller, self.key, self.fingerprint = ctx, caller, key, fingerprint

    @property
    def _organisation_id(self) -> int:
        assert self.caller.organisation.id is not None
        return self.caller.organisation.id

    async def replay(self) -> Response | None:
        if self.key is None:
            return None
        stored = await idempotency.look_up(self.ctx, self._organisation_id, self.key, self.fingerprint)
        if stored is None:
            return None
        return Response(
            stored.body,
            stored.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    async def answer(self, status: int, body: str, headers: dict[str, str] | None = None) -> Response:
        if self.key is not None:
            await idempotency.keep(self.ctx, self._organisation_id, self.key, self.fingerprint, status, body)
        return Response(body, status, media_type="application/json", headers=headers)


async def get_once(
    request: Request,
    ctx: Context,
    caller: CallerDep,
    key: Annotated[str | None, Header(alias="Idempotency-Key", description=KEY_DESCRIPTION)] = None,
) -> Once:
    body = await request.body()
    return Once(ctx, caller, key, idempotency.fingerprint(request.method, request.url.path, body))


OnceDep = Annotated[Once, Depends(get_once)]
