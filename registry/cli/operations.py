"""Running the service: serve, worker, database, spec, audit, keys, demo, version."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from registry import __version__, migrations
from registry.cli.core import (
    DEFAULT_SPEC,
    app,
    audit_app,
    db_app,
    ensure_schema,
    fail,
    friendly,
    in_transaction,
    keys_app,
    openapi_app,
    setup_logging,
    with_wiring,
)
from registry.cli.openapi_export import OPENAPI_30_FILE, SWAGGER_20_FILE, render, to_openapi_30, to_swagger_20
from registry.db import backup
from registry.errors import ConfigurationError
from registry.services import audit, demo, keyring
from registry.settings import Settings, new_key
from registry.wiring import Wiring
from registry.worker.background import BackgroundWorker


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
    if "REGISTRY_BASE_URL" not in os.environ and not settings.model_fields_set & {"base_url"}:
        os.environ["REGISTRY_BASE_URL"] = url  # links in e-mails point at this server unless told otherwise
    typer.echo(
        f"Mandate Registry {__version__} on {url}\n"
        f"  database   {_safe_url(settings.database_url)}\n"
        f"  API docs   {url}/docs\n  health     {url}/healthz\n  readiness  {url}/readyz\n"
        f"  e-mail     {settings.email_backend}"
        f"{' (delivered by this process)' if settings.worker_in_process else ' (run `worker`)'}"
    )
    uvicorn.run(
        "registry.app:app_from_environment", factory=True, host=host, port=port, workers=workers, **UVICORN
    )


# How `serve` runs uvicorn; bench/verify.py serves its ceiling app with the same options.
# `log_config: None`: uvicorn leaves logging alone; the app sets it up (registry/http/logs.py) in each worker.
UVICORN: dict[str, Any] = {
    "log_config": None,
    "log_level": "info",
    "proxy_headers": True,
    "timeout_graceful_shutdown": 20,
}


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
@friendly
def worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then stop.")] = False,
) -> None:
    """Deliver the outbox (e-mails) and seal the audit trail until stopped with SIGTERM or Ctrl-C."""
    setup_logging()

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


@db_app.command("backup")
@friendly
def db_backup(target: Annotated[Path, typer.Argument(help="A new file for the copy.")]) -> None:
    """Copy the SQLite database to TARGET while the service runs (a consistent snapshot, checked)."""
    database = _sqlite_file(Settings())
    pages = backup.backup(database, target)
    typer.echo(f"backed up {database} to {target} ({pages} pages, integrity ok)")


@db_app.command("restore")
@friendly
def db_restore(
    source: Annotated[Path, typer.Argument(help="A file made by `db backup`.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the current data: there is no undo.")] = False,
) -> None:
    """Put a backup in place of the SQLite database. Stop `serve` and `worker` first."""
    database = _sqlite_file(Settings())
    if not yes:
        raise fail(f"this replaces everything in {database} with {source}: stop the service, then add --yes")
    pages = backup.restore(source, database)
    typer.echo(f"restored {database} from {source} ({pages} pages)")


def _sqlite_file(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise ConfigurationError(
            "backup and restore here are for SQLite; on PostgreSQL use pg_dump, or pg_basebackup with WAL "
            "archiving (docs/deployment.md)"
        )
    from sqlalchemy.engine import make_url

    return Path(str(make_url(settings.database_url).database)).expanduser()


_DERIVED_HELP = f"{OPENAPI_30_FILE} (Salesforce) and {SWAGGER_20_FILE} (Power Platform)"


@openapi_app.command("write")
@friendly
def openapi_write(
    path: Annotated[
        Path, typer.Option(help=f"Where to write the OpenAPI 3.1 spec; {_DERIVED_HELP} go next to it.")
    ] = DEFAULT_SPEC,
) -> None:
    """Regenerate the committed specs from the app: OpenAPI 3.1, and 3.0 and Swagger 2.0 for integrators."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for each, text in spec_texts(path).items():
        each.write_text(text)
        typer.echo(f"wrote {each}")


@openapi_app.command("check")
@friendly
def openapi_check(
    path: Annotated[
        Path, typer.Option(help=f"The committed OpenAPI 3.1 spec; {_DERIVED_HELP} are next to it.")
    ] = DEFAULT_SPEC,
) -> None:
    """Fail when a committed spec (3.1, 3.0 or 2.0) differs from what the app describes now."""
    expected = spec_texts(path)
    stale = [str(each) for each, text in expected.items() if not each.exists() or each.read_text() != text]
    if stale:
        also = f" (so {'is' if len(stale) == 2 else 'are'} {', '.join(stale[1:])})" if stale[1:] else ""
        raise fail(f"{stale[0]} is stale{also}: run `mandate-registry openapi write` and commit the result")
    for each in expected:
        typer.echo(f"{each} matches the app")


def spec_texts(path: Path) -> dict[Path, str]:
    """What the committed spec at PATH and its 3.0 and 2.0 versions beside it should hold."""
    text = spec_text()
    spec = json.loads(text)
    return {
        path: text,
        path.with_name(OPENAPI_30_FILE): render(to_openapi_30(spec)),
        path.with_name(SWAGGER_20_FILE): render(to_swagger_20(spec)),
    }


def spec_text() -> str:
    from registry.app import create_app

    spec_settings = Settings(
        _env_file=None,
        email_backend="memory",
        database_url="sqlite+aiosqlite://",
        hmac_key=new_key(),
        encryption_key=new_key(),
    )
    return render(create_app(spec_settings).openapi())


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


@keys_app.command("reencrypt")
@friendly
def keys_reencrypt() -> None:
    """Seal every stored secret with the current encryption key (after a rotation; docs/deployment.md)."""
    moved = in_transaction(keyring.reencrypt)
    typer.echo(
        f"sealed with key {Settings().encryption_key_id!r}: {moved['authenticator']} authenticator "
        f"secret(s), {moved['webhook_endpoint']} webhook secret(s); the previous keys can go now"
    )


@app.command("demo")
@friendly
def demo_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Demo data: organisations, a holder, a mandate, an API key and a call code. Running it again keeps
    the data and makes a fresh key and code (the old ones stop working)."""
    settings = Settings()
    ensure_schema(settings)
    result = in_transaction(demo.create, settings)
    typer.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.explain(settings.base_url))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
