"""The JSON API for CRMs. Only this package goes into the OpenAPI spec."""

from fastapi import APIRouter

from registry.api import health, mandate_requests, mandates, verifications, vocabulary

router = APIRouter()
router.include_router(health.router)
router.include_router(vocabulary.router, prefix="/v1")
router.include_router(verifications.router, prefix="/v1")
router.include_router(mandate_requests.router, prefix="/v1")
router.include_router(mandates.router, prefix="/v1")

__all__ = ["router"]
