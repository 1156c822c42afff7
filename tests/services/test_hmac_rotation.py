"""Rotating the HMAC key (REGISTRY_PREVIOUS_HMAC_KEYS): what was hashed with the previous key is still
found, API keys are hashed anew when used so that they outlive it, and once it is dropped the rest stops."""

from __future__ import annotations

import pytest

from registry.errors import NotAuthenticated
from registry.models import Holder, Organisation
from registry.services import ServiceContext, api_keys, codes, mandates, sign_in
from registry.services import verifications as v
from registry.settings import Keys, new_key
from tests.conftest import make_settings


def rotated(ctx: ServiceContext, keys: Keys) -> ServiceContext:
    return ServiceContext(session=ctx.session, clock=ctx.clock, mailer=ctx.mailer, keys=keys)


async def test_the_previous_key_still_finds_and_api_keys_move_to_the_new(
    ctx: ServiceContext, organisation: Organisation, holder: Holder
) -> None:
    _, secret = await api_keys.create(ctx, "energie-bv", "crm", ["verify"])
    session_secret = (await sign_in.open_session(ctx, holder)).secret
    draft = mandates.Draft(
        organisation="energie-bv", proxy=mandates.Proxy("Jan de Vries", "partner"), scope=["information"]
    )
    mandate = await mandates.grant(ctx, holder, draft)
    code = (await codes.issue(ctx, mandate)).code
    await ctx.session.flush()

    old = ctx.keys
    new = Keys(b"h" * 32, old.encryption_key, old.encryption_key_id, previous_hmac_keys=(old.hmac_key,))
    during = rotated(ctx, new)
    caller = await api_keys.authenticate(during, secret)  # found with the previous key, hashed anew
    assert caller.key.key_hash == api_keys._hash(during, secret)
    assert await sign_in.current(during, session_secret) is not None
    answer = await v.verify(during, caller, v.Check(code=code, mandate_reference=mandate.reference))
    assert '"result":"verified"' in answer  # a code issued before the rotation

    after = rotated(ctx, Keys(new.hmac_key, old.encryption_key, old.encryption_key_id))
    assert (await api_keys.authenticate(after, secret)).key.id == caller.key.id  # outlives the old key
    assert await sign_in.current(after, session_secret) is None  # short-lived: made with the old key
    with pytest.raises(NotAuthenticated):
        await api_keys.authenticate(after, "mrk_" + "x" * 32)


def test_previous_hmac_keys_are_checked() -> None:
    keys = make_settings("sqlite+aiosqlite://", previous_hmac_keys=f"{new_key()}, {new_key()}").keys()
    assert len(keys.previous_hmac_keys) == 2
    with pytest.raises(Exception, match="REGISTRY_PREVIOUS_HMAC_KEYS"):
        make_settings("sqlite+aiosqlite://", previous_hmac_keys="short").keys()
