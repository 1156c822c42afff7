"""Codes through our own code path: RFC vectors, the T-1..T+1 window, the input rule."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from registry.crypto import otp
from registry.errors import InvalidCode

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


class TestRfcVectors:
    @pytest.mark.parametrize(
        ("unix", "expected"),
        [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ],
    )
    def test_rfc6238_appendix_b_sha1(self, unix: int, expected: str) -> None:
        at = datetime.fromtimestamp(unix, UTC)
        assert otp.code_for_step(RFC_SECRET, otp.step_at(at), digits=8) == expected

    @pytest.mark.parametrize(
        ("counter", "expected"),
        list(
            enumerate(
                [
                    "755224",
                    "287082",
                    "359152",
                    "969429",
                    "338314",
                    "254676",
                    "287922",
                    "162583",
                    "399871",
                    "520489",
                ]
            )
        ),
    )
    def test_rfc4226_appendix_d(self, counter: int, expected: str) -> None:
        assert otp.code_for_step(RFC_SECRET, counter, digits=6) == expected


@pytest.fixture
def amsterdam() -> Iterator[None]:
    """Run in a non-UTC zone: pyotp reading local time would be an hour off around a DST change."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Amsterdam"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


STEP = timedelta(seconds=otp.TOTP_STEP_SECONDS)
# 2026-10-25 01:00 UTC is 03:00 CEST becoming 02:00 CET: the autumn change in Amsterdam.
DST_CHANGE = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def _window(at: datetime) -> dict[int, bool]:
    secret = otp.new_totp_secret()
    now = otp.step_at(at)
    return {
        offset: otp.matching_step(secret, otp.code_for_step(secret, now + offset), at) == now + offset
        for offset in (-2, -1, 0, 1, 2)
    }


class TestWindow:
    @pytest.mark.parametrize(
        "into_step", [timedelta(0), timedelta(seconds=15), STEP - timedelta(microseconds=1)]
    )
    def test_previous_current_and_next_step_only(self, into_step: timedelta) -> None:
        start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
        assert _window(start + into_step) == {-2: False, -1: True, 0: True, 1: True, 2: False}

    @pytest.mark.usefixtures("amsterdam")
    @pytest.mark.parametrize(
        "around", [timedelta(minutes=-1), timedelta(0), timedelta(minutes=30), timedelta(hours=1)]
    )
    def test_the_same_at_the_autumn_clock_change_in_amsterdam(self, around: timedelta) -> None:
        assert time.localtime(DST_CHANGE.timestamp()).tm_zone in ("CET", "CEST")
        assert _window(DST_CHANGE + around) == {-2: False, -1: True, 0: True, 1: True, 2: False}

    @pytest.mark.usefixtures("amsterdam")
    def test_the_step_is_the_unix_step_whatever_the_zone(self) -> None:
        local = DST_CHANGE.astimezone(datetime.now().astimezone().tzinfo)
        assert otp.step_at(local) == otp.step_at(DST_CHANGE) == int(DST_CHANGE.timestamp()) // 30
        with pytest.raises(ValueError, match="aware"):
            otp.step_at(datetime(2026, 10, 25, 1, 0))


class TestInput:
    @pytest.mark.parametrize(
        ("typed", "code"),
        [
            ("48291337", "48291337"),
            ("4829 1337", "48291337"),
            ("4829-1337", "48291337"),
            (" 482 913 ", "482913"),
            ("482-913", "482913"),
        ],
    )
    def test_accepts_ascii_digits_with_spaces_and_dashes(self, typed: str, code: str) -> None:
        assert otp.normalise_code(typed) == code

    @pytest.mark.parametrize(
        "typed",
        [
            "４８２９１３３７",  # full-width
            "٤٨٢٩١٣٣٧",  # Arabic-Indic
            "۴۸۲۹۱۳۳۷",  # extended Arabic-Indic
            "4829133",  # 7 digits
            "482913370",
            "48291a37",
            "4829\u00a01337",
            "4829\t1337",
            "",
        ],
    )
    def test_refuses_everything_else(self, typed: str) -> None:
        with pytest.raises(InvalidCode) as caught:
            otp.normalise_code(typed)
        assert caught.value.errors[0].field == "code"

    def test_call_codes_are_8_digits_and_grouped(self) -> None:
        codes = {otp.new_call_code() for _ in range(500)}
        assert all(len(c) == 8 and c.isdigit() for c in codes)
        assert len(codes) > 490
        assert otp.group("48291337") == "4829 1337"

    def test_provisioning_uri_names_the_issuer_and_has_no_padding(self) -> None:
        secret = otp.new_totp_secret()
        assert len(secret) == 32 and "=" not in secret
        uri = otp.provisioning_uri(secret, "Energie BV M-7K3Q-9XPD-Q")
        assert uri.startswith("otpauth://totp/Machtigingenregister:Energie%20BV%20M-7K3Q-9XPD-Q?")
        assert f"secret={secret}" in uri and "issuer=Machtigingenregister" in uri
