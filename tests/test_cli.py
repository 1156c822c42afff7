"""The command line, run as a user runs it: a separate process with settings in its environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from registry.db.engine import create_engine
from registry.domain.references import check_character
from registry.models import AuditEvent
from registry.settings import new_key
from tests.conftest import TEST_DATABASE_URL, Databases, make_settings
from tests.servers import wait_ready
from tests.smtp import free_port


class Cli:
    def __init__(self, cwd: Path, database_url: str) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.env.update(
            REGISTRY_DATABASE_URL=database_url,
            REGISTRY_EMAIL_BACKEND="console",
            REGISTRY_HMAC_KEY=new_key(),
            REGISTRY_ENCRYPTION_KEY=new_key(),
        )

    def __call__(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "registry", *args],
            cwd=self.cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "registry", *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


@pytest.fixture
def cli(tmp_path: Path, databases: Databases) -> Cli:
    return Cli(tmp_path, databases.new_migrated())


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr


class TestDemo:
    def test_twice_is_harmless_and_json_is_one_object(self, cli: Cli) -> None:
        first = json.loads(ok(cli("demo", "--json")))
        second = json.loads(ok(cli("demo", "--json")))
        assert first["mandate"] == second["mandate"]
        assert first["organisations"] == second["organisations"]
        assert [o["slug"] for o in first["organisations"]] == ["energie-bv", "telecom-nl"]
        assert first["mandate_reference"] == first["mandate"]["reference"]
        assert first["mandate_reference"].startswith("M-")
        assert first["api_key"].startswith("mrk_")
        assert len(first["call_code"]) == 8
        # a second run makes a fresh key and code: the old ones no longer work
        assert first["api_key"] != second["api_key"]
        listed = ok(cli("api-key", "list", "--org", "energie-bv"))
        assert listed.count("revoked") == 1
        assert listed.count("active") == 1
        text = ok(cli("demo"))
        assert first["mandate_reference"] in text
        assert "mandate-registry serve" in text
        assert "audit trail intact" in ok(cli("audit", "verify"))

    def test_demo_then_serve_answers_ready(self, tmp_path: Path) -> None:
        cli = Cli(tmp_path, "sqlite+aiosqlite:///./registry.db")  # the default, made by the commands
        reference = json.loads(ok(cli("demo", "--json")))["mandate"]["reference"]
        port = free_port()
        server = cli.popen("serve", "--port", str(port))
        try:
            wait_ready(server, f"http://127.0.0.1:{port}")
            leaked = httpx.get(f"http://127.0.0.1:{port}/readyz?api_key=mrk_leaked_in_a_url", timeout=5)
            assert leaked.status_code == 200
            checked = httpx.get(f"http://127.0.0.1:{port}/v1/references/{reference.lower()}", timeout=5)
            assert checked.json() == {"reference": reference, "valid": True}
        finally:
            server.send_signal(signal.SIGTERM)
            output, _ = server.communicate(timeout=30)
        assert f"http://127.0.0.1:{port}/readyz" in output
        assert "GET /readyz?…" in output
        assert "mrk_leaked_in_a_url" not in output
        assert "Traceback" not in output
        # the in-process worker printed the demo's e-mails through the console sender
        assert "Subject: U heeft Jan de Vries gemachtigd bij Energie BV" in output
        assert (tmp_path / "registry.db").exists()


def start_server(cli: Cli) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    server = cli.popen("serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, base)
    return server, base


class TestNewcomerFlow:
    def test_org_key_mandate_code_and_one_curl(self, cli: Cli) -> None:
        """The README's walk-through: everything from the command line, then one HTTP request."""
        ok(cli("org", "create", "zorg-nl", "--name", "Zorg NL"))
        key = ok(cli("api-key", "create", "--org", "zorg-nl", "--scope", "verify")).strip()
        reference = ok(
            cli(
                "mandate",
                "grant",
                "--holder",
                "Piet@Example.nl",
                "--org",
                "zorg-nl",
                "--proxy",
                "Marie Jansen",
                "--relation",
                "child",
                "--scope",
                "information",
                "--scope",
                "appointments",
            )
        ).strip()
        code = ok(cli("code", "issue", reference.lower(), "--valid", "30m")).strip()
        uri = ok(cli("authenticator", "enrol", reference)).strip()
        secret = parse_qs(urlparse(uri).query)["secret"][0]
        ok(cli("authenticator", "activate", reference, pyotp.TOTP(secret).now()))
        assert key.startswith("mrk_")
        assert len(code) == 8
        assert f"{key[:12]}...  default" in ok(cli("api-key", "list", "--org", "zorg-nl"))
        server, base = start_server(cli)
        try:
            answer = httpx.post(
                f"{base}/v1/verifications",
                headers={"Authorization": f"Bearer {key}"},
                json={"mandate_reference": reference, "code": code, "action": "termination"},
            )
            assert answer.status_code == 200
            body = answer.json()
            assert (body["result"], body["proxy_name"], body["action_permitted"]) == (
                "verified",
                "Marie Jansen",
                False,
            )
            assert "Piet" not in answer.text
            assert "piet@example.nl" not in answer.text
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)

    def test_bad_arguments_are_explained(self, cli: Cli) -> None:
        ok(cli("org", "create", "zorg-nl", "--name", "Zorg NL"))
        assert "scopes: Use one or more of: verify" in refused(
            cli("api-key", "create", "--org", "zorg-nl", "--scope", "everything")
        )
        assert "There is no organisation with the slug 'nope'" in refused(
            cli("api-key", "create", "--org", "nope", "--scope", "verify")
        )
        err = refused(
            cli(
                "mandate",
                "grant",
                "--holder",
                "x@example.nl",
                "--org",
                "zorg-nl",
                "--proxy",
                "",
                "--relation",
                "neighbour",
                "--scope",
                "information",
            )
        )
        assert "proxy.name" in err
        assert "proxy.relation" in err
        assert "lifetime such as 15m" in refused(cli("code", "issue", "M-3479-BCDF-7", "--valid", "soon"))
        assert "no mandate" in refused(cli("code", "issue", "M-3479-BCDF-" + check_character("3479BCDF")))
        assert "check character" in refused(
            cli("code", "issue", "M-3479-BCDF-" + ("B" if check_character("3479BCDF") != "B" else "C"))
        )


