"""Checking the registry's webhooks, which are signed as the Standard Webhooks specification says."""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any

import standardwebhooks


class WebhookVerificationError(standardwebhooks.WebhookVerificationError):
    """The webhook is not from the registry, was changed on the way, or is too old or too new (more than
    five minutes from now): do not act on it, and answer it with 400."""


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The webhook's JSON body, once its `webhook-id`, `webhook-timestamp` and `webhook-signature`
    headers prove that the registry sent exactly this `payload` (the raw body, not re-serialised JSON)
    just now. `secret` is the endpoint's secret, `whsec_...`. Raises `WebhookVerificationError`."""
    try:
        webhook = standardwebhooks.Webhook(secret)
    except (binascii.Error, standardwebhooks.webhooks.EmptyWebhookSecretError) as exc:
        raise ValueError("secret is not a webhook secret; it looks like whsec_ followed by base64") from exc
    try:
        body = webhook.verify(payload, {name.lower(): value for name, value in headers.items()})
    except standardwebhooks.WebhookVerificationError as exc:
        raise WebhookVerificationError(str(exc)) from exc
    except ValueError as exc:  # a malformed signature header, or a body that is not UTF-8 or JSON
        raise WebhookVerificationError(f"The webhook cannot be read: {exc}") from exc
    if not isinstance(body, dict):
        raise WebhookVerificationError("The webhook's body is not a JSON object")
    return body
