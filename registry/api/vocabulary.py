"""Reference checks and the scope vocabulary: what a CRM needs to build its forms."""

from __future__ import annotations

from fastapi import APIRouter

from registry import errors
from registry.api.errors import responses
from registry.domain.references import parse_reference
from registry.domain.vocabulary import Action
from registry.schemas import ActionInfo, ActionList, ReferenceCheck

router = APIRouter(tags=["vocabulary"])


@router.get(
    "/references/{reference}",
    operation_id="checkReference",
    summary="Check a mandate reference",
    responses=responses(errors.InvalidReference),
)
async def check_reference(reference: str) -> ReferenceCheck:
    """Check the spelling of a reference as the agent typed it, before any lookup, and return it in
    canonical form. Lower case, spaces, dashes and a missing `M-` are accepted. A mis-heard or swapped
    character fails the check character: answer 422 with `code` `invalid_reference` and a sentence the
    agent can act on. This looks nothing up: a valid reference need not exist."""
    return ReferenceCheck(reference=parse_reference(reference), valid=True)


@router.get("/actions", operation_id="listActions", summary="List the actions a mandate can allow")
async def list_actions() -> ActionList:
    """The scope vocabulary, in the registry's order, with Dutch and English labels. `changes` and
    `termination` are high-risk: show a warning when a proxy asks for them."""
    return ActionList(
        items=[
            ActionInfo(action=a.value, high_risk=a.high_risk, label_nl=a.label("nl"), label_en=a.label("en"))
            for a in Action
        ]
    )