class TestAuditVerify:
    async def test_names_the_first_bad_event(self, cli: Cli) -> None:
        ok(cli("demo"))
        engine = create_engine(make_settings(cli.env["REGISTRY_DATABASE_URL"]))
        try:
            async with engine.begin() as connection:
                target = await connection.scalar(
                    select(col(AuditEvent.id)).where(col(AuditEvent.kind) == "mandate.granted")
                )
                await connection.execute(
                    update(AuditEvent).where(col(AuditEvent.id) == target).values(actor="holder:999")
                )
        finally:
            await engine.dispose()
        err = refused(cli("audit", "verify"))
        assert f"audit trail broken: event {target}: its content was changed" in err


class TestOrganisations:
    def test_create_and_list(self, cli: Cli) -> None:
        assert "created organisation zorg-nl (Zorgverzekeraar NL)" in ok(
            cli("org", "create", "zorg-nl", "--name", "Zorgverzekeraar NL")
        )
        listed = json.loads(ok(cli("org", "list", "--json")))
        assert listed == [
            {
                "slug": "zorg-nl",
                "display_name": "Zorgverzekeraar NL",
                "active": True,
                "default_language": "nl",
            }
        ]

    def test_bad_slug_and_duplicates_are_explained(self, cli: Cli) -> None:
        assert "slug: Use 1 to 64 lower-case letters" in refused(
            cli("org", "create", "Bad Slug!", "--name", "X")
        )
        ok(cli("org", "create", "zorg-nl", "--name", "Zorg"))
        assert "already exists" in refused(cli("org", "create", "zorg-nl", "--name", "Zorg"))

    def test_first_admin_and_more_members(self, cli: Cli) -> None:
        made = ok(cli("org", "create", "zorg-nl", "--name", "Zorg NL", "--admin", "Beheer@Zorg.example"))
        assert "invited Beheer@Zorg.example as its admin" in made
        assert "invited agent@zorg.example as agent of zorg-nl" in ok(
            cli("member", "invite", "agent@zorg.example", "--org", "zorg-nl")
        )
        assert "member already" in refused(cli("member", "invite", "beheer@zorg.example", "--org", "zorg-nl"))
        assert "Use one of: admin, agent. (role)" in refused(
            cli("member", "invite", "x@zorg.example", "--org", "zorg-nl", "--role", "boss")
        )


