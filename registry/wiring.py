"""The objects one process shares: built once from settings by `create_app` or the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from registry.clock import Clock, SystemClock
from registry.db.engine import SessionFactory, create_engine, create_session_factory
from registry.email.render import Mailer, Renderer
from registry.email.senders import EmailSender, build_sender
from registry.http.ratelimit import RequestBudget
from registry.services import ServiceContext
from registry.settings import Keys, Settings
from registry.worker.outbox import OutboxWorker


@dataclass
class Wiring:
    settings: Settings
    keys: Keys
    engine: AsyncEngine
    session_factory: SessionFactory
    clock: Clock
    sender: EmailSender
    mailer: Mailer
    budget: RequestBudget

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        sender: EmailSender | None = None,
        engine: AsyncEngine | None = None,
    ) -> Wiring:
        engine = engine or create_engine(settings)
        return cls(
            settings=settings,
            keys=settings.keys(),
            engine=engine,
            session_factory=create_session_factory(engine),
            clock=clock or SystemClock(),
            sender=sender or build_sender(settings),
            mailer=Mailer(Renderer(), settings.email_from, settings.base_url),
            budget=RequestBudget(settings.rate_limit, settings.rate_limit_storage),
        )

    def context(self, session: AsyncSession) -> ServiceContext:
        return ServiceContext(session=session, clock=self.clock, mailer=self.mailer, keys=self.keys)

    def worker(self, name: str | None = None) -> OutboxWorker:
        return OutboxWorker(self.session_factory, self.sender, self.clock, self.settings, name=name)
