"""A consistent copy of a SQLite database while it serves, and putting one back (SQLite's online backup API).

PostgreSQL has its own tools for this (`pg_dump`, or `pg_basebackup` with WAL archiving for point-in-time
recovery); docs/deployment.md says how.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from registry.errors import ConfigurationError

STEP = 1024  # pages per step: writers get the lock between steps, and a change restarts the copy


def backup(database: Path, target: Path) -> int:
    """Copy `database` to `target` (which must not exist) while others may write to it; return its pages.
    The copy is checked (`PRAGMA integrity_check`) before it takes its name, so a file at `target` is a
    whole, consistent database."""
    if not database.is_file():
        raise ConfigurationError(f"there is no SQLite database at {database}")
    if target.exists():
        raise ConfigurationError(f"{target} exists already; choose a new file for the backup")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy, pages=STEP)
        _check(copy, partial)
        pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
    finally:
        copy.close()
        source.close()
    os.replace(partial, target)
    return pages


def restore(source: Path, database: Path) -> int:
    """Put the backup `source` in place of `database`, page by page under SQLite's own lock; return its
    pages. Stop the service first: a request in flight would see its data change under it."""
    if not source.is_file():
        raise ConfigurationError(f"there is no backup at {source}")
    backup_copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check(backup_copy, source)
        live = sqlite3.connect(database)
        try:
            backup_copy.backup(live, pages=STEP)
            return int(live.execute("PRAGMA page_count").fetchone()[0])
        finally:
            live.close()
    finally:
        backup_copy.close()


def _check(connection: sqlite3.Connection, path: Path) -> None:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise ConfigurationError(f"{path} is not a sound SQLite database: {verdict}")
