"""The desk's lists in SQL: disposition codes and pause reasons, edited live.

Empty here; the controller fills an empty list at start (the config's
``dispositions``, the default pause reasons): see ``callcenter.administration``.

Revision ID: 0013
Revises: 0012 (0012, the queued callbacks, landed after this was written)
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("disposition_codes", "pause_reasons")


def upgrade() -> None:
    for name in _TABLES:
        op.create_table(
            name,
            sa.Column("code", sa.String(length=32), nullable=False),
            sa.Column("label", sa.String(length=80), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.PrimaryKeyConstraint("code", name=op.f(f"pk_{name}")),
        )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
