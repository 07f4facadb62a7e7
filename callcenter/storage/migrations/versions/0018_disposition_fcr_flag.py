"""Dispositions gain their FCR flag (``interactions.fcr``): the agent says whether the
caller's matter was settled on this call.

Rows written before have none (NULL): the reports count them as they did, by the
code's membership of the config's ``fcr_dispositions`` (docs/kpis.md "FCR").

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("fcr", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("fcr")
