"""The request's unit of work, shared by the API and the pages: one session, committed once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from registry.services import ServiceContext
from registry.wiring import Wiring


def wiring_of(request: Request) -> Wiring:
    wiring: Wiring = request.app.state.wiring
    return wiring


async def get_wiring(request: Request) -> Wiring:
    """The process wiring (async, as FastAPI runs a plain function dependency on a worker thread)."""
    return wiring_of(request)


async def get_session(wiring: Annotated[Wiring, Depends(get_wiring)]) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed once after the route returned and before the answer is sent."""
    async with wiring.session_factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_context(session: Session, wiring: Annotated[Wiring, Depends(get_wiring)]) -> ServiceContext:
    return wiring.context(session)


Context = Annotated[ServiceContext, Depends(get_context, scope="function")]
