"""Webhook endpoints of your organisation, their deliveries, and the events they receive (documented
under `webhooks` in the spec)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path
from fastapi.responses import Response

from registry import errors
from registry.api.auth import CallerDep
from registry.api.deps import Context, get_wiring
from registry.api.errors import AUTHENTICATED, MALFORMED_BODY, ONCE, responses
from registry.api.idempotency import OnceDep
from registry.clock import rfc3339
from registry.models import WebhookDelivery, WebhookEndpoint
from registry.schemas import (
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookPayload,
)
from registry.services import webhooks
from registry.services.api_keys import Caller
from registry.wiring import Wiring

router = APIRouter(tags=["webhooks"])
SCOPE = "webhooks:manage"
EndpointId = Path(max_length=60, description="The `id` of the webhook endpoint.")
DeliveryId = Path(max_length=60, description="The `id` (webhook-id) of the delivery.")


def _endpoint(found: WebhookEndpoint, secret: str | None = None) -> WebhookEndpointOut:
    return WebhookEndpointOut(
        id=found.public_id,
        url=found.url,
        description=found.description,
        event_types=list(found.event_types or []),
        status="active" if found.status == "active" else "disabled",
        disabled_reason=found.disabled_reason,
        created_at=rfc3339(found.created_at),
        secret=secret,
    )


def _delivery(found: WebhookDelivery) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=found.public_id,
        event_type=found.event_type,
        status=found.status,
        attempts=found.attempts,
        last_status_code=found.last_status_code,
        last_error=found.last_error,
        created_at=rfc3339(found.created_at),
        delivered_at=rfc3339(found.delivered_at) if found.delivered_at else None,
        next_attempt_at=rfc3339(found.next_attempt_at) if found.status == "pending" else None,
    )


def _allowed(caller: Caller) -> None:
    caller.require(SCOPE)


@router.post(
    "/webhook-endpoints",
    operation_id="createWebhookEndpoint",
    summary="Add a webhook endpoint",
    status_code=201,
    response_model=WebhookEndpointOut,
    responses=responses(MALFORMED_BODY, *AUTHENTICATED, *ONCE),
)
async def create_endpoint(
    body: WebhookEndpointCreate,
    caller: CallerDep,
    ctx: Context,
    once: OnceDep,
    wiring: Annotated[Wiring, Depends(get_wiring)],
) -> Response:
    """Deliveries are signed per Standard Webhooks with the `secret` in this answer (shown once),
    retried with backoff over about three days, and stop for good when your endpoint answers 410.
    Needs the scope `webhooks:manage`."""
    _allowed(caller)
    if (replay := await once.replay()) is not None:
        return replay
    found, secret = await webhooks.create_endpoint(
        ctx,
        caller.organisation,
        body.url,
        event_types=body.event_types,
        description=body.description,
        allow_private=wiring.settings.webhook_allow_private,
        actor=f"organisation:{caller.organisation.slug}",
    )
    return await once.answer(201, _endpoint(found, secret).model_dump_json())


@router.get(
    "/webhook-endpoints",
    operation_id="listWebhookEndpoints",
    summary="List your webhook endpoints",
    response_model=WebhookEndpointList,
    responses=responses(*AUTHENTICATED),
)
async def list_endpoints(caller: CallerDep, ctx: Context) -> WebhookEndpointList:
    """Every endpoint of your organisation, active or disabled (with the reason). Needs `webhooks:manage`."""
    _allowed(caller)
    return WebhookEndpointList(
        items=[_endpoint(e) for e in await webhooks.endpoints(ctx, caller.organisation)]
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    operation_id="getWebhookEndpoint",
    summary="Fetch a webhook endpoint",
    response_model=WebhookEndpointOut,
    responses=responses(*AUTHENTICATED, errors.WebhookEndpointNotFound, errors.InvalidInput),
)
async def get_endpoint(caller: CallerDep, ctx: Context, endpoint_id: str = EndpointId) -> WebhookEndpointOut:
    """One endpoint of your organisation; another organisation's is 404. The secret is never shown again."""
    _allowed(caller)
    return _endpoint(await webhooks.endpoint(ctx, caller.organisation, endpoint_id))


