"""The command line's shared parts: the Typer apps, friendly errors, units of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from alembic.util import CommandError as AlembicError
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

from registry import migrations
from registry.db.engine import session_scope, snapshot_scope
from registry.errors import ConfigurationError, RegistryError
from registry.http import logs
from registry.services import (
    ServiceContext,
)
from registry.settings import Settings
from registry.wiring import Wiring

app = typer.Typer(
    help="Mandate Registry: may this caller act for this customer?",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations (companies with a helpdesk).", no_args_is_help=True)
openapi_app = typer.Typer(help="The committed OpenAPI spec.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
keys_app = typer.Typer(help="Secret keys.", no_args_is_help=True)
api_key_app = typer.Typer(help="API keys of organisations.", no_args_is_help=True)
code_app = typer.Typer(help="Call codes (normally issued by holders on the web).", no_args_is_help=True)
authenticator_app = typer.Typer(help="Proxy authenticator apps (TOTP).", no_args_is_help=True)
mandate_app = typer.Typer(help="Mandates (normally granted by holders on the web).", no_args_is_help=True)
member_app = typer.Typer(help="Console members of organisations (admins and agents).", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (org_app, "org"),
    (openapi_app, "openapi"),
    (audit_app, "audit"),
    (keys_app, "keys"),
    (api_key_app, "api-key"),
    (code_app, "code"),
    (authenticator_app, "authenticator"),
    (mandate_app, "mandate"),
    (member_app, "member"),
):
    app.add_typer(sub, name=name)

DEFAULT_SPEC = Path("openapi/openapi.json")
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def friendly(func: F) -> F:
    """Turn configuration, input and database problems into one readable line instead of a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            lines = [f"REGISTRY_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
            raise fail("the settings are not valid:\n  " + "\n  ".join(lines), 2) from None
        except RegistryError as exc:
            raise fail(_with_fields(exc), 2 if isinstance(exc, ConfigurationError) else 1) from None
        except (DBAPIError, OSError) as exc:
            raise fail(f"the database cannot be reached or refused the request: {_first_line(exc)}") from None
        except (AlembicError, ArgumentError, ValueError) as exc:
            raise fail(_first_line(exc), 2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise fail(f"unexpected {exc.__class__.__name__}: {_first_line(exc)}") from None

    return wrapper  # type: ignore[return-value]


def _with_fields(exc: RegistryError) -> str:
    """The error, then each field's problem on a line of its own; a single field whose message is the
    error itself is not said twice."""
    problems = list(getattr(exc, "errors", []))
    if len(problems) == 1 and problems[0].message == exc.detail:
        return f"{exc.detail} ({problems[0].field})"
    return exc.detail + "".join(f"\n  {e.field}: {e.message}" for e in problems)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


T = TypeVar("T")


def with_wiring(work: Callable[[Wiring], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `work` with the process wiring, then close the database pool."""

    async def main() -> T:
        wiring = Wiring.build(settings or Settings())
        try:
            return await work(wiring)
        finally:
            await wiring.engine.dispose()

    return asyncio.run(main())


def in_transaction(
    work: Callable[[ServiceContext], Awaitable[T]],
    settings: Settings | None = None,
    *,
    read_only: bool = False,
) -> T:
    """Run `work` in one committed unit of work, or in one consistent read-only snapshot, on a database
    whose schema is current (the SQLite default is brought up to date first)."""
    settings = settings or Settings()
    ensure_schema(settings)

    async def unit(wiring: Wiring) -> T:
        scope = snapshot_scope if read_only else session_scope
        async with scope(wiring.session_factory) as session:
            return await work(wiring.context(session))

    return with_wiring(unit, settings)


def ensure_schema(settings: Settings) -> None:
    """The SQLite default migrates itself; PostgreSQL must have been upgraded by `db upgrade`."""
    if settings.is_sqlite:
        migrations.upgrade(settings.database_url)
        return

    async def check(wiring: Wiring) -> str | None:
        async with wiring.engine.connect() as connection:
            return await connection.run_sync(migrations.current_revision)

    current = with_wiring(check, settings)
    if current != migrations.head_revision():
        raise ConfigurationError(
            f"the database schema is at {current or 'nothing'}, not at {migrations.head_revision()}: "
            "run `mandate-registry db upgrade` first"
        )


def setup_logging() -> None:
    """The logging of `serve` for the other long-running commands (`worker`): registry/http/logs.py."""
    logs.install(Settings())
