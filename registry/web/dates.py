"""Dates typed on a form as day, month and year: three short text fields, as GOV.UK and NL Design System
ask them, so a Dutch page never shows a browser's mm/dd/yyyy. A date named `valid_until` comes in as
`valid_until-day`, `valid_until-month` and `valid_until-year`; `_date.html` draws the three fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from registry.email.render import TIMEZONE
from registry.errors import FieldError


def N_(message: str) -> str:
    """Marks a message for the Dutch catalogue; it is translated where it is shown (`field_errors`)."""
    return message


PARTS = ("day", "month", "year")
UNREADABLE = N_("Enter a real date, for example 31 12 2027.")
_DAY_OR_MONTH = re.compile(r"[0-9]{1,2}")
_YEAR = re.compile(r"[0-9]{4}")


class UnreadableDate(FieldError):
    """A date that is not a real day: its own message, whatever the form says about the field otherwise."""


@dataclass(frozen=True)
class DateParts:
    """What was typed in the three fields (or what they start with), as text."""

    day: str = ""
    month: str = ""
    year: str = ""

    @property
    def empty(self) -> bool:
        return not (self.day or self.month or self.year)

    @classmethod
    def of(cls, day: date) -> DateParts:
        return cls(str(day.day), str(day.month), str(day.year))


def parts_of(form: Mapping[str, Any] | None, name: str, default: date | datetime | None = None) -> DateParts:
    """The date `name` as typed on `form`; when the form does not carry it, `default` (a day, or an
    instant read as its day in Amsterdam), else empty fields."""
    form = form or {}
    if any(f"{name}-{part}" in form for part in PARTS) or default is None:
        return DateParts(*(str(form.get(f"{name}-{part}") or "").strip() for part in PARTS))
    return DateParts.of(default.astimezone(TIMEZONE).date() if isinstance(default, datetime) else default)


def parse(parts: DateParts, name: str) -> date | UnreadableDate | None:
    """The day the fields name, None when all three are empty, or the error for field `name`. Leading
    zeros and single digits are fine; a year has four digits; 31 02, a 0 or a letter is not a date."""
    if parts.empty:
        return None
    readable = (
        _DAY_OR_MONTH.fullmatch(parts.day)
        and _DAY_OR_MONTH.fullmatch(parts.month)
        and _YEAR.fullmatch(parts.year)
    )
    if readable:
        try:
            return date(int(parts.year), int(parts.month), int(parts.day))
        except ValueError:
            pass
    return UnreadableDate(name, UNREADABLE)


def instant(
    form: Mapping[str, Any], name: str, errors: list[FieldError], *, end_of_day: bool
) -> datetime | None:
    """The date `name` of a form as an instant in Amsterdam: the start of that day, or its last second.
    None when left empty; a date that cannot be read is added to `errors` and read as None."""
    found = parse(parts_of(form, name), name)
    if isinstance(found, FieldError):
        errors.append(found)
        return None
    if found is None:
        return None
    return datetime.combine(found, time(23, 59, 59) if end_of_day else time(0, 0), TIMEZONE)
