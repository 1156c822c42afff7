"""What `Client` and `AsyncClient` share, so that the two never drift: the request builder (a call becomes
method, URL, query, headers and JSON body), the response parser, the retry rules and the event-stream
reader. Nothing here does any I/O."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from mandate_registry_client import __version__
from mandate_registry_client.errors import (
    MandateRegistryError,
    error_from_response,
    problem_code,
    retry_after,
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

T = TypeVar("T")

USER_AGENT = f"mandate-registry-client/{__version__} (python; httpx)"
EVENTS_READ_TIMEOUT = 60.0  # the registry sends a keep-alive comment every 15 seconds


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call, ready to send, and how to read its answer. POSTs carry their Idempotency-Key here,
    so every retry of the call sends the same one."""

    method: str
    url: str
    parse: Callable[[Any], T]
    params: dict[str, str | int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None

    def send_arguments(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.request` and `httpx.AsyncClient.request`."""
        return {"params": self.params, "headers": self.headers, "json": self.json}


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _rfc3339(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("valid_until needs a time zone, such as datetime(..., tzinfo=UTC)")
    return value.isoformat()


class RequestBuilder:
    """Turns each operation of the API into a `Call`. One method per operation, named as the clients
    name it."""

    def __init__(self, base_url: str, api_key: str) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
        if not api_key or not api_key.strip():
            raise ValueError("api_key is empty; use the key the registry gave you (mrk_...)")
        self.base_url = base_url.rstrip("/")
        self._auth = {
            "Authorization": f"Bearer {api_key.strip()}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        }

    def _call(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        accept: str | None = None,
    ) -> Call[T]:
        headers = dict(self._auth)
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        if accept:
            headers["Accept"] = accept
        return Call(method, self.base_url + path, parse, _drop_none(params or {}), headers, json)

    def verify(
        self,
        *,
        code: str,
        reference: str | None,
        customer_reference: str | None,
        action: str | None,
        customer_email: str | None,
        agent_id: str | None,
        idempotency_key: str | None,
    ) -> Call[VerificationResult]:
        body = _drop_none(
            {
                "mandate_reference": reference,
                "customer_reference": customer_reference,
                "code": code,
                "action": action,
                "customer_email": customer_email,
                "agent_id": agent_id,
            }
        )
        return self._call(
            "POST",
            "/v1/verifications",
            VerificationResult.from_json,
            json=body,
            idempotency_key=idempotency_key,
        )

    def get_verification(self, verification_id: str) -> Call[VerificationResult]:
        return self._call(
            "GET", f"/v1/verifications/{_segment(verification_id)}", VerificationResult.from_json
        )

    def request_mandate(
        self,
        *,
        customer_reference: str,
        customer_email: str,
        proxy_name: str,
        relation: str,
        scope: Sequence[str],
        proxy_email: str | None,
        proxy_phone: str | None,
        valid_until: datetime | None,
        note: str | None,
        agent_id: str | None,
        language: str | None,
        idempotency_key: str | None,
    ) -> Call[MandateRequest]:
        if isinstance(scope, str):
            raise TypeError("scope is a list of actions, such as ['information', 'billing']")
        body = _drop_none(
            {
                "customer_reference": customer_reference,
                "customer_email": customer_email,
                "language": language,
                "proxy": _drop_none(
                    {"name": proxy_name, "relation": relation, "email": proxy_email, "phone": proxy_phone}
                ),
                "scope": list(scope),
                "valid_until": _rfc3339(valid_until) if valid_until else None,
                "note": note,
                "agent_id": agent_id,
            }
        )
        return self._call(
            "POST",
            "/v1/mandate-requests",
            MandateRequest.from_json,
            json=body,
            idempotency_key=idempotency_key,
        )

    def get_mandate_request(self, request_id: str) -> Call[MandateRequest]:
        return self._call("GET", f"/v1/mandate-requests/{_segment(request_id)}", MandateRequest.from_json)

    def watch_mandate_request(self, request_id: str) -> Call[MandateRequest]:
        """The event stream; its `parse` reads the data of one `status` event."""
        return self._call(
            "GET",
            f"/v1/mandate-requests/{_segment(request_id)}/events",
            MandateRequest.from_json,
            accept="text/event-stream",
        )

    def list_mandates(
        self,
        *,
        customer_reference: str | None,
        status: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Call[Page[Mandate]]:
        params = {
            "customer_reference": customer_reference,
            "status": status,
            "limit": limit,
            "cursor": cursor,
        }
        return self._call("GET", "/v1/mandates", Page.of_mandates, params=params)

    def get_mandate(self, reference: str) -> Call[Mandate]:
        return self._call("GET", f"/v1/mandates/{_segment(reference)}", Mandate.from_json)

    def confirm_customer(self, reference: str, *, idempotency_key: str | None) -> Call[Mandate]:
        path = f"/v1/mandates/{_segment(reference)}/customer-confirmation"
        return self._call("POST", path, Mandate.from_json, idempotency_key=idempotency_key)

    def withdraw_customer_confirmation(self, reference: str) -> Call[Mandate]:
        path = f"/v1/mandates/{_segment(reference)}/customer-confirmation"
        return self._call("DELETE", path, Mandate.from_json)

    def check_reference(self, reference: str) -> Call[str]:
        return self._call("GET", f"/v1/references/{_segment(reference)}", _canonical_reference)

    def list_actions(self) -> Call[list[ActionInfo]]:
        return self._call("GET", "/v1/actions", _actions)

    def health(self) -> Call[str]:
        return self._call("GET", "/healthz", _status)

    def readiness(self) -> Call[Readiness]:
        return self._call("GET", "/readyz", Readiness.from_json)


def _segment(value: str) -> str:
    if not value or not value.strip():
        raise ValueError("an id or reference is needed")
    return quote(value, safe="")


def _canonical_reference(data: dict[str, Any]) -> str:
    return str(data["reference"])


def _actions(data: dict[str, Any]) -> list[ActionInfo]:
    return [ActionInfo.from_json(item) for item in data["items"]]


def _status(data: dict[str, Any]) -> str:
    return str(data["status"])


def parse_response(call: Call[T], response: httpx.Response) -> T:
    """The answer as the call's model, or the error class of its problem `code`."""
    if response.is_error:
        raise error_from_response(response)
    try:
        return call.parse(response.json())
    except (ValueError, KeyError, TypeError) as exc:
        raise MandateRegistryError(
            response.status_code,
            "unexpected_answer",
            "The answer is not what this client expected",
            f"{call.method} {call.url} answered {response.text[:200]!r}",
        ) from exc


_NUMBERS = re.compile(r"\b([qwrt])=(\d+)")


def rate_limit_of(response: httpx.Response) -> RateLimit | None:
    """The budget from the `RateLimit-Policy` (`q`, `w`) and `RateLimit` (`r`, `t`) headers, if any."""
    if "ratelimit" not in response.headers or "ratelimit-policy" not in response.headers:
        return None
    found = dict(_NUMBERS.findall(response.headers["ratelimit-policy"] + ";" + response.headers["ratelimit"]))
    if set(found) != {"q", "w", "r", "t"}:
        return None
    return RateLimit(
        limit=int(found["q"]), window=int(found["w"]), remaining=int(found["r"]), reset=int(found["t"])
    )


@dataclass(frozen=True)
class RetryPolicy:
    """When a client sends a call again by itself: after a connection error or timeout, after 409
    `idempotency_key_in_use`, and after 429 or 503 whose `Retry-After` is at most `max_wait` seconds.
    At most `max_retries` times, waiting `backoff`, then twice that, and so on. POSTs keep their
    Idempotency-Key, so a retry never does the work twice. `RetryPolicy(max_retries=0)` turns it off."""

    max_retries: int = 2
    backoff: float = 0.5
    max_wait: float = 10.0

    RETRIED_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

    def after_error(self, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before retry number `attempt + 1` after a transport error, or None to give up."""
        if attempt >= self.max_retries or not isinstance(error, self.RETRIED_ERRORS):
            return None
        return self._backoff(attempt)

    def after_response(self, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before sending the call again after this answer, or None to keep the answer."""
        if attempt >= self.max_retries:
            return None
        if response.status_code == 409 and problem_code(response) == "idempotency_key_in_use":
            return self._backoff(attempt)
        if response.status_code in (429, 503):
            wait = retry_after(response)
            if wait is not None and wait <= self.max_wait:
                return wait
        return None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2.0**attempt, self.max_wait)


@dataclass
class EventStreamReader:
    """Reads a `text/event-stream` line by line (as the server-sent events standard says) and gives the
    data of each complete event named `status`."""

    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> str | None:
        """The data of the event this line completes, or None."""
        if line == "":
            event, data = self._event, self._data
            self._event, self._data = "", []
            return "\n".join(data) if data and event == "status" else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


def parse_event(call: Call[T], data: str) -> T:
    try:
        return call.parse(json.loads(data))
    except (ValueError, KeyError, TypeError) as exc:
        raise MandateRegistryError(
            200, "unexpected_answer", "The event is not what this client expected", data[:200]
        ) from exc


def events_timeout(timeout: httpx.Timeout) -> httpx.Timeout:
    """The client's timeout, but patient enough on reads to outlast the gaps between keep-alives."""
    read = None if timeout.read is None else max(timeout.read, EVENTS_READ_TIMEOUT)
    return httpx.Timeout(connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool)
