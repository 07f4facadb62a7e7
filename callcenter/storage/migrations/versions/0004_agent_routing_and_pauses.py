"""Agents' routing data (skills, penalties, weights) and their pauses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

``agents`` gains three JSON columns, ``{}`` for the rows already there (no
skill, penalty 0 and weight 1 everywhere: the routing they had). The new
``agent_pauses`` table holds one row per ended pause, for the reports.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROUTING = ("skills", "penalties", "weights")


def upgrade() -> None:
    for name in ROUTING:
        op.add_column(
            "agents", sa.Column(name, JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "agent_pauses",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_pauses_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_pauses")),
    )
    op.create_index(
        op.f("ix_agent_pauses_agent_id_started_at"), "agent_pauses", ["agent_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_pauses_agent_id_started_at"), table_name="agent_pauses")
    op.drop_table("agent_pauses")
    with op.batch_alter_table("agents") as batch:
        for name in ROUTING:
            batch.drop_column(name)
