"""The exception tree of the registry. It knows nothing of HTTP.

    RegistryError                  code
    ├── InvalidInput               invalid_input         (field-level problems in `errors`)
    │   ├── InvalidReference       invalid_reference
    │   ├── InvalidCode            invalid_code
    │   ├── InvalidScope           invalid_scope
    │   ├── InvalidValidity        invalid_validity
    │   └── IdempotencyKeyReused   idempotency_key_reused
    ├── NotAuthenticated           unauthorized
    ├── NotPermitted               forbidden
    ├── RateLimited                rate_limited          (`retry_after` seconds)
    ├── NotFound                   not_found
    │   ├── OrganisationNotFound   organisation_not_found
    │   ├── HolderNotFound         holder_not_found
    │   ├── MandateNotFound        mandate_not_found
    │   ├── ApiKeyNotFound         api_key_not_found
    │   ├── VerificationNotFound   verification_not_found
    │   ├── RequestNotFound        mandate_request_not_found
    │   ├── MemberNotFound         member_not_found
    │   ├── WebhookEndpointNotFound  webhook_endpoint_not_found
    │   └── WebhookDeliveryNotFound  webhook_delivery_not_found
    ├── Conflict                   conflict
    │   ├── OrganisationExists     organisation_exists
    │   ├── OrganisationInactive   organisation_inactive
    │   ├── MandateNotChangeable   mandate_not_changeable
    │   ├── MandateNotActive       mandate_not_active
    │   ├── RequestAnswered        mandate_request_answered
    │   └── IdempotencyKeyInUse    idempotency_key_in_use
    └── ConfigurationError         configuration_error

`statuses.py` gives each class its HTTP status, for `api/errors.py` (problem+json) and `web/errors.py`
(pages) alike; the CLI prints them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field; `field` is a dotted path such as `proxy.name`."""

    field: str
    message: str


class RegistryError(Exception):
    code = "registry_error"
    title = "The registry could not handle this request"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)


class InvalidInput(RegistryError):
    code = "invalid_input"
    title = "The input is not valid"

    def __init__(self, detail: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []

    @classmethod
    def for_field(cls, field: str, message: str) -> InvalidInput:
        return cls(message, [FieldError(field, message)])


class InvalidReference(InvalidInput):
    code = "invalid_reference"
    title = "This is not a valid mandate reference"


class InvalidCode(InvalidInput):
    code = "invalid_code"
    title = "This is not a valid code"


class InvalidScope(InvalidInput):
    code = "invalid_scope"
    title = "The scope is not valid"


class InvalidValidity(InvalidInput):
    code = "invalid_validity"
    title = "The validity period is not valid"


class NotAuthenticated(RegistryError):
    code = "unauthorized"
    title = "A valid API key is needed"


class NotPermitted(RegistryError):
    code = "forbidden"
    title = "This API key may not do this"


class RateLimited(RegistryError):
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotFound(RegistryError):
    code = "not_found"
    title = "Not found"


class OrganisationNotFound(NotFound):
    code = "organisation_not_found"
    title = "No such organisation"


class HolderNotFound(NotFound):
    code = "holder_not_found"
    title = "No such holder"


class MandateNotFound(NotFound):
    code = "mandate_not_found"
    title = "No such mandate"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    title = "No such API key"


class VerificationNotFound(NotFound):
    code = "verification_not_found"
    title = "No such verification"


class RequestNotFound(NotFound):
    code = "mandate_request_not_found"
    title = "No such mandate request"


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "No such member"


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "No such webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "No such webhook delivery"


class Conflict(RegistryError):
    code = "conflict"
    title = "The request conflicts with the current state"


class OrganisationExists(Conflict):
    code = "organisation_exists"
    title = "An organisation with this slug already exists"


class OrganisationInactive(Conflict):
    code = "organisation_inactive"
    title = "This organisation does not accept mandates at the moment"


class MandateNotChangeable(Conflict):
    code = "mandate_not_changeable"
    title = "This mandate can no longer be changed"


class MandateNotActive(Conflict):
    code = "mandate_not_active"
    title = "This mandate is not active"


class RequestAnswered(Conflict):
    """The holder answered the request already (a link works once), or its 24 hours are over."""

    code = "mandate_request_answered"
    title = "This request has been answered or has lapsed"


class IdempotencyKeyInUse(Conflict):
    """A request with this `Idempotency-Key` is still running: wait a moment and send it again."""

    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still running"


class IdempotencyKeyReused(InvalidInput):
    """This `Idempotency-Key` was used in the last 24 hours with another request body: use a new key for a
    new request."""

    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used for another request"


class ConfigurationError(RegistryError):
    code = "configuration_error"
    title = "The registry is not configured correctly"
