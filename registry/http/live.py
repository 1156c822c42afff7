"""The live status of a mandate request as server-sent events, for the agent console and for CRMs.

Each open stream reads the request's status every `POLL` seconds in a short read transaction of its own,
so a change made through any replica reaches every stream within a second, and no transaction stays
open between reads. The stream ends once the request is answered or has lapsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event

from registry.db.engine import read_scope
from registry.domain.vocabulary import RequestStatus
from registry.repositories import MandateRequestRepository
from registry.services import mandate_requests
from registry.services.mandate_requests import RequestView
from registry.wiring import Wiring

POLL = 0.25
PING = 15.0  # a comment line now and then keeps proxies from closing a quiet stream


async def request_events(
    wiring: Wiring, request_id: int, render: Callable[[RequestView], str]
) -> AsyncIterator[bytes]:
    """`event: status` with `render(view)` as data: now, and after every change, until it is final."""
    last: RequestStatus | None = None
    quiet = 0.0
    while True:
        async with read_scope(wiring.session_factory) as session:
            found = await MandateRequestRepository(session).status_of(request_id)
            if found is None:
                return
            stored, expires_at = found
            status = RequestStatus(stored)
            if status == RequestStatus.pending and wiring.clock.now() >= expires_at:
                status = RequestStatus.lapsed
            view = None
            if status != last:
                view = await mandate_requests.by_id(wiring.context(session), request_id)
        if view is not None:
            yield format_sse_event(data_str=render(view), event="status", retry=2000)
            last, quiet = status, 0.0
        if status != RequestStatus.pending:
            return
        await asyncio.sleep(POLL)
        quiet += POLL
        if quiet >= PING:
            yield KEEPALIVE_COMMENT
            quiet = 0.0
