"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from registry.api.deps import get_wiring
from registry.api.errors import DATABASE_DOWN, responses
from registry.db.engine import ping
from registry.http import metrics
from registry.schemas import Health, Readiness
from registry.wiring import Wiring

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="getHealth", summary="Is the process alive?")
async def healthz() -> Health:
    """Answers 200 as long as the process can serve requests. It does not touch the database."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Can the service do its work?",
    responses=responses(DATABASE_DOWN),
)
async def readyz(wiring: Annotated[Wiring, Depends(get_wiring)]) -> Readiness:
    """Answers 200 when the database answers; 503 problem+json otherwise, so a load balancer stops
    sending traffic here until it is back."""
    await ping(wiring.engine)
    return Readiness(status="ready", database="ok")


@router.get("/metrics", include_in_schema=False)
async def prometheus(wiring: Annotated[Wiring, Depends(get_wiring)]) -> Response:
    """Prometheus metrics (registry/http/metrics.py). For the operator's scraper, not for the internet: the
    reverse proxy of compose.yaml does not pass it on."""
    body = await metrics.exposition(wiring.session_factory, wiring.clock.now())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
