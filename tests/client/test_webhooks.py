"""verify_webhook against payloads signed by the `standardwebhooks` library, as the registry signs them."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks
from mandate_registry_client import WebhookVerificationError, verify_webhook

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
PAYLOAD = json.dumps(
    {"type": "mandate.revoked", "data": {"reference": "M-7K3Q-9XPD-Q"}}, separators=(",", ":")
).encode()


def signed(payload: bytes = PAYLOAD, secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    """The headers the registry sends with `payload`."""
    at = at or datetime.now(UTC)
    signature = standardwebhooks.Webhook(secret).sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", at, payload.decode())
    return {
        "Webhook-Id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "Webhook-Timestamp": str(int(at.timestamp())),
        "Webhook-Signature": signature,
    }


def test_a_signed_payload_is_accepted_and_parsed() -> None:
    assert verify_webhook(PAYLOAD, signed(), SECRET) == json.loads(PAYLOAD)


def test_one_of_several_signatures_is_enough() -> None:
    headers = signed()
    old = signed(secret="whsec_" + base64.b64encode(b"an older secret of the endpoint").decode())
    headers["Webhook-Signature"] = f"{old['Webhook-Signature']} {headers['Webhook-Signature']}"
    assert verify_webhook(PAYLOAD, headers, SECRET)["type"] == "mandate.revoked"


def signed_at(minutes: int) -> dict[str, str]:
    return signed(at=datetime.now(UTC) + timedelta(minutes=minutes))


# Each case is made when its test runs, not when tests are collected, so that time does not pass in between.
REFUSED: dict[str, Callable[[], tuple[bytes, dict[str, str]]]] = {
    "tampered body": lambda: (PAYLOAD.replace(b"revoked", b"granted"), signed()),
    "re-serialised body": lambda: (PAYLOAD + b" ", signed()),
    "other id": lambda: (PAYLOAD, {**signed(), "Webhook-Id": "msg_other"}),
    "replayed later": lambda: (PAYLOAD, signed_at(-6)),
    "from the future": lambda: (PAYLOAD, signed_at(6)),
    "other secret": lambda: (PAYLOAD, signed(secret="whsec_" + base64.b64encode(b"not ours").decode())),
    "no signature": lambda: (PAYLOAD, {k: v for k, v in signed().items() if k != "Webhook-Signature"}),
    "malformed signature": lambda: (PAYLOAD, {**signed(), "Webhook-Signature": "not-a-signature"}),
    "malformed timestamp": lambda: (PAYLOAD, {**signed(), "Webhook-Timestamp": "yesterday"}),
    "not UTF-8": lambda: (b"\xff\xfe", signed()),
}


@pytest.mark.parametrize("case", REFUSED)
def test_anything_else_is_refused(case: str) -> None:
    payload, headers = REFUSED[case]()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(payload, headers, SECRET)


def test_the_error_is_also_the_standard_librarys() -> None:
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verify_webhook(PAYLOAD.replace(b"M-", b"X-"), signed(), SECRET)


def test_a_signed_body_must_be_a_json_object() -> None:
    with pytest.raises(WebhookVerificationError, match="JSON object"):
        verify_webhook(b"[1, 2]", signed(b"[1, 2]"), SECRET)


def test_a_secret_that_is_not_one_is_a_mistake_of_configuration() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        verify_webhook(PAYLOAD, signed(), "whsec_")
