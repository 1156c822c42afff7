"""compose.yaml, the Dockerfile and .env.example against the code: Docker cannot run on our machines, so
this reads them and checks that every command they run is a real command of `mandate-registry` with real
options, and that every variable they pass is a real setting (docs/deployment.md explains the services)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from registry.cli import app
from registry.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {name: service for name, service in SERVICES.items() if "build" in service}
SETTINGS = {f"REGISTRY_{name.upper()}" for name in Settings.model_fields}


def command_of(words: list[str]) -> Any:
    """The command that `mandate-registry WORDS...` runs; fails on an unknown command or option."""
    command: Any = typer.main.get_command(app)
    rest = list(words)
    while getattr(command, "commands", None) is not None and rest and not rest[0].startswith("-"):
        found = command.commands.get(rest.pop(0))
        assert found is not None, f"`mandate-registry {' '.join(words)}`: no such command"
        command = found
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"`mandate-registry {' '.join(words)}`: no option {word}"
    return command


def test_the_registry_services_are_the_ones_the_deployment_guide_names() -> None:
    assert set(OURS) == {"migrate", "api", "worker"}
    assert set(SERVICES) == {"postgres", "redis", "migrate", "api", "worker", "proxy", "mailpit"}
    assert SERVICES["api"]["deploy"]["replicas"] == 2
    assert SERVICES["mailpit"]["profiles"] == ["dev"]
    guide = (ROOT / "docs" / "deployment.md").read_text()
    for name in SERVICES:
        assert f"`{name}`" in guide, f"docs/deployment.md does not explain the service {name}"


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_command_is_a_real_command(name: str) -> None:
    command_of(OURS[name]["command"])


def test_the_image_runs_the_command_line() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    entry = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M)
    default = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert entry is not None and json.loads(entry.group(1)) == ["mandate-registry"]
    assert default is not None
    command_of(json.loads(default.group(1)))
    assert re.search(r"^USER (?!root)\S+$", dockerfile, re.M), "the image must not run as root"


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_variable_passed_is_a_setting(name: str) -> None:
    given = set(OURS[name].get("environment", {}))
    assert given <= SETTINGS, given - SETTINGS
    assert OURS[name].get("env_file") == ".env"


def test_secrets_are_required_from_the_environment() -> None:
    environment = OURS["api"]["environment"]
    for name in ("REGISTRY_HMAC_KEY", "REGISTRY_ENCRYPTION_KEY", "REGISTRY_BASE_URL"):
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", environment[name]), name
    assert ":?" in environment["REGISTRY_DATABASE_URL"]  # the database password too


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    named = set(re.findall(r"^#? ?(REGISTRY_[A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    extra = named - SETTINGS - {"REGISTRY_DOMAIN"}  # the proxy's host name, for Caddy
    assert not extra, extra
    assert not SETTINGS - named, SETTINGS - named


def test_the_proxy_keeps_metrics_inside() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "respond /metrics 404" in caddyfile
    assert "dynamic a api 8000" in caddyfile  # every replica is an upstream
