from __future__ import annotations

import json
from pathlib import Path

from registry.cli import spec_text

SPEC = Path(__file__).parent.parent / "openapi" / "openapi.json"


class TestCommittedSpec:
    def test_matches_the_app(self) -> None:
        assert SPEC.read_text() == spec_text(), "run `mandate-registry openapi write` and commit the result"

    def test_every_operation_is_documented_for_integrators(self) -> None:
        spec = json.loads(spec_text())
        ids = []
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                where = f"{method.upper()} {path}"
                ids.append(operation["operationId"])
                assert operation.get("summary") and operation.get("description"), where
                assert operation.get("tags"), where
                assert len(operation["operationId"]) <= 30 and "_" not in operation["operationId"], where
                for status, answer in operation["responses"].items():
                    if status.startswith(("4", "5")):
                        assert list(answer["content"]) == ["application/problem+json"], where
        assert len(ids) == len(set(ids))

    def test_depends_on_no_environment(self, monkeypatch: object) -> None:
        import pytest

        assert isinstance(monkeypatch, pytest.MonkeyPatch)
        monkeypatch.setenv("REGISTRY_BASE_URL", "https://elsewhere.example")
        monkeypatch.setenv("REGISTRY_DATABASE_URL", "postgresql+psycopg://x@y/z")
        assert spec_text() == SPEC.read_text()
