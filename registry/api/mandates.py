"""Your organisation's mandates: look them up, and state that a mandate's holder is your customer."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from registry import errors
from registry.api.auth import CallerDep
from registry.api.deps import Context
from registry.api.errors import AUTHENTICATED, ONCE, responses
from registry.api.idempotency import OnceDep
from registry.clock import rfc3339
from registry.models import Mandate
from registry.schemas import MandateOut, MandatePage
from registry.services import mandates, organisation_mandates

router = APIRouter(tags=["mandates"])
Reference = Path(max_length=40, description="The mandate reference; case, spaces and dashes do not matter.")


def out(ctx: Context, mandate: Mandate) -> MandateOut:
    return MandateOut(
        reference=mandate.reference,
        customer_reference=mandate.customer_reference,
        proxy_name=mandate.proxy_name,
        relation=mandate.proxy_relation,
        scope=list(mandate.scope),
        valid_from=rfc3339(mandate.valid_from),
        valid_until=rfc3339(mandate.valid_until),
        status=mandates.effective_status(mandate, ctx.clock.now()).value,
        basis=mandate.basis,
        binding=mandates.binding_of(mandate),
    )


@router.get(
    "/mandates",
    operation_id="listMandates",
    summary="List your organisation's mandates",
    response_model=MandatePage,
    responses=responses(*AUTHENTICATED, errors.InvalidInput),
)
async def list_mandates(
    caller: CallerDep,
    ctx: Context,
    customer_reference: str | None = Query(None, max_length=100, description="Only this customer's."),
    status: Literal["active", "scheduled", "expired", "revoked"] | None = Query(
        None, description="Only mandates in this state now."
    ),
    limit: int = Query(
        organisation_mandates.DEFAULT_LIMIT,
        ge=1,
        le=organisation_mandates.MAX_LIMIT,
        description="At most this many.",
    ),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page."),
) -> MandatePage:
    """Show the authorised persons next to a customer in your CRM. Needs the scope `mandates:read`.
    Mandates waiting for the holder's confirmation are under /v1/mandate-requests instead."""
    page = await organisation_mandates.list_mandates(
        ctx, caller, customer_reference=customer_reference, status=status, limit=limit, cursor=cursor
    )
    return MandatePage(items=[out(ctx, m) for m in page.items], next_cursor=page.next_cursor)


@router.get(
    "/mandates/{reference}",
    operation_id="getMandate",
    summary="Fetch one of your organisation's mandates",
    response_model=MandateOut,
    responses=responses(*AUTHENTICATED, errors.MandateNotFound, errors.InvalidReference),
)
async def get_mandate(caller: CallerDep, ctx: Context, reference: str = Reference) -> MandateOut:
    """Another organisation's mandate is 404, as is a reference that does not exist."""
    return out(ctx, await organisation_mandates.get_mandate(ctx, caller, reference))


@router.post(
    "/mandates/{reference}/customer-confirmation",
    operation_id="confirmCustomer",
    summary="State that the holder is your customer",
    response_model=MandateOut,
    responses=responses(
        *AUTHENTICATED, errors.MandateNotFound, errors.InvalidReference, errors.MandateNotChangeable, *ONCE
    ),
)
async def confirm_customer(
    caller: CallerDep, ctx: Context, once: OnceDep, reference: str = Reference
) -> Response:
    """After your own check (for instance, the holder's address matches the one on file), say that the
    holder is your customer: checks then answer binding `organisation_confirmed`. Needs `mandates:write`."""
    if (replay := await once.replay()) is not None:
        return replay
    mandate = await organisation_mandates.confirm_customer(ctx, caller, reference)
    return await once.answer(200, out(ctx, mandate).model_dump_json())


@router.delete(
    "/mandates/{reference}/customer-confirmation",
    operation_id="withdrawCustomerConfirmation",
    summary="Withdraw your statement that the holder is your customer",
    response_model=MandateOut,
    responses=responses(*AUTHENTICATED, errors.MandateNotFound, errors.InvalidReference, errors.Conflict),
)
async def withdraw_customer(caller: CallerDep, ctx: Context, reference: str = Reference) -> MandateOut:
    """Checks answer binding `unconfirmed` again. A mandate from your own oral-mandate request stays
    `organisation_confirmed` (409)."""
    return out(ctx, await organisation_mandates.withdraw_customer(ctx, caller, reference))
