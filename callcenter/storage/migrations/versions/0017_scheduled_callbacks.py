"""Scheduled callbacks: a callback an agent set from the desk, due at a time.

A callback scheduled on the disposition form (``POST /api/calls/{id}/callback``) is a
``callback_requests`` row of node ``desk`` whose ``call_id`` is the call it was set on
(the source call): ``due_at`` (UTC) when it enters the call's queue (flow core rule 18),
``agent_id`` the agent who set it and ``note`` what they wrote for whoever dials it.
Rows of other nodes keep these null and work as before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_column("note")
        batch.drop_column("agent_id")
        batch.drop_column("due_at")
