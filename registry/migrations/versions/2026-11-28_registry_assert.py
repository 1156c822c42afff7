"""registry_assert: a statement that fails when its condition does not hold (PostgreSQL)

The verification lane sends its writes and COMMIT in one round trip; a write whose effect it cannot know
beforehand (a code spent by someone else, the key's budget reached) is asserted in SQL, so that the
transaction aborts instead of committing, and the full route answers the check.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION registry_assert(ok boolean, reason text) RETURNS boolean
        LANGUAGE plpgsql AS $$
        BEGIN
            IF ok IS NOT TRUE THEN
                RAISE EXCEPTION 'registry_assert: %', reason USING ERRCODE = 'P0001';
            END IF;
            RETURN true;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION registry_assert(boolean, text)")
