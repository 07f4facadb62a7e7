"""Queued callbacks: a request's attempts, its end and the caller's recorded name.

A queued callback (``queues[].callback``) is a ``callback_requests`` row of node
``queued``: ``status`` pending while its virtual caller waits (a restarted controller
puts it back in line from this row), then ``completed`` or ``failed``; ``attempts``
counts the customer's phone rung so far, ``ended_at`` when it ended, ``name_file`` the
name the caller recorded (as Asterisk sees it), if any.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("name_file", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_column("name_file")
        batch.drop_column("ended_at")
        batch.drop_column("attempts")
