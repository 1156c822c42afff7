"""Business rules. Services flush, never commit; the request or `session_scope()` commits once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from registry.clock import Clock
from registry.settings import Keys

if TYPE_CHECKING:
    from registry.email.render import Mailer


@dataclass
class ServiceContext:
    """What every service function needs: the unit of work, the clock, the outbox writer and the keys."""

    session: AsyncSession
    clock: Clock
    mailer: Mailer
    keys: Keys
