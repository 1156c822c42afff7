"""The `mandate-registry` command: serve, worker, database, organisations, keys, mandates, spec, audit."""

import sys

from registry.cli import admin, operations  # noqa: F401 - they register their commands on `app`
from registry.cli.core import app
from registry.cli.operations import spec_text

__all__ = ["app", "main", "spec_text"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
