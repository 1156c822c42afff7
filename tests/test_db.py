from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.settings import Settings


class TestSQLitePragmas:
    async def test_wal_full_sync_and_foreign_keys(self, settings: Settings, engine: AsyncEngine) -> None:
        if not settings.is_sqlite:
            pytest.skip("SQLite pragmas")
        async with engine.connect() as connection:
            values = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            ]
        assert values == ["wal", 2, 1]
