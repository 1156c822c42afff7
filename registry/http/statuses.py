"""Which HTTP status each registry error is: one table for the API (problem+json) and the pages.

`registry/errors.py` knows nothing of HTTP; `api/errors.py` and `web/errors.py` both map through here, and
never import each other. The API's documented error answers are derived from the same table
(`api/errors.responses`), from the exceptions a route can raise.
"""

from __future__ import annotations

from registry import errors

# Most specific class first; the first match decides the status.
STATUS: list[tuple[type[errors.RegistryError], int]] = [
    (errors.NotAuthenticated, 401),
    (errors.NotPermitted, 403),
    (errors.RateLimited, 429),
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.ConfigurationError, 500),
]


def status_of_class(cls: type[errors.RegistryError]) -> int:
    return next((status for each, status in STATUS if issubclass(cls, each)), 500)


def status_of(exc: errors.RegistryError) -> int:
    return status_of_class(type(exc))
