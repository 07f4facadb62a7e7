"""Recording metadata: who and what a recording is, its silences, retention and hold.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

``recordings`` gains the call's queue, agent, caller number and customer (copied
when the recording starts), the format, the muted spans (JSON ``[[start, end],
...]`` in seconds from the start), the retention deadline, the legal hold (false
for the rows already there) and the time the sweeper deleted the file.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
COLUMNS = (
    ("queue", sa.String(length=64)),
    ("agent_id", sa.Integer()),
    ("caller_number", sa.String(length=64)),
    ("customer_id", sa.Integer()),
    ("format", sa.String(length=8)),
    ("mute_intervals", JSON),
    ("retain_until", sa.DateTime(timezone=True)),
    ("deleted_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("recordings", sa.Column(name, type_, nullable=True))
    op.add_column(
        "recordings",
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(op.f("ix_recordings_caller_number"), "recordings", ["caller_number"])
    op.create_index(op.f("ix_recordings_retain_until"), "recordings", ["retain_until"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recordings_retain_until"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_caller_number"), table_name="recordings")
    with op.batch_alter_table("recordings") as batch:
        for name in ("legal_hold", *(n for n, _ in COLUMNS)):
            batch.drop_column(name)
