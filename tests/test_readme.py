"""The README is part of the product: its settings table must match `Settings`."""

from __future__ import annotations

from pathlib import Path

from registry.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented_with_its_default() -> None:
    lines = [line for line in README.splitlines() if line.startswith("| `REGISTRY_")]
    rows = {line.split("|")[1].strip(): line for line in lines}
    for name, field in Settings.model_fields.items():
        row = rows.get(f"`REGISTRY_{name.upper()}`")
        assert row is not None, f"REGISTRY_{name.upper()} is missing from the README"
        default = field.default
        shown = "(none)" if default is None else str(default)
        shown = shown.lower() if isinstance(default, bool) else shown
        assert f"`{shown}`" in row, f"README gives another default for REGISTRY_{name.upper()}"
    assert set(rows) == {f"`REGISTRY_{name.upper()}`" for name in Settings.model_fields}


def test_two_commands() -> None:
    assert "```sh\nmake serve\n```" in README
    assert "```sh\nmake test\n```" in README
