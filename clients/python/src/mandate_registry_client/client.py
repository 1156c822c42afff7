"""`Client` (blocking) and `AsyncClient` (asyncio) for the registry's API. Both build their requests and
read their answers with the same code (`_wire`); they differ only in how they wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Generator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self, TypeVar

import httpx

from mandate_registry_client._wire import (
    Call,
    EventStreamReader,
    RequestBuilder,
    RetryPolicy,
    events_timeout,
    parse_event,
    parse_response,
    rate_limit_of,
)
from mandate_registry_client.errors import error_from_response
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
DEFAULT_TIMEOUT = 10.0


class _Common:
    """Settings both clients keep; see `Client` for what they mean."""

    def __init__(self, base_url: str, api_key: str, retries: RetryPolicy | None) -> None:
        self._build = RequestBuilder(base_url, api_key)
        self._retries = retries if retries is not None else RetryPolicy()
        self.rate_limit: RateLimit | None = None
        """The key's request budget as the last answer that carried one told it."""

    def _keep_budget(self, response: httpx.Response) -> None:
        self.rate_limit = rate_limit_of(response) or self.rate_limit

    @staticmethod
    def _check_options(http_client: object, transport: object) -> None:
        if http_client is not None and transport is not None:
            raise ValueError(
                "pass http_client or transport, not both: give the transport to your http_client"
            )


