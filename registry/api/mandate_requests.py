"""Oral mandates: register what a caller claims, then follow the holder's answer."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse

from registry import errors
from registry.api.auth import CallerDep
from registry.api.deps import Context, get_wiring
from registry.api.errors import AUTHENTICATED, MALFORMED_BODY, ONCE, responses
from registry.api.idempotency import OnceDep
from registry.clock import rfc3339
from registry.domain.vocabulary import RequestStatus
from registry.http.live import request_events
from registry.schemas import MandateRequestCreate, MandateRequestOut
from registry.services import mandate_requests, verifications
from registry.services.mandate_requests import RequestView
from registry.services.mandates import Proxy
from registry.wiring import Wiring

router = APIRouter(tags=["mandate requests"])
RequestId = Path(max_length=60, description="The `id` of the mandate request.")


def _out(view: RequestView) -> MandateRequestOut:
    request, mandate = view.request, view.mandate
    return MandateRequestOut(
        id=request.public_id,
        status=view.status,
        customer_reference=mandate.customer_reference,
        scope=list(mandate.scope),
        valid_until=rfc3339(mandate.valid_until),
        created_at=rfc3339(request.created_at),
        expires_at=rfc3339(request.expires_at),
        decided_at=rfc3339(request.decided_at) if request.decided_at else None,
        mandate_reference=mandate.reference if view.status == RequestStatus.confirmed else None,
        decline_reason=request.decline_reason if view.status == RequestStatus.declined else None,
    )


def _location(request_id: str) -> str:
    return f"/v1/mandate-requests/{request_id}"


def _json(view: RequestView) -> str:
    return _out(view).model_dump_json()


@router.post(
    "/mandate-requests",
    operation_id="createMandateRequest",
    summary="Register an oral mandate for the holder to confirm",
    status_code=201,
    response_model=MandateRequestOut,
    responses=responses(MALFORMED_BODY, *AUTHENTICATED, *ONCE),
)
async def create_mandate_request(
    body: MandateRequestCreate, caller: CallerDep, ctx: Context, once: OnceDep
) -> Response:
    """The caller says the customer authorised them, and there is no paper. The registry e-mails the
    address you have on file for the customer a link (valid 24 hours) to confirm, narrow or decline. Until
    the holder confirms, no code verifies. Needs the scope `mandate_requests:write`.

    Follow the answer with GET /v1/mandate-requests/{id} or, live, with its `/events` stream. A confirmed
    mandate answers checks with binding `organisation_confirmed`. Send an `Idempotency-Key` so that a retry
    never e-mails the customer twice."""
    if (replay := await once.replay()) is not None:
        replay.headers["Location"] = _location(json.loads(bytes(replay.body))["id"])
        return replay
    agent = (
        verifications.agent_pseudonym(ctx, caller.organisation.id or 0, body.agent_id)
        if body.agent_id
        else None
    )
    view = await mandate_requests.request_by_organisation(
        ctx,
        caller,
        mandate_requests.Ask(
            organisation=caller.organisation.slug,
            email=body.customer_email,
            proxy=Proxy(body.proxy.name, body.proxy.relation.value, body.proxy.email, body.proxy.phone),
            scope=[action.value for action in body.scope],
            valid_until=body.valid_until,
            customer_reference=body.customer_reference,
            note=body.note,
            language=body.language,
        ),
        agent,
    )
    return await once.answer(201, _json(view), {"Location": _location(view.request.public_id)})


@router.get(
    "/mandate-requests/{request_id}",
    operation_id="getMandateRequest",
    summary="Fetch the holder's answer to an oral mandate",
    response_model=MandateRequestOut,
    responses=responses(*AUTHENTICATED, errors.RequestNotFound, errors.InvalidInput),
)
async def get_mandate_request(
    caller: CallerDep, ctx: Context, request_id: str = RequestId
) -> MandateRequestOut:
    """`pending` until the holder answers; then `confirmed` (with the mandate reference), `declined`
    (with `decline_reason`), or `lapsed` 24 hours after the request. Another organisation's request is 404."""
    return _out(await mandate_requests.for_organisation(ctx, caller, request_id))


@router.get(
    "/mandate-requests/{request_id}/events",
    operation_id="watchMandateRequest",
    summary="Follow the holder's answer live (server-sent events)",
    response_class=Response,
    responses={
        200: {
            "description": "A `text/event-stream`: one `status` event now and one after each change, each "
            "with the request as JSON (as GET /v1/mandate-requests/{id} answers it). The stream ends "
            "once the request is confirmed, declined or lapsed.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(*AUTHENTICATED, errors.RequestNotFound, errors.InvalidInput),
    },
)
async def watch_mandate_request(
    caller: CallerDep,
    ctx: Context,
    wiring: Annotated[Wiring, Depends(get_wiring)],
    request_id: str = RequestId,
) -> Response:
    """For an agent who stays on the call while the holder confirms: the change arrives within a second
    of the holder's click, whichever server handled it."""
    view = await mandate_requests.for_organisation(ctx, caller, request_id)
    assert view.request.id is not None
    return EventSourceResponse(
        request_events(wiring, view.request.id, _json),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
