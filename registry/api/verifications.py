"""Checking a caller's code during a call, and the receipts of earlier checks."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import Response

from registry import errors
from registry.api.auth import CallerDep
from registry.api.deps import Context
from registry.api.errors import AUTHENTICATED, MALFORMED_BODY, ONCE, responses
from registry.api.idempotency import OnceDep
from registry.http import metrics
from registry.schemas import VerificationAnswer, VerificationRequest
from registry.services import verifications

router = APIRouter(tags=["verifications"])


@router.post(
    "/verifications",
    operation_id="createVerification",
    summary="Check a caller's code",
    response_model=VerificationAnswer,
    responses=responses(
        MALFORMED_BODY, *AUTHENTICATED, errors.InvalidReference, errors.InvalidCode, errors.Conflict, *ONCE
    ),
)
async def create_verification(
    body: VerificationRequest, caller: CallerDep, ctx: Context, once: OnceDep
) -> Response:
    """Check the code a caller quotes for a mandate (by its reference, or by your customer reference)
    and answer whether they may act, and for what. Needs the scope `verify`.

    The answer is always 200: `verified` with the proxy's name, relation, scope, end date, whether the
    action you asked about is allowed and how the holder is known to be your customer; or `not_verified`
    with only a receipt id. Five wrong codes in a row block a mandate for 15 minutes, ten in a day until
    the holder unblocks it, and a key with 100 failed checks in an hour gets 429 until the next hour."""
    if (replay := await once.replay()) is not None:
        return replay  # a retry after a lost answer: the same receipt, and the code is not spent twice
    check = verifications.Check(
        **body.model_dump(exclude={"action"}), action=body.action.value if body.action else None
    )
    answer = await verifications.verify(ctx, caller, check)
    metrics.verification(answer, "route")
    return await once.answer(200, answer)


@router.get(
    "/verifications/{verification_id}",
    operation_id="getVerification",
    summary="Fetch a check's receipt",
    response_model=VerificationAnswer,
    responses=responses(*AUTHENTICATED, errors.VerificationNotFound, errors.InvalidInput),
)
async def get_verification(
    verification_id: str = Path(max_length=60, description="The `verification_id` of the answer."),
    *,
    caller: CallerDep,
    ctx: Context,
) -> Response:
    """The answer of an earlier check by your organisation, exactly as it was given: your evidence of
    what the registry told your agent. Another organisation's receipt is 404."""
    answer = await verifications.receipt(ctx, caller, verification_id)
    return Response(content=answer, media_type="application/json")
