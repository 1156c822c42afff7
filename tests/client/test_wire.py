"""What the two clients share, without a server: the request builder, the error classes, the retry rules
and the event-stream reader; and that the two clients offer the same methods with the same arguments."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from mandate_registry_client import (
    AsyncClient,
    Client,
    Conflict,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidInput,
    MandateRegistryError,
    NotFound,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
)
from mandate_registry_client._wire import EventStreamReader, RequestBuilder
from mandate_registry_client.errors import BY_CODE, BY_STATUS, error_class, error_from_response

from registry import errors as registry_errors
from registry.http.statuses import status_of

BUILD = RequestBuilder("https://registry.example.nl/", "mrk_secret")
NOT_IN_THE_API = {
    "registry_error",
    "organisation_exists",
    "organisation_not_found",
    "holder_not_found",
    "api_key_not_found",
    "member_not_found",
    "configuration_error",
}


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "https://registry.example.nl/v1/x")
    return httpx.Response(status, json=body, headers=headers, request=request)


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_both_clients_offer_the_same_calls_with_the_same_arguments() -> None:
    sync, asynchronous = public_methods(Client), public_methods(AsyncClient)
    assert set(sync) - {"close"} == set(asynchronous) - {"aclose"}
    for name in set(sync) - {"close"}:
        assert sync[name].parameters == asynchronous[name].parameters, name


class TestRequestBuilder:
    def test_every_post_gets_a_fresh_idempotency_key_unless_the_caller_gives_one(self) -> None:
        calls = [
            BUILD.verify(
                code="1",
                reference="M",
                customer_reference=None,
                action=None,
                customer_email=None,
                agent_id=None,
                idempotency_key=None,
            )
            for _ in range(2)
        ]
        keys = [call.headers["Idempotency-Key"] for call in calls]
        assert len(set(keys)) == 2 and all(len(key) == 36 for key in keys)
        assert BUILD.confirm_customer("M-1", idempotency_key="mine").headers["Idempotency-Key"] == "mine"
        assert "Idempotency-Key" not in BUILD.withdraw_customer_confirmation("M-1").headers
        assert "Idempotency-Key" not in BUILD.get_mandate("M-1").headers

    def test_the_body_leaves_out_what_is_not_given_and_names_the_reference_as_the_api_does(self) -> None:
        call = BUILD.verify(
            code="4829 1337",
            reference="M-7K3Q-9XPD-Q",
            customer_reference=None,
            action="billing",
            customer_email=None,
            agent_id=None,
            idempotency_key=None,
        )
        assert (call.method, call.url) == ("POST", "https://registry.example.nl/v1/verifications")
        assert call.json == {"mandate_reference": "M-7K3Q-9XPD-Q", "code": "4829 1337", "action": "billing"}
        assert call.headers["Authorization"] == "Bearer mrk_secret"

    def test_ids_are_one_path_segment_and_the_query_has_only_what_is_given(self) -> None:
        assert BUILD.get_mandate("M 7K3Q/9XPD?Q").url.endswith("/v1/mandates/M%207K3Q%2F9XPD%3FQ")
        assert BUILD.list_mandates(customer_reference=None, status="active", limit=5, cursor=None).params == {
            "status": "active",
            "limit": 5,
        }
        with pytest.raises(ValueError, match="needed"):
            BUILD.get_verification(" ")

    def test_a_scope_that_is_a_string_is_a_mistake(self) -> None:
        with pytest.raises(TypeError, match="list"):
            BUILD.request_mandate(
                customer_reference="KL-1",
                customer_email="a@example.nl",
                proxy_name="Jan",
                relation="partner",
                scope="information",
                proxy_email=None,
                proxy_phone=None,
                valid_until=None,
                note=None,
                agent_id=None,
                language=None,
                idempotency_key=None,
            )

    def test_it_refuses_an_empty_key_or_a_base_url_without_scheme(self) -> None:
        with pytest.raises(ValueError, match="api_key"):
            RequestBuilder("https://registry.example.nl", " ")
        with pytest.raises(ValueError, match="base_url"):
            RequestBuilder("registry.example.nl", "mrk_x")


class TestErrorClasses:
    def test_every_code_the_api_can_answer_has_its_class_under_the_class_of_its_status(self) -> None:
        def tree(cls: type[registry_errors.RegistryError]) -> list[type[registry_errors.RegistryError]]:
            return [cls, *(sub for direct in cls.__subclasses__() for sub in tree(direct))]

        for cls in tree(registry_errors.RegistryError):
            if cls.code in NOT_IN_THE_API:
                continue
            assert cls.code in BY_CODE, f"the client has no class for {cls.code!r}"
            status = status_of(cls())
            assert issubclass(BY_CODE[cls.code], BY_STATUS.get(status, ServerError)), cls.code

    def test_a_code_new_to_the_client_gets_the_class_of_its_status(self) -> None:
        assert error_class(404, "widget_not_found") is NotFound
        assert error_class(409, "something_new") is Conflict
        assert error_class(500, "internal_error") is ServerError
        assert error_class(502, None) is ServerError
        assert error_class(400, "bad_request") is MandateRegistryError
        assert error_class(422, "idempotency_key_reused") is IdempotencyKeyReused
        assert issubclass(IdempotencyKeyReused, InvalidInput) and issubclass(IdempotencyKeyInUse, Conflict)

    def test_a_problem_keeps_its_own_code_and_fields(self) -> None:
        problem = {
            "type": "/problems/widget_missing",
            "title": "No widget",
            "status": 404,
            "detail": "There is no widget 7.",
            "code": "widget_missing",
            "instance": "/v1/widgets/7",
            "errors": [{"field": "id", "message": "Unknown."}],
        }
        error = error_from_response(answer(404, problem))
        assert isinstance(error, NotFound)
        assert (error.code, error.title, error.detail, error.instance) == (
            "widget_missing",
            "No widget",
            "There is no widget 7.",
            "/v1/widgets/7",
        )
        assert [(e.field, e.message) for e in error.errors] == [("id", "Unknown.")]
        assert "There is no widget 7. (widget_missing, HTTP 404)" in str(error)

    def test_an_answer_that_is_not_a_problem_still_gets_a_class(self) -> None:
        request = httpx.Request("GET", "https://registry.example.nl/v1/x")
        gateway = httpx.Response(502, text="<html>Bad Gateway</html>", request=request)
        error = error_from_response(gateway)
        assert isinstance(error, ServerError) and error.code == "internal_error"
        assert "Bad Gateway" in error.detail

    def test_retry_after_as_seconds_or_as_a_date(self) -> None:
        assert error_from_response(answer(503, {}, **{"Retry-After": "5"})).retry_after == 5
        later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
        error = error_from_response(answer(503, {}, **{"Retry-After": later}))
        assert isinstance(error, ServiceUnavailable)
        assert error.retry_after is not None and 25 <= error.retry_after <= 30


class TestRetryPolicy:
    policy = RetryPolicy(max_retries=2, backoff=0.5, max_wait=10)

    def test_busy_keys_and_short_waits_are_retried_with_backoff(self) -> None:
        busy = answer(409, {"code": "idempotency_key_in_use"})
        assert [self.policy.after_response(n, busy) for n in range(3)] == [0.5, 1.0, None]
        assert self.policy.after_response(0, answer(429, {}, **{"Retry-After": "3"})) == 3
        assert self.policy.after_response(0, answer(503, {}, **{"Retry-After": "5"})) == 5

    def test_everything_else_is_answered_at_once(self) -> None:
        assert self.policy.after_response(0, answer(409, {"code": "conflict"})) is None
        assert self.policy.after_response(0, answer(429, {}, **{"Retry-After": "3600"})) is None
        assert self.policy.after_response(0, answer(429, {})) is None
        assert self.policy.after_response(0, answer(200, {})) is None
        assert RetryPolicy(max_retries=0).after_response(0, answer(503, {}, **{"Retry-After": "1"})) is None

    def test_connection_errors_and_timeouts_are_retried_but_mistakes_are_not(self) -> None:
        assert self.policy.after_error(0, httpx.ConnectError("refused")) == 0.5
        assert self.policy.after_error(1, httpx.ReadTimeout("slow")) == 1.0
        assert self.policy.after_error(2, httpx.ConnectError("refused")) is None
        assert self.policy.after_error(0, httpx.UnsupportedProtocol("ftp")) is None


def test_the_event_stream_reader_gives_the_data_of_status_events_only() -> None:
    reader = EventStreamReader()
    lines = [": keep-alive", "", "event: status", 'data: {"a":', "data: 1}", "retry: 2000", "", "data: x", ""]
    assert [found for line in lines if (found := reader.feed(line)) is not None] == ['{"a":\n1}']
