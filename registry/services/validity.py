"""Validity periods: default one year, at most five, never ending before they start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def to_utc(value: datetime | None, field: str) -> datetime | None:
    """The same instant in UTC; a time without a zone is refused, since it would be read differently
    by every server and CRM."""
    if value is None:
        return None
    if value.tzinfo is None:
        message = "Give the time with a time zone, such as 2027-01-31T00:00:00+01:00."
        raise InvalidValidity(f"{field} needs a time zone.", [FieldError(field, message)])
    return value.astimezone(UTC)


def resolve(
    now: datetime, valid_from: datetime | None, valid_until: datetime | None
) -> tuple[datetime, datetime]:
    """Fill in the defaults for a new mandate and refuse what the rules do not allow."""
    start = to_utc(valid_from, "valid_from")
    end = to_utc(valid_until, "valid_until")
    start = now if start is None or now - START_TOLERANCE <= start <= now else start
    check_start(start, now)
    end = end or add_years(start, DEFAULT_YEARS)
    check_end(start, end, now)
    return start, end


def check_start(start: datetime, now: datetime) -> None:
    if start < now - START_TOLERANCE:
        _refuse("valid_from", "A mandate cannot start in the past.")
    if start > now + LATEST_START:
        _refuse("valid_from", "A mandate must start within a year from now.")


def check_end(start: datetime, end: datetime, now: datetime) -> None:
    if end <= start:
        _refuse("valid_until", "The end must come after the start.")
    if end <= now:
        _refuse("valid_until", "The end must lie in the future.")
    if end > add_years(start, MAXIMUM_YEARS):
        _refuse("valid_until", f"A mandate lasts at most {MAXIMUM_YEARS} years from its start.")


def _refuse(field: str, message: str) -> None:
    raise InvalidValidity(message, [FieldError(field, message)])
