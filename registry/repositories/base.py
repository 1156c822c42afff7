"""The base of every repository: a session, the dialect, inserts with ON CONFLICT."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def insert(self, table: Any) -> Any:
        """INSERT with ON CONFLICT support in the dialect at hand."""
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    async def add(self, row: T) -> T:
        """Insert `row` now, so that its id is known."""
        self.session.add(row)
        await self.session.flush()
        return row

    def stage(self, row: object) -> None:
        """Insert `row` with the next flush (for many rows at once)."""
        self.session.add(row)
