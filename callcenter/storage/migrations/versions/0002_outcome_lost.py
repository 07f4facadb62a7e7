"""Outcome ``lost``: the call died with its PBX (it restarted) before an agent answered.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Widens the ``outcome`` check constraints of ``calls`` and ``queue_outcomes``
(batch mode: SQLite rebuilds the tables).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "'answered', 'abandoned', 'timeout', 'ivr_hangup', 'failed'"
NEW = "'answered', 'abandoned', 'timeout', 'ivr_hangup', 'failed', 'lost'"


def _swap(values: str) -> None:
    for table in ("calls", "queue_outcomes"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_outcome"), type_="check")
            batch.create_check_constraint("outcome", f"outcome IN ({values})")


def upgrade() -> None:
    _swap(NEW)


def downgrade() -> None:
    _swap(OLD)
