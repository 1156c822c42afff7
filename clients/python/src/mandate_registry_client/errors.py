"""One exception class per problem `code` the registry answers with (RFC 9457 problem+json).

    MandateRegistryError                 any problem answer
    ├── InvalidInput                     invalid_input            422
    │   ├── InvalidReference             invalid_reference
    │   ├── InvalidCode                  invalid_code
    │   ├── InvalidScope                 invalid_scope
    │   ├── InvalidValidity              invalid_validity
    │   └── IdempotencyKeyReused         idempotency_key_reused
    ├── Unauthorized                     unauthorized             401
    ├── Forbidden                        forbidden                403
    ├── RateLimited                      rate_limited             429 (`retry_after`)
    ├── NotFound                         not_found                404
    │   ├── MandateNotFound              mandate_not_found
    │   ├── VerificationNotFound         verification_not_found
    │   ├── MandateRequestNotFound       mandate_request_not_found
    │   ├── WebhookEndpointNotFound      webhook_endpoint_not_found
    │   └── WebhookDeliveryNotFound      webhook_delivery_not_found
    ├── Conflict                         conflict                 409
    │   ├── MandateRequestAnswered       mandate_request_answered
    │   ├── MandateNotActive             mandate_not_active
    │   ├── MandateNotChangeable         mandate_not_changeable
    │   ├── OrganisationInactive         organisation_inactive
    │   └── IdempotencyKeyInUse          idempotency_key_in_use
    └── ServerError                      internal_error           5xx
        └── ServiceUnavailable           service_unavailable      503 (`retry_after`)

A code this client does not know yet becomes the class of its HTTP status (a new 404 code is a
`NotFound`), so that `except NotFound` keeps working when the registry adds codes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one input field; `field` is a dotted path such as `proxy.name`."""

    field: str
    message: str


class MandateRegistryError(Exception):
    """A problem answer from the registry. Switch on the class or on `code`, never on `title`."""

    CODE: ClassVar[str] = "error"

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        instance: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.instance = instance
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self) -> str:
        fields = "".join(f"\n  {e.field}: {e.message}" for e in self.errors)
        return f"{self.detail} ({self.code}, HTTP {self.status}){fields}"


class InvalidInput(MandateRegistryError):
    """The input is not valid; `errors` says which fields and why."""

    CODE = "invalid_input"


class InvalidReference(InvalidInput):
    """Not a valid mandate reference: a character was probably misheard or swapped."""

    CODE = "invalid_reference"


class InvalidCode(InvalidInput):
    CODE = "invalid_code"


class InvalidScope(InvalidInput):
    CODE = "invalid_scope"


class InvalidValidity(InvalidInput):
    CODE = "invalid_validity"


class IdempotencyKeyReused(InvalidInput):
    """This Idempotency-Key was used for another request body within 24 hours: use a new key."""

    CODE = "idempotency_key_reused"


class Unauthorized(MandateRegistryError):
    """No valid API key: missing, unknown, revoked, or sent in the URL."""

    CODE = "unauthorized"


class Forbidden(MandateRegistryError):
    """The API key lacks the scope this call needs."""

    CODE = "forbidden"


class RateLimited(MandateRegistryError):
    """Too many requests; `retry_after` says how many seconds to wait."""

    CODE = "rate_limited"


class NotFound(MandateRegistryError):
    CODE = "not_found"


class MandateNotFound(NotFound):
    CODE = "mandate_not_found"


class VerificationNotFound(NotFound):
    CODE = "verification_not_found"


class MandateRequestNotFound(NotFound):
    CODE = "mandate_request_not_found"


class WebhookEndpointNotFound(NotFound):
    CODE = "webhook_endpoint_not_found"


class WebhookDeliveryNotFound(NotFound):
    CODE = "webhook_delivery_not_found"


class Conflict(MandateRegistryError):
    CODE = "conflict"


class MandateRequestAnswered(Conflict):
    CODE = "mandate_request_answered"


class MandateNotActive(Conflict):
    CODE = "mandate_not_active"


class MandateNotChangeable(Conflict):
    CODE = "mandate_not_changeable"


class OrganisationInactive(Conflict):
    CODE = "organisation_inactive"


class IdempotencyKeyInUse(Conflict):
    """The first request with this Idempotency-Key is still running: send it again in a moment."""

    CODE = "idempotency_key_in_use"


class ServerError(MandateRegistryError):
    CODE = "internal_error"


class ServiceUnavailable(ServerError):
    """The registry cannot reach its database for a moment; `retry_after` says when to try again."""

    CODE = "service_unavailable"


def _all_subclasses(cls: type[MandateRegistryError]) -> list[type[MandateRegistryError]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _all_subclasses(direct))]


BY_CODE: dict[str, type[MandateRegistryError]] = {
    cls.CODE: cls for cls in _all_subclasses(MandateRegistryError)
}
BY_STATUS: dict[int, type[MandateRegistryError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_class(status: int, code: str | None) -> type[MandateRegistryError]:
    """The class for a problem `code`, or for the HTTP `status` when the code is new to this client."""
    if code in BY_CODE:
        return BY_CODE[code]
    if status in BY_STATUS:
        return BY_STATUS[status]
    return ServerError if status >= 500 else MandateRegistryError


def retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds (it may be a number or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def problem_code(response: httpx.Response) -> str | None:
    """The problem `code` of an error answer, or None when the body is not a problem document."""
    body = _json_object(response)
    code = body.get("code")
    return code if isinstance(code, str) else None


def error_from_response(response: httpx.Response) -> MandateRegistryError:
    """The exception for an error answer. A body that is not problem+json (say, a proxy's HTML page)
    still gives the class of its status, with the start of the body as `detail`."""
    body = _json_object(response)
    code = body.get("code") if isinstance(body.get("code"), str) else None
    cls = error_class(response.status_code, code)
    raw_errors = body.get("errors")
    errors = [
        FieldProblem(str(item.get("field", "")), str(item.get("message", "")))
        for item in (raw_errors if isinstance(raw_errors, list) else [])
        if isinstance(item, dict)
    ]
    title = str(body.get("title") or response.reason_phrase or "HTTP error")
    detail = str(body.get("detail") or (response.text[:200] if not body else title) or title)
    return cls(
        response.status_code,
        code or cls.CODE,
        title,
        detail,
        errors=errors,
        instance=str(body["instance"]) if "instance" in body else None,
        retry_after=retry_after(response),
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content) if response.content else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