class TestHelpfulErrors:
    def test_bad_setting(self, cli: Cli) -> None:
        err = refused(cli("org", "list", REGISTRY_SMTP_PORT="lots"), code=2)
        assert "REGISTRY_SMTP_PORT" in err

    def test_unreachable_database(self, cli: Cli) -> None:
        if not TEST_DATABASE_URL:
            err = refused(
                cli("org", "list", REGISTRY_DATABASE_URL="sqlite+aiosqlite:////nonexistent/x.db"), 2
            )
            assert "the folder /nonexistent of the SQLite database does not exist" in err
            return
        url = "postgresql+psycopg://postgres@127.0.0.1:1/x"
        assert "database cannot be reached" in refused(cli("org", "list", REGISTRY_DATABASE_URL=url))

    def test_production_without_keys(self, cli: Cli) -> None:
        err = refused(
            cli(
                "demo",
                REGISTRY_ENVIRONMENT="production",
                REGISTRY_HMAC_KEY="",
                REGISTRY_ENCRYPTION_KEY="",
                REGISTRY_EMAIL_BACKEND="smtp",
            ),
            code=2,
        )
        assert "production never makes keys itself" in err

    def test_postgresql_must_be_upgraded_first(self, cli: Cli, databases: Databases) -> None:
        if not TEST_DATABASE_URL:
            pytest.skip("SQLite migrates itself")
        err = refused(cli("demo", REGISTRY_DATABASE_URL=databases.new()), code=2)
        assert "run `mandate-registry db upgrade` first" in err

    def test_db_upgrade_then_demo(self, cli: Cli, databases: Databases) -> None:
        url = databases.new()
        assert "is at head" in ok(cli("db", "upgrade", REGISTRY_DATABASE_URL=url))
        ok(cli("demo", REGISTRY_DATABASE_URL=url))


class TestOpenapiCommands:
    def test_check_fails_on_a_stale_spec_and_write_mends_it(self, cli: Cli) -> None:
        spec = cli.cwd / "spec.json"
        spec.write_text("{}")
        assert "is stale" in refused(cli("openapi", "check", "--path", str(spec)))
        ok(cli("openapi", "write", "--path", str(spec)))
        assert "matches the app" in ok(cli("openapi", "check", "--path", str(spec)))


class TestBackup:
    def test_a_copy_taken_while_writing_is_whole_and_restores(self, cli: Cli, tmp_path: Path) -> None:
        if not cli.env["REGISTRY_DATABASE_URL"].startswith("sqlite"):
            assert "pg_dump" in refused(cli("db", "backup", str(tmp_path / "copy.db")), 2)
            return
        ok(cli("org", "create", "first-bv", "--name", "First BV"))
        writer = cli.popen("demo")  # writes organisations, keys, codes while the copy is taken
        copy = tmp_path / "copy.db"
        assert "integrity ok" in ok(cli("db", "backup", str(copy)))
        assert writer.wait(timeout=120) == 0
        assert "exists already" in refused(cli("db", "backup", str(copy)), 2)  # never overwrites
        ok(cli("org", "create", "later-bv", "--name", "Later BV"))
        assert "--yes" in refused(cli("db", "restore", str(copy)))
        assert "restored" in ok(cli("db", "restore", str(copy), "--yes"))
        slugs = {org["slug"] for org in json.loads(ok(cli("org", "list", "--json")))}
        assert "first-bv" in slugs and "later-bv" not in slugs
        assert "audit trail intact" in ok(cli("audit", "verify"))


class TestKeyRotation:
    def test_reencrypt_reports_what_it_sealed(self, cli: Cli) -> None:
        ok(cli("demo"))
        first = ok(cli("keys", "reencrypt"))
        assert "sealed with key 'k1'" in first and "0 authenticator" in first


class TestErrorWording:
    def test_an_error_is_said_once(self, cli: Cli) -> None:
        args = (
            "--holder",
            "x",
            "--org",
            "energie-bv",
            "--proxy",
            "Jan",
            "--relation",
            "partner",
            "--scope",
            "billing",
        )
        said = refused(cli("mandate", "grant", *args))
        assert said.count("must have an @-sign") == 1, said
        assert "(email)" in said  # the field it is about, on the same line

    def test_several_fields_each_get_a_line(self, cli: Cli) -> None:
        said = refused(cli("org", "create", "Bad Slug", "--name", "X"))
        assert said.splitlines()[0] == "error: The organisation cannot be created as given."
        assert said.splitlines()[1].startswith("  slug: Use 1 to 64 lower-case letters")
