"""Voicemails and callback requests left in the IVR.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

``voicemails``: one row per message a caller left at a ``voicemail`` node (the
file, its length, caller, customer, queue, flow and node). ``callback_requests``:
one row per request made at a ``callback`` node (number, queue, when, status
``pending``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "voicemails",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=96), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_voicemails_call_id_calls"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemails")),
        sa.UniqueConstraint("path", name=op.f("uq_voicemails_path")),
    )
    op.create_index(op.f("ix_voicemails_call_id"), "voicemails", ["call_id"])
    op.create_index(op.f("ix_voicemails_caller_number"), "voicemails", ["caller_number"])
    op.create_index(op.f("ix_voicemails_queue_at"), "voicemails", ["queue", "at"])
    op.create_table(
        "callback_requests",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=96), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("own_number", sa.Boolean(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_callback_requests_call_id_calls"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_requests")),
    )
    op.create_index(op.f("ix_callback_requests_call_id"), "callback_requests", ["call_id"])
    op.create_index(
        op.f("ix_callback_requests_status_requested_at"),
        "callback_requests",
        ["status", "requested_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_requests_status_requested_at"), table_name="callback_requests")
    op.drop_index(op.f("ix_callback_requests_call_id"), table_name="callback_requests")
    op.drop_table("callback_requests")
    op.drop_index(op.f("ix_voicemails_queue_at"), table_name="voicemails")
    op.drop_index(op.f("ix_voicemails_caller_number"), table_name="voicemails")
    op.drop_index(op.f("ix_voicemails_call_id"), table_name="voicemails")
    op.drop_table("voicemails")
