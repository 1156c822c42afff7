"""Python client for the Mandate Registry API: check a caller's code, register oral mandates, look up
your organisation's mandates, and verify the registry's webhooks.

    from mandate_registry_client import Client
    with Client("https://registry.example.nl", api_key="mrk_...") as registry:
        print(registry.verify(reference="M-7K3Q-9XPD-Q", code="4829 1337").verified)
"""

__version__ = "0.1.0"

from mandate_registry_client._wire import RetryPolicy
from mandate_registry_client.client import AsyncClient, Client
from mandate_registry_client.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidCode,
    InvalidInput,
    InvalidReference,
    InvalidScope,
    InvalidValidity,
    MandateNotActive,
    MandateNotChangeable,
    MandateNotFound,
    MandateRegistryError,
    MandateRequestAnswered,
    MandateRequestNotFound,
    NotFound,
    OrganisationInactive,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    VerificationNotFound,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
)
from mandate_registry_client.models import (
    ActionInfo,
    Mandate,
    MandateRequest,
    Page,
    RateLimit,
    Readiness,
    VerificationResult,
)
from mandate_registry_client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ActionInfo",
    "AsyncClient",
    "Client",
    "Conflict",
    "FieldProblem",
    "Forbidden",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
    "InvalidCode",
    "InvalidInput",
    "InvalidReference",
    "InvalidScope",
    "InvalidValidity",
    "Mandate",
    "MandateNotActive",
    "MandateNotChangeable",
    "MandateNotFound",
    "MandateRegistryError",
    "MandateRequest",
    "MandateRequestAnswered",
    "MandateRequestNotFound",
    "NotFound",
    "OrganisationInactive",
    "Page",
    "RateLimit",
    "RateLimited",
    "Readiness",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "VerificationNotFound",
    "VerificationResult",
    "WebhookDeliveryNotFound",
    "WebhookEndpointNotFound",
    "WebhookVerificationError",
    "__version__",
    "verify_webhook",
]
