"""The `mandate-registry` command: serve, worker, database, organisations, spec, audit, demo."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from alembic.util import CommandError as AlembicError
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

from registry import __version__, migrations
from registry.db import session_scope, snapshot_scope
from registry.errors import ConfigurationError, RegistryError
from registry.models import Mandate
from registry.services import (
    ServiceContext,
    api_keys,
    audit,
    authenticators,
    codes,
    demo,
    holders,
    mandates,
    organisations,
)
from registry.settings import Settings, new_key
from registry.wiring import Wiring
from registry.worker import BackgroundWorker

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
            fields = "".join(f"\n  {e.field}: {e.message}" for e in getattr(exc, "errors", []))
            raise fail(f"{exc.detail}{fields}", 2 if isinstance(exc, ConfigurationError) else 1) from None
        except (DBAPIError, OSError) as exc:
            raise fail(f"the database cannot be reached or refused the request: {_first_line(exc)}") from None
        except (AlembicError, ArgumentError, ValueError) as exc:
            raise fail(_first_line(exc), 2) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise fail(f"unexpected {exc.__class__.__name__}: {_first_line(exc)}") from None

    return wrapper  # type: ignore[return-value]


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


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1, max=64)] = 1,
) -> None:
    """Start the web service (and, unless REGISTRY_WORKER_IN_PROCESS=false, the outbox worker)."""
    import uvicorn

    settings = Settings()
    settings.keys()
    ensure_schema(settings)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    typer.echo(
        f"Mandate Registry {__version__} on {url}\n"
        f"  database   {_safe_url(settings.database_url)}\n"
        f"  API docs   {url}/docs\n  health     {url}/healthz\n  readiness  {url}/readyz\n"
        f"  e-mail     {settings.email_backend}"
        f"{' (delivered by this process)' if settings.worker_in_process else ' (run `worker`)'}"
    )
    uvicorn.run(
        "registry.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
@friendly
def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then stop.")] = False,
) -> None:
    """Deliver the outbox (e-mails) and seal the audit trail until stopped with SIGTERM or Ctrl-C."""
    _logging()

    async def work(wiring: Wiring) -> None:
        background = BackgroundWorker(wiring)
        if once:
            delivered = await background.delivery.drain()
            await background.run_round()
            typer.echo(f"delivered {delivered} message(s); audit trail sealed")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await background.run_forever(stop)

    with_wiring(work)


@db_app.command("upgrade")
@friendly
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    settings = Settings()
    migrations.upgrade(settings.database_url, revision)
    typer.echo(f"database {_safe_url(settings.database_url)} is at {revision}")


@org_app.command("create")
@friendly
def org_create(
    slug: Annotated[str, typer.Argument(help="Short name in URLs and the API, such as energie-bv.")],
    name: Annotated[str, typer.Option("--name", help="Display name, such as 'Energie BV'.")],
    language: Annotated[str, typer.Option(help="Default language: nl or en.")] = "nl",
    contact_email: Annotated[
        str | None, typer.Option(help="Where security alerts go (many failed checks with one key).")
    ] = None,
) -> None:
    """Add an organisation to the registry."""
    org = in_transaction(
        lambda ctx: organisations.create(
            ctx, slug, name, default_language=language, contact_email=contact_email
        )
    )
    typer.echo(f"created organisation {org.slug} ({org.display_name})")


@org_app.command("list")
@friendly
def org_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every organisation."""
    orgs = in_transaction(organisations.list_all, read_only=True)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "slug": o.slug,
                        "display_name": o.display_name,
                        "active": o.active,
                        "default_language": o.default_language,
                    }
                    for o in orgs
                ],
                indent=2,
            )
        )
        return
    if not orgs:
        typer.echo("no organisations yet: add one with `mandate-registry org create SLUG --name NAME`")
    for o in orgs:
        typer.echo(f"{o.slug:<24} {o.display_name}{'' if o.active else '  (inactive)'}")


@openapi_app.command("write")
@friendly
def openapi_write(path: Annotated[Path, typer.Option(help="Where to write.")] = DEFAULT_SPEC) -> None:
    """Regenerate the committed spec from the app."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec_text())
    typer.echo(f"wrote {path}")


@openapi_app.command("check")
@friendly
def openapi_check(path: Annotated[Path, typer.Option(help="The committed spec.")] = DEFAULT_SPEC) -> None:
    """Fail when the committed spec differs from the app."""
    if not path.exists() or path.read_text() != spec_text():
        raise fail(f"{path} is stale: run `mandate-registry openapi write` and commit it")
    typer.echo(f"{path} matches the app")


def spec_text() -> str:
    from registry.app import create_app

    spec_settings = Settings(
        _env_file=None,
        email_backend="memory",
        database_url="sqlite+aiosqlite://",
        hmac_key=new_key(),
        encryption_key=new_key(),
    )
    return json.dumps(create_app(spec_settings).openapi(), indent=2, ensure_ascii=False) + "\n"


@audit_app.command("verify")
@friendly
def audit_verify() -> None:
    """Recompute every hash chain; name the first bad event."""
    report = in_transaction(audit.verify, read_only=True)
    if not report.ok:
        raise fail(f"audit trail broken: {report.problem}")
    typer.echo(
        f"audit trail intact: {report.events} events in {report.chains} chains, "
        f"{report.events - report.unsealed} sealed"
    )
    if report.unsealed:
        typer.echo(
            f"{report.unsealed} event(s) not sealed yet: they are sealed by the worker within seconds; "
            "if this number stays, check that a worker runs"
        )


@keys_app.command("generate")
def keys_generate() -> None:
    """Print fresh secret keys as environment lines, for production."""
    typer.echo(f"REGISTRY_HMAC_KEY={new_key()}\nREGISTRY_ENCRYPTION_KEY={new_key()}")


@app.command("demo")
@friendly
def demo_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create demo organisations, a holder and an active mandate; running it again changes nothing."""
    settings = Settings()
    ensure_schema(settings)
    result = in_transaction(demo.create, settings)
    typer.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.explain(settings.base_url))


