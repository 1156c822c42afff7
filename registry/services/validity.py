"""Validity periods: default one year, at most five, never ending before they start."""

from __future__ import annotations

from datetime import datetime, timedelta

from registry.errors import FieldError, InvalidValidity

DEFAULT_YEARS = 1
MAXIMUM_YEARS = 5
# A start this far in the past is taken as "now" (clocks of browsers and CRMs drift); earlier is refused.
START_TOLERANCE = timedelta(minutes=5)
LATEST_START = timedelta(days=366)


def add_years(moment: datetime, years: int) -> datetime:
    """The same instant `years` later on the calendar; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def require_aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidValidity(
            f"{field} needs a time zone.",
            [FieldError(field, "Give the time with a time zone, such as 2027-01-31T00:00:00+01:00.")],
        )


def resolve(
    now: datetime, valid_from: datetime | None, valid_until: datetime | None
) -> tuple[datetime, datetime]:
    """Fill in the defaults and refuse what the rules do not allow."""
    require_aware(valid_from, "valid_from")
    require_aware(valid_until, "valid_until")
    start = now if valid_from is None or now - START_TOLERANCE <= valid_from <= now else valid_from
    if start < now - START_TOLERANCE:
        _refuse("valid_from", "A mandate cannot start in the past.")
    if start > now + LATEST_START:
        _refuse("valid_from", "A mandate must start within a year from now.")
    end = valid_until or add_years(start, DEFAULT_YEARS)
    check_end(start, end, now)
    return start, end


def check_end(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        _refuse("valid_until", "The end must come after the start.")
    if end <= now:
        _refuse("valid_until", "The end must lie in the future.")
    if end > add_years(start, MAXIMUM_YEARS):
        _refuse("valid_until", f"A mandate lasts at most {MAXIMUM_YEARS} years from its start.")


def _refuse(field: str, message: str) -> None:
    raise InvalidValidity(message, [FieldError(field, message)])
