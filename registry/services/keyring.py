"""Rotating the encryption key: every secret stored encrypted is sealed again with the current key.

The rotation, in order: give the new key a new id (`REGISTRY_ENCRYPTION_KEY`, `REGISTRY_ENCRYPTION_KEY_ID`)
and list the old one in `REGISTRY_PREVIOUS_ENCRYPTION_KEYS`; restart; run `mandate-registry keys
reencrypt`; drop the old key. Values stay readable at every step, because each names its key's id.
"""

from __future__ import annotations

from registry.crypto.security import decrypt, encrypt
from registry.repositories import AuthenticatorRepository, WebhookDeliveryRepository
from registry.services import ServiceContext, audit


async def reencrypt(ctx: ServiceContext) -> dict[str, int]:
    """Seal again, with the current key, every stored secret sealed with another; how many, per kind."""
    current = ctx.keys.encryption_key_id
    moved = {"authenticator": 0, "webhook_endpoint": 0}
    for authenticator, reference in await AuthenticatorRepository(ctx.session).sealed_not_with(current):
        secret = decrypt(ctx.keys, authenticator.secret_encrypted, reference.encode())
        authenticator.secret_encrypted = encrypt(ctx.keys, secret, reference.encode())
        moved["authenticator"] += 1
    for endpoint in await WebhookDeliveryRepository(ctx.session).endpoints_sealed_not_with(current):
        secret = decrypt(ctx.keys, endpoint.secret_encrypted, endpoint.public_id.encode())
        endpoint.secret_encrypted = encrypt(ctx.keys, secret, endpoint.public_id.encode())
        moved["webhook_endpoint"] += 1
    await audit.record(ctx, "registry", "keys.reencrypted", "operator", {"key_id": current, **moved})
    return moved
