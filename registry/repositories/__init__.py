"""Every query of the registry, one small method per question. Repositories flush, never commit."""

from registry.repositories.access import ApiKeyRepository
from registry.repositories.audit import GENESIS, SEAL_CHAIN, AuditRepository
from registry.repositories.base import Repository
from registry.repositories.checks import (
    AuthenticatorRepository,
    CodeRepository,
    GuardRepository,
    InvitationRepository,
    VerificationRepository,
)
from registry.repositories.console import ConsoleSessionRepository, HistoryRepository, MemberRepository
from registry.repositories.directory import HolderRepository, MandateRepository, OrganisationRepository
from registry.repositories.outbox import OutboxRepository, WebhookDeliveryRepository
from registry.repositories.requests import (
    IdempotencyRepository,
    MandateRequestRepository,
    RequestBlockRepository,
)
from registry.repositories.web import SessionRepository, SignInRepository

__all__ = [
    "GENESIS",
    "SEAL_CHAIN",
    "ApiKeyRepository",
    "AuditRepository",
    "AuthenticatorRepository",
    "CodeRepository",
    "ConsoleSessionRepository",
    "GuardRepository",
    "HistoryRepository",
    "HolderRepository",
    "IdempotencyRepository",
    "InvitationRepository",
    "MandateRepository",
    "MandateRequestRepository",
    "MemberRepository",
    "OrganisationRepository",
    "OutboxRepository",
    "Repository",
    "RequestBlockRepository",
    "SessionRepository",
    "SignInRepository",
    "VerificationRepository",
    "WebhookDeliveryRepository",
]