class Client(_Common):
    """A blocking client. Use it as a context manager, or call `close()` when done.

    `base_url` is the registry's address, such as `https://registry.example.nl`; `api_key` is your
    organisation's key (`mrk_...`). Pass `http_client` to use an `httpx.Client` of your own (it keeps its
    own timeout and is not closed for you), or `transport` to put another httpx transport under the
    client's own. `retries` decides when a call is sent again by itself (see `RetryPolicy`).

    Problem answers raise the error class of their `code` (see `mandate_registry_client.errors`);
    transport failures that outlast the retries raise httpx's own `httpx.TransportError`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: RetryPolicy | None = None,
    ) -> None:
        super().__init__(base_url, api_key, retries)
        self._check_options(http_client, transport)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, call.url, **call.send_arguments())
            except httpx.TransportError as error:
                wait = self._retries.after_error(attempt, error)
                if wait is None:
                    raise
            else:
                self._keep_budget(response)
                wait = self._retries.after_response(attempt, response)
                if wait is None:
                    return parse_response(call, response)
            attempt += 1
            time.sleep(wait)

    def verify(
        self,
        *,
        code: str,
        reference: str | None = None,
        customer_reference: str | None = None,
        action: str | None = None,
        customer_email: str | None = None,
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> VerificationResult:
        """Check the code a caller quotes, for the mandate `reference` they give or for your own
        `customer_reference` (one of the two). `action` asks whether that action is in the scope;
        `customer_email` whether the holder is the customer you have on file. A wrong code is not an
        error: it answers `verified == False`."""
        return self._send(
            self._build.verify(
                code=code,
                reference=reference,
                customer_reference=customer_reference,
                action=action,
                customer_email=customer_email,
                agent_id=agent_id,
                idempotency_key=idempotency_key,
            )
        )

    def get_verification(self, verification_id: str) -> VerificationResult:
        """The receipt of an earlier check, exactly as it was answered then."""
        return self._send(self._build.get_verification(verification_id))

    def request_mandate(
        self,
        *,
        customer_reference: str,
        customer_email: str,
        proxy_name: str,
        relation: str,
        scope: Sequence[str],
        proxy_email: str | None = None,
        proxy_phone: str | None = None,
        valid_until: datetime | None = None,
        note: str | None = None,
        agent_id: str | None = None,
        language: str | None = None,
        idempotency_key: str | None = None,
    ) -> MandateRequest:
        """Register an oral mandate: the registry e-mails `customer_email` (the address on file, never the
        caller's) a link to confirm, narrow or decline it within 24 hours."""
        return self._send(
            self._build.request_mandate(
                customer_reference=customer_reference,
                customer_email=customer_email,
                proxy_name=proxy_name,
                relation=relation,
                scope=scope,
                proxy_email=proxy_email,
                proxy_phone=proxy_phone,
                valid_until=valid_until,
                note=note,
                agent_id=agent_id,
                language=language,
                idempotency_key=idempotency_key,
            )
        )

    def get_mandate_request(self, request_id: str) -> MandateRequest:
        """The holder's answer to an oral mandate so far."""
        return self._send(self._build.get_mandate_request(request_id))

    def watch_mandate_request(self, request_id: str) -> Generator[MandateRequest, None, None]:
        """The request now, and again after each change, until it is confirmed, declined or lapsed."""
        call = self._build.watch_mandate_request(request_id)
        timeout = events_timeout(self._http.timeout)
        with self._http.stream(call.method, call.url, headers=call.headers, timeout=timeout) as response:
            self._keep_budget(response)
            if response.is_error:
                response.read()
                raise error_from_response(response)
            reader = EventStreamReader()
            for line in response.iter_lines():
                if (data := reader.feed(line)) is not None:
                    yield parse_event(call, data)

    def list_mandates(
        self,
        *,
        customer_reference: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Mandate]:
        """One page of your organisation's mandates, optionally of one customer or in one status
        (active, scheduled, expired, revoked). Pass `next_cursor` as `cursor` for the next page."""
        return self._send(
            self._build.list_mandates(
                customer_reference=customer_reference, status=status, limit=limit, cursor=cursor
            )
        )

    def iter_mandates(
        self,
        *,
        customer_reference: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
    ) -> Generator[Mandate, None, None]:
        """Every mandate `list_mandates` would list, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_mandates(
                customer_reference=customer_reference, status=status, limit=page_size, cursor=cursor
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_mandate(self, reference: str) -> Mandate:
        """One of your organisation's mandates; any other reference raises `MandateNotFound`."""
        return self._send(self._build.get_mandate(reference))

    def confirm_customer(self, reference: str, *, idempotency_key: str | None = None) -> Mandate:
        """State, after your own check, that the mandate's holder is your customer: checks then answer
        binding `organisation_confirmed`."""
        return self._send(self._build.confirm_customer(reference, idempotency_key=idempotency_key))

    def withdraw_customer_confirmation(self, reference: str) -> Mandate:
        """Withdraw `confirm_customer`: checks answer binding `unconfirmed` again."""
        return self._send(self._build.withdraw_customer_confirmation(reference))

    def check_reference(self, reference: str) -> str:
        """The reference in canonical form (`M-XXXX-XXXX-X`); raises `InvalidReference` when the agent
        misheard it. Looks nothing up: a valid reference need not exist."""
        return self._send(self._build.check_reference(reference))

    def list_actions(self) -> list[ActionInfo]:
        """The scope vocabulary, with Dutch and English labels."""
        return self._send(self._build.list_actions())

    def health(self) -> str:
        """`ok` while the process serves requests."""
        return self._send(self._build.health())

    def readiness(self) -> Readiness:
        """Whether the service can reach its database; raises `ServiceUnavailable` when it cannot."""
        return self._send(self._build.readiness())


class AsyncClient(_Common):
    """The asyncio twin of `Client`: the same methods, with the same arguments, to be awaited
    (`iter_mandates` and `watch_mandate_request` give async generators: wrap them in
    `contextlib.aclosing` when you may stop early). Use it with `async with`, or await `aclose()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: RetryPolicy | None = None,
    ) -> None:
        super().__init__(base_url, api_key, retries)
        self._check_options(http_client, transport)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.url, **call.send_arguments())
            except httpx.TransportError as error:
                wait = self._retries.after_error(attempt, error)
                if wait is None:
                    raise
            else:
                self._keep_budget(response)
                wait = self._retries.after_response(attempt, response)
                if wait is None:
                    return parse_response(call, response)
            attempt += 1
            await asyncio.sleep(wait)

    async def verify(
        self,
        *,
        code: str,
        reference: str | None = None,
        customer_reference: str | None = None,
        action: str | None = None,
        customer_email: str | None = None,
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> VerificationResult:
        """See `Client.verify`."""
        return await self._send(
            self._build.verify(
                code=code,
                reference=reference,
                customer_reference=customer_reference,
                action=action,
                customer_email=customer_email,
                agent_id=agent_id,
                idempotency_key=idempotency_key,
            )
        )

    async def get_verification(self, verification_id: str) -> VerificationResult:
        """See `Client.get_verification`."""
        return await self._send(self._build.get_verification(verification_id))

    async def request_mandate(
        self,
        *,
        customer_reference: str,
        customer_email: str,
        proxy_name: str,
        relation: str,
        scope: Sequence[str],
        proxy_email: str | None = None,
        proxy_phone: str | None = None,
        valid_until: datetime | None = None,
        note: str | None = None,
        agent_id: str | None = None,
        language: str | None = None,
        idempotency_key: str | None = None,
    ) -> MandateRequest:
        """See `Client.request_mandate`."""
        return await self._send(
            self._build.request_mandate(
                customer_reference=customer_reference,
                customer_email=customer_email,
                proxy_name=proxy_name,
                relation=relation,
                scope=scope,
                proxy_email=proxy_email,
                proxy_phone=proxy_phone,
                valid_until=valid_until,
                note=note,
                agent_id=agent_id,
                language=language,
                idempotency_key=idempotency_key,
            )
        )

    async def get_mandate_request(self, request_id: str) -> MandateRequest:
        """See `Client.get_mandate_request`."""
        return await self._send(self._build.get_mandate_request(request_id))

    async def watch_mandate_request(self, request_id: str) -> AsyncGenerator[MandateRequest, None]:
        """See `Client.watch_mandate_request`."""
        call = self._build.watch_mandate_request(request_id)
        timeout = events_timeout(self._http.timeout)
        async with self._http.stream(
            call.method, call.url, headers=call.headers, timeout=timeout
        ) as response:
            self._keep_budget(response)
            if response.is_error:
                await response.aread()
                raise error_from_response(response)
            reader = EventStreamReader()
            async for line in response.aiter_lines():
                if (data := reader.feed(line)) is not None:
                    yield parse_event(call, data)

    async def list_mandates(
        self,
        *,
        customer_reference: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Mandate]:
        """See `Client.list_mandates`."""
        return await self._send(
            self._build.list_mandates(
                customer_reference=customer_reference, status=status, limit=limit, cursor=cursor
            )
        )

    async def iter_mandates(
        self,
        *,
        customer_reference: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[Mandate, None]:
        """See `Client.iter_mandates`."""
        cursor: str | None = None
        while True:
            page = await self.list_mandates(
                customer_reference=customer_reference, status=status, limit=page_size, cursor=cursor
            )
            for mandate in page.items:
                yield mandate
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_mandate(self, reference: str) -> Mandate:
        """See `Client.get_mandate`."""
        return await self._send(self._build.get_mandate(reference))

    async def confirm_customer(self, reference: str, *, idempotency_key: str | None = None) -> Mandate:
        """See `Client.confirm_customer`."""
        return await self._send(self._build.confirm_customer(reference, idempotency_key=idempotency_key))

    async def withdraw_customer_confirmation(self, reference: str) -> Mandate:
        """See `Client.withdraw_customer_confirmation`."""
        return await self._send(self._build.withdraw_customer_confirmation(reference))

    async def check_reference(self, reference: str) -> str:
        """See `Client.check_reference`."""
        return await self._send(self._build.check_reference(reference))

    async def list_actions(self) -> list[ActionInfo]:
        """See `Client.list_actions`."""
        return await self._send(self._build.list_actions())

    async def health(self) -> str:
        """See `Client.health`."""
        return await self._send(self._build.health())

    async def readiness(self) -> Readiness:
        """See `Client.readiness`."""
        return await self._send(self._build.readiness())