@router.post(
    "/webhook-endpoints/{endpoint_id}/disable",
    operation_id="disableWebhookEndpoint",
    summary="Stop deliveries to an endpoint",
    response_model=WebhookEndpointOut,
    responses=responses(*AUTHENTICATED, errors.WebhookEndpointNotFound, *ONCE),
)
async def disable_endpoint(
    caller: CallerDep, ctx: Context, once: OnceDep, endpoint_id: str = EndpointId
) -> Response:
    """No more deliveries to it until you enable it again; pending ones are given up."""
    _allowed(caller)
    if (replay := await once.replay()) is not None:
        return replay
    found = await webhooks.set_active(
        ctx, caller.organisation, endpoint_id, False, f"organisation:{caller.organisation.slug}"
    )
    return await once.answer(200, _endpoint(found).model_dump_json())


@router.post(
    "/webhook-endpoints/{endpoint_id}/enable",
    operation_id="enableWebhookEndpoint",
    summary="Deliver to an endpoint again",
    response_model=WebhookEndpointOut,
    responses=responses(*AUTHENTICATED, errors.WebhookEndpointNotFound, *ONCE),
)
async def enable_endpoint(
    caller: CallerDep, ctx: Context, once: OnceDep, endpoint_id: str = EndpointId
) -> Response:
    """New events are delivered again; replay the ones you missed from the delivery list."""
    _allowed(caller)
    if (replay := await once.replay()) is not None:
        return replay
    found = await webhooks.set_active(
        ctx, caller.organisation, endpoint_id, True, f"organisation:{caller.organisation.slug}"
    )
    return await once.answer(200, _endpoint(found).model_dump_json())


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="List an endpoint's newest deliveries",
    response_model=WebhookDeliveryList,
    responses=responses(*AUTHENTICATED, errors.WebhookEndpointNotFound, errors.InvalidInput),
)
async def list_deliveries(
    caller: CallerDep, ctx: Context, endpoint_id: str = EndpointId
) -> WebhookDeliveryList:
    """The newest 50, with their status, tries and the last answer of your endpoint."""
    _allowed(caller)
    _, found = await webhooks.deliveries(ctx, caller.organisation, endpoint_id)
    return WebhookDeliveryList(items=[_delivery(d) for d in found])


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
    operation_id="replayWebhookDelivery",
    summary="Send a delivery again",
    response_model=WebhookDeliveryOut,
    responses=responses(
        *AUTHENTICATED, errors.WebhookEndpointNotFound, errors.WebhookDeliveryNotFound, errors.Conflict, *ONCE
    ),
)
async def replay_delivery(
    caller: CallerDep,
    ctx: Context,
    once: OnceDep,
    endpoint_id: str = EndpointId,
    delivery_id: str = DeliveryId,
) -> Response:
    """The same body and `webhook-id` as before, sent again now."""
    _allowed(caller)
    if (replay := await once.replay()) is not None:
        return replay
    found = await webhooks.replay(
        ctx, caller.organisation, endpoint_id, delivery_id, f"organisation:{caller.organisation.slug}"
    )
    return await once.answer(200, _delivery(found).model_dump_json())


def document_events(app: FastAPI) -> None:
    """Every event under `webhooks` in the 3.1 spec, with its payload."""
    for event_type, description in webhooks.EVENTS.items():

        async def event(body: WebhookPayload) -> None:  # documentation only; never called
            """Signed with the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers."""

        app.webhooks.post(
            event_type,
            summary=event_type,
            description=description,
            operation_id=f"on_{event_type.replace('.', '_')}",
        )(event)
