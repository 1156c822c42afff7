from __future__ import annotations

import random

import pytest

from registry.domain.references import ALPHABET, is_consistent, new_reference, parse_reference
from registry.errors import InvalidReference

SAMPLES = 10_000


def compact(reference: str) -> str:
    return reference.replace("-", "")[1:]


class TestCheckCharacter:
    def test_every_substitution_and_adjacent_transposition_is_caught(self) -> None:
        rng = random.Random(20261128)
        missed = []
        for _ in range(SAMPLES):
            body = "".join(rng.choice(ALPHABET) for _ in range(8))
            good = compact(parse_reference(body + _check(body)))
            assert is_consistent(good)
            for i, original in enumerate(good):
                for other in ALPHABET:
                    if other != original and is_consistent(good[:i] + other + good[i + 1 :]):
                        missed.append(("substitution", good, i, other))
            for i in range(len(good) - 1):
                if good[i] != good[i + 1]:
                    swapped = good[:i] + good[i + 1] + good[i] + good[i + 2 :]
                    if is_consistent(swapped):
                        missed.append(("transposition", good, i, ""))
        assert missed == []

    def test_new_references_are_valid_and_distinct(self) -> None:
        references = {new_reference() for _ in range(2000)}
        assert len(references) == 2000
        assert all(parse_reference(r) == r for r in references)

    def test_alphabet_has_no_vowels_or_look_alikes(self) -> None:
        assert not set(ALPHABET) & set("AEIOUY01L")
        look_alikes = [("2", "Z"), ("5", "S"), ("6", "G"), ("8", "B"), ("0", "D")]
        assert all(not (a in ALPHABET and b in ALPHABET) for a, b in look_alikes)
        assert len(ALPHABET) == len(set(ALPHABET)) == 23


def _check(body: str) -> str:
    from registry.domain.references import check_character

    return check_character(body)


class TestForgivingInput:
    REFERENCE = "M-" + "7K3Q-9XPD-" + _check("7K3Q9XPD")

    @pytest.mark.parametrize(
        "typed",
        [
            "{ref}",
            "{lower}",
            "{bare}",
            "{bare_lower}",
            "  {ref}  ",
            "{spaced}",
            "{en_dash}",
            "m {spaced_bare}",
            "{nbsp}",
        ],
    )
    def test_accepts(self, typed: str) -> None:
        ref = self.REFERENCE
        bare = ref[2:]
        typed = typed.format(
            ref=ref,
            lower=ref.lower(),
            bare=bare.replace("-", ""),
            bare_lower=bare.lower(),
            spaced=ref.replace("-", " "),
            en_dash=ref.replace("-", "\u2013"),
            spaced_bare=bare.replace("-", " ").lower(),
            nbsp=ref.replace("-", "\u00a0"),
        )
        assert parse_reference(typed) == ref

    @pytest.mark.parametrize(
        ("typed", "says"),
        [
            ("M-7K3Q-9XPD", "has 9 characters"),
            ("M-7K3Q-9XPD-44", "this one has 10"),
            ("M-7K3O-9XPD-4", "never contains 'O'"),
            ("M-7K3Q-2XPD-4", "never contains '2'"),
            ("", "this one has 0"),
        ],
    )
    def test_refuses_with_a_reason(self, typed: str, says: str) -> None:
        with pytest.raises(InvalidReference, match=says) as caught:
            parse_reference(typed)
        assert caught.value.errors[0].field == "reference"

    def test_a_misheard_character_fails_the_check(self) -> None:
        wrong = self.REFERENCE[:3] + ("X" if self.REFERENCE[3] != "X" else "Z") + self.REFERENCE[4:]
        with pytest.raises(InvalidReference, match="check character"):
            parse_reference(wrong)
