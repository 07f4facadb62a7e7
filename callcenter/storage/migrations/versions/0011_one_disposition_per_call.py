"""One disposition per call: interactions.call_id unique (a second save edits it).

A call with several dispositions (saved twice before this) keeps its latest on the
call; the earlier ones stay in the customer's history with no call.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE interactions SET call_id = NULL WHERE call_id IS NOT NULL AND id NOT IN"
        " (SELECT MAX(id) FROM interactions WHERE call_id IS NOT NULL GROUP BY call_id)"
    )
    op.drop_index(op.f("ix_interactions_call_id"), table_name="interactions")
    op.create_index(op.f("ix_interactions_call_id"), "interactions", ["call_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_interactions_call_id"), table_name="interactions")
    op.create_index(op.f("ix_interactions_call_id"), "interactions", ["call_id"])
