"""Pages for people (holders now; agents later). Not part of the OpenAPI spec."""

from pathlib import Path

from fastapi import APIRouter

from registry.web import account, auth, console, enrol, mandates, pages, requests, revoke_link

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(mandates.router)
router.include_router(account.router)
router.include_router(enrol.router)
router.include_router(revoke_link.router)
router.include_router(requests.router)
router.include_router(console.router)
router.include_router(pages.router)

__all__ = ["STATIC", "router"]
