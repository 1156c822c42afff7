"""Rotating the encryption key (services/keyring.py): values stay readable with the previous key, and
`reencrypt` seals every stored secret with the new one."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from registry.crypto.security import decrypt, encrypt
from registry.errors import ConfigurationError
from registry.models import Authenticator, Holder, Organisation, WebhookEndpoint
from registry.services import ServiceContext, authenticators, keyring, mandates, webhooks
from registry.settings import Keys, new_key
from tests.conftest import make_settings


async def test_reencrypt_moves_every_secret_to_the_new_key(
    ctx: ServiceContext, organisation: Organisation, holder: Holder
) -> None:
    draft = mandates.Draft(
        organisation="energie-bv", proxy=mandates.Proxy("Jan de Vries", "partner"), scope=["information"]
    )
    mandate = await mandates.grant(ctx, holder, draft)
    secret = (await authenticators.enrol(ctx, mandate)).secret
    endpoint, signing = await webhooks.create_endpoint(
        ctx, organisation, "https://crm.example.com/hooks", allow_private=True, actor="test"
    )
    old = ctx.keys
    new = Keys(old.hmac_key, b"n" * 32, "k2", previous_encryption_keys={"k1": old.encryption_key})
    rotated = ServiceContext(session=ctx.session, clock=ctx.clock, mailer=ctx.mailer, keys=new)
    assert await keyring.reencrypt(rotated) == {"authenticator": 1, "webhook_endpoint": 1}
    assert await keyring.reencrypt(rotated) == {"authenticator": 0, "webhook_endpoint": 0}

    only_new = Keys(old.hmac_key, new.encryption_key, "k2")  # the previous key dropped
    stored = (
        await ctx.session.execute(select(Authenticator).where(col(Authenticator.mandate_id) == mandate.id))
    ).scalar_one()
    assert stored.secret_encrypted.startswith("k2:")
    assert decrypt(only_new, stored.secret_encrypted, mandate.reference.encode()).decode() == secret
    hook = await ctx.session.get(WebhookEndpoint, endpoint.id)
    assert hook is not None and hook.secret_encrypted.startswith("k2:")
    assert decrypt(only_new, hook.secret_encrypted, hook.public_id.encode()).decode() == signing
    with pytest.raises(ValueError, match="k1"):  # what the old key sealed no longer opens without it
        decrypt(only_new, encrypt(old, b"x"))


def test_previous_keys_are_read_with_their_ids_and_checked() -> None:
    key = new_key()
    keys = make_settings("sqlite+aiosqlite://", previous_encryption_keys=f"k0:{key}").keys()
    assert set(keys.previous_encryption_keys) == {"k0"}
    for wrong in ("k1:" + key, "nocolon", "k0:short"):  # the current id, no id, a short key
        with pytest.raises(ConfigurationError):
            make_settings("sqlite+aiosqlite://", previous_encryption_keys=wrong).keys()
