"""The JSON API for CRMs. Only this package goes into the OpenAPI spec."""

from fastapi import APIRouter, Depends

from registry.api import health, mandate_requests, mandates, verifications, vocabulary, webhooks
from registry.api.strict import known_query_parameters

router = APIRouter(dependencies=[Depends(known_query_parameters)])
router.include_router(health.router)
router.include_router(vocabulary.router, prefix="/v1")
router.include_router(verifications.router, prefix="/v1")
router.include_router(mandate_requests.router, prefix="/v1")
router.include_router(mandates.router, prefix="/v1")
router.include_router(webhooks.router, prefix="/v1")

__all__ = ["router"]
