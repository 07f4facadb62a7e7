"""Post-call survey answers: one row per surveyed call.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

``survey_answers`` holds the CSAT (1-5), NPS (0-10) and CES (1-7) a caller
keyed in the after-call context, with the call's queue and agent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_answers",
        sa.Column("call_id", sa.String(length=96), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("ces", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "csat IS NULL OR csat BETWEEN 1 AND 5", name=op.f("ck_survey_answers_csat")
        ),
        sa.CheckConstraint(
            "nps IS NULL OR nps BETWEEN 0 AND 10", name=op.f("ck_survey_answers_nps")
        ),
        sa.CheckConstraint(
            "ces IS NULL OR ces BETWEEN 1 AND 7", name=op.f("ck_survey_answers_ces")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_survey_answers_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_survey_answers_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_survey_answers")),
    )
    op.create_index(op.f("ix_survey_answers_queue_at"), "survey_answers", ["queue", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_answers_queue_at"), table_name="survey_answers")
    op.drop_table("survey_answers")
