"""API tokens gain scopes (``read``, ``calls``, ``admin``: callcenter.storage.tokens).

A token made before this acted with its login's whole role: it keeps every scope, so
nothing an integration did stops working; new tokens get ``read`` unless told.

Revision ID: 0016
Revises: 0013 (0014 and 0015 were handed to other work and had not landed)
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("scopes", sa.String(length=64), nullable=True))
    op.execute("UPDATE api_tokens SET scopes = 'admin calls read'")
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("scopes", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scopes")