@api_key_app.command("create")
@friendly
def api_key_create(
    org: Annotated[str, typer.Option("--org", help="The organisation's slug.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="Repeat for more: " + ", ".join(api_keys.SCOPES))
    ],
    name: Annotated[str, typer.Option(help="The integration, such as 'Zendesk'.")] = "default",
) -> None:
    """Make an API key. It is printed once, here, and never again."""
    key, secret = in_transaction(lambda ctx: api_keys.create(ctx, org, name, scope))
    typer.echo(secret)
    typer.echo(
        f"key {key.id} ({key.prefix}...) for {org}, scopes {', '.join(key.scopes)}. Store it now: "
        "the registry keeps only a hash.",
        err=True,
    )


@api_key_app.command("list")
@friendly
def api_key_list(org: Annotated[str, typer.Option("--org", help="The organisation's slug.")]) -> None:
    """List an organisation's keys (never the secrets)."""
    keys = in_transaction(lambda ctx: api_keys.list_for(ctx, org), read_only=True)
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        used = f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
        typer.echo(f"{k.id:>5}  {k.prefix}...  {k.name:<16} {','.join(k.scopes):<28} {state:<24} {used}")
    if not keys:
        typer.echo(
            f"{org} has no API keys: make one with `mandate-registry api-key create --org {org} "
            "--scope verify`"
        )


@api_key_app.command("revoke")
@friendly
def api_key_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's number from `api-key list`.")],
) -> None:
    """Revoke a key; requests with it are refused at once."""
    key = in_transaction(lambda ctx: api_keys.revoke(ctx, key_id))
    typer.echo(f"revoked key {key.id} ({key.prefix}...)")


@mandate_app.command("grant")
@friendly
def mandate_grant(
    holder: Annotated[str, typer.Option(help="The holder's e-mail address.")],
    org: Annotated[str, typer.Option("--org", help="The organisation's slug.")],
    proxy: Annotated[str, typer.Option(help="The proxy's name.")],
    relation: Annotated[str, typer.Option(help="partner, parent, child, family, carer or other.")],
    scope: Annotated[list[str], typer.Option("--scope", help="Repeat for more actions.")],
    proxy_email: Annotated[str | None, typer.Option(help="The proxy's e-mail address.")] = None,
    customer_reference: Annotated[
        str | None, typer.Option(help="The holder's number at the organisation.")
    ] = None,
    valid_from: Annotated[
        datetime | None, typer.Option(help="Start (ISO 8601 with zone); default now.")
    ] = None,
    valid_until: Annotated[
        datetime | None, typer.Option(help="End (ISO 8601 with zone); default a year.")
    ] = None,
    language: Annotated[str, typer.Option(help="The holder's language for e-mails: nl or en.")] = "nl",
) -> None:
    """Grant a mandate for a holder, as the web pages will (the holder's address counts as verified)."""

    async def work(ctx: ServiceContext) -> Mandate:
        person = await holders.get_or_create_verified(ctx, holder, language)
        draft = mandates.Draft(
            organisation=org,
            proxy=mandates.Proxy(proxy, relation, proxy_email),
            scope=scope,
            valid_from=valid_from,
            valid_until=valid_until,
            customer_reference=customer_reference,
        )
        return await mandates.grant(ctx, person, draft, actor="operator:cli")

    mandate = in_transaction(work)
    typer.echo(mandate.reference)
    typer.echo(
        f"{mandate.proxy_name} may {', '.join(mandate.scope)} until {mandate.valid_until:%Y-%m-%d %H:%M} UTC",
        err=True,
    )


@code_app.command("issue")
@friendly
def code_issue(
    reference: Annotated[str, typer.Argument(help="The mandate reference.")],
    valid: Annotated[str, typer.Option(help="Lifetime: 15m to 7d, such as 30m, 24h, 7d.")] = "24h",
) -> None:
    """Issue a call code for a mandate; the previous code stops working."""
    lifetime = codes.parse_lifetime(valid)

    async def work(ctx: ServiceContext) -> codes.IssuedCode:
        mandate = await mandates.by_reference(ctx, reference)
        return await codes.issue(ctx, mandate, lifetime, actor="operator:cli")

    issued = in_transaction(work)
    typer.echo(issued.code)
    typer.echo(f"{issued.grouped}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC", err=True)


@authenticator_app.command("enrol")
@friendly
def authenticator_enrol(reference: Annotated[str, typer.Argument(help="The mandate reference.")]) -> None:
    """Start setting up an authenticator app for the proxy; prints the otpauth:// URI for the app."""

    async def work(ctx: ServiceContext) -> authenticators.Enrolment:
        return await authenticators.enrol(ctx, await mandates.by_reference(ctx, reference))

    enrolment = in_transaction(work)
    typer.echo(enrolment.uri)
    typer.echo(
        f"secret {enrolment.grouped_secret}; activate with `mandate-registry authenticator activate "
        f"{reference} CODE`",
        err=True,
    )


@authenticator_app.command("activate")
@friendly
def authenticator_activate(
    reference: Annotated[str, typer.Argument(help="The mandate reference.")],
    code: Annotated[str, typer.Argument(help="The 6 digits the app shows now.")],
) -> None:
    """Activate the authenticator with its first correct code."""

    async def work(ctx: ServiceContext) -> None:
        await authenticators.activate(ctx, await mandates.by_reference(ctx, reference), code)

    in_transaction(work)
    typer.echo("authenticator active")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
