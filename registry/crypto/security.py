"""Hashing, encryption, token generation and constant-time compares. Keys come from `Settings.keys()`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.settings import Keys

TOKEN_BYTES = 32  # 256 bits for e-mailed links
T = TypeVar("T")


def new_token() -> str:
    """A URL-safe random token of 256 bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def keyed_hash(keys: Keys, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value`, separated per purpose so that a hash from one use never fits another."""
    message = purpose.encode() + b"\x00" + value.encode()
    return hmac.new(keys.hmac_key, message, hashlib.sha256).hexdigest()


def keyed_hashes(keys: Keys, purpose: str, value: str) -> list[str]:
    """`keyed_hash` with the current key, then with each previous one (during an HMAC key rotation)."""
    message = purpose.encode() + b"\x00" + value.encode()
    return [
        hmac.new(key, message, hashlib.sha256).hexdigest()
        for key in (keys.hmac_key, *keys.previous_hmac_keys)
    ]


async def first_found(
    keys: Keys, purpose: str, value: str, lookup: Callable[[str], Awaitable[T | None]]
) -> T | None:
    """What `lookup` finds for the value's keyed hash: the current key's, else a previous key's."""
    for digest in keyed_hashes(keys, purpose, value):
        found = await lookup(digest)
        if found is not None:
            return found
    return None


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def encrypt(keys: Keys, plaintext: bytes, associated: bytes = b"") -> str:
    """AES-256-GCM; the result names its key id so that old values still open after a rotation."""
    nonce = os.urandom(12)
    sealed = AESGCM(keys.encryption_key[:32]).encrypt(nonce, plaintext, associated)
    return f"{keys.encryption_key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(keys: Keys, token: str, associated: bytes = b"") -> bytes:
    """Open a value sealed by `encrypt`, with the current key or a previous one (during a rotation)."""
    key_id, _, payload = token.partition(":")
    raw = base64.urlsafe_b64decode(payload)
    return AESGCM(keys.encryption_key_for(key_id)[:32]).decrypt(raw[:12], raw[12:], associated)


def is_current(keys: Keys, token: str) -> bool:
    """Whether `token` is sealed with the current encryption key."""
    return token.partition(":")[0] == keys.encryption_key_id
