"""Journal marks: how far each controller's local write journal has been applied.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

One row per journal file, updated in the transaction of every write batch, so
a journal replayed after a crash or an outage duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journal_marks",
        sa.Column("journal_id", sa.String(length=64), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("journal_id", name=op.f("pk_journal_marks")),
    )


def downgrade() -> None:
    op.drop_table("journal_marks")
