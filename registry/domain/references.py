"""Mandate references such as `M-7K3Q-9XPD-Q`: speakable, not secret, with a check character.

The alphabet has no vowels (no words, no O/0 or I/1 confusion) and no look-alikes: of the pairs 2/Z,
5/S, 6/G and 8/B only the letter stays, and L (1) and Y are left out. That leaves 23 characters, a prime.
The check character is a weighted sum modulo 23 with weights 1..9: every weight and every difference of
neighbouring weights is a unit modulo 23, so every single substitution and every swap of two neighbouring
characters, the check character included, changes the sum and is caught before any lookup.
"""

from __future__ import annotations

import re
import secrets

from registry.errors import FieldError, InvalidReference

ALPHABET = "3479BCDFGHJKMNPQRSTVWXZ"
MODULUS = len(ALPHABET)  # 23, a prime
BODY_LENGTH = 8
PREFIX = "M"
WEIGHTS = tuple(range(1, BODY_LENGTH + 2))  # 1..9: all below 23, so all units, neighbours differ by 1
_VALUES = {char: index for index, char in enumerate(ALPHABET)}
# Spaces of every kind, hyphen, en and em dash, minus sign, dots and slashes people type between groups.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212._/]+")
# "M-", "m " and the like: a prefix the reader meant, so what follows must be the whole reference.
_EXPLICIT_PREFIX = re.compile(r"^\s*[Mm][\s\-\u2010-\u2015\u2212._/]+")


def check_character(body: str) -> str:
    total = sum(weight * _VALUES[char] for weight, char in zip(WEIGHTS, body, strict=False))
    check_weight = WEIGHTS[len(body)]
    # Solve total + check_weight * c == 0 (mod 23); check_weight is a unit, so c is unique.
    value = (-total * pow(check_weight, -1, MODULUS)) % MODULUS
    return ALPHABET[value]


def is_consistent(compact: str) -> bool:
    """True when the last character is the right check character for the rest."""
    total = sum(weight * _VALUES[char] for weight, char in zip(WEIGHTS, compact, strict=True))
    return total % MODULUS == 0


def format_reference(compact: str) -> str:
    return f"{PREFIX}-{compact[:4]}-{compact[4:8]}-{compact[8]}"


def new_reference() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return format_reference(body + check_character(body))


def parse_reference(text: str, field: str = "reference") -> str:
    """Turn what a person typed or heard into the canonical `M-XXXX-XXXX-C`, or raise InvalidReference.

    Accepts lower case, any spaces, dashes and en dashes between groups, and a missing `M-` prefix.
    """
    explicit_prefix = _EXPLICIT_PREFIX.match(text)
    compact = _SEPARATORS.sub("", text[explicit_prefix.end() :] if explicit_prefix else text).upper()
    if not explicit_prefix and len(compact) == BODY_LENGTH + 2 and compact.startswith(PREFIX):
        compact = compact[1:]
    if len(compact) != BODY_LENGTH + 1:
        _refuse(
            field,
            f"A mandate reference has {BODY_LENGTH + 1} characters after the M, such as "
            f"M-7K3Q-9XPD-Q; this one has {len(compact)}.",
        )
    strangers = sorted({char for char in compact if char not in _VALUES})
    if strangers:
        _refuse(
            field,
            "A mandate reference never contains "
            + ", ".join(repr(c) for c in strangers)
            + f"; it uses only the characters {ALPHABET}.",
        )
    if not is_consistent(compact):
        _refuse(
            field,
            "The check character does not match: a character was probably misheard or "
            "swapped. Ask the caller to repeat the reference.",
        )
    return format_reference(compact)


def _refuse(field: str, message: str) -> None:
    raise InvalidReference(message, [FieldError(field, message)])
