"""Initial schema: calls, events, outcomes, agents, recordings, built-in CRM.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Frozen copy of ``callcenter/storage/models.py`` as of this revision: it does
not import the models, so later model changes cannot rewrite history.
Timestamps are ``timestamptz`` on PostgreSQL and naive-UTC text on SQLite
(``sqlbase.UTCDateTime`` adds the zone back when reading).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OUTCOMES = "'answered', 'abandoned', 'timeout', 'ivr_hangup', 'failed'"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.Column("queues", JSON, nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name=op.f("ck_agents_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("username", name=op.f("uq_agents_username")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("full_name", sa.String(length=128), nullable=False),
        sa.Column("account_no", sa.String(length=32), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("account_no", name=op.f("uq_customers_account_no")),
    )
    op.create_table(
        "agent_state_changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("old", sa.String(length=32), nullable=True),
        sa.Column("new", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_state_changes_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_changes")),
    )
    op.create_index(
        op.f("ix_agent_state_changes_agent_id_at"), "agent_state_changes", ["agent_id", "at"]
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=96), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=32), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("caller_name", sa.String(length=128), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("ivr_selections", JSON, nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        _ts("started_at"),
        _ts("queued_at", nullable=True),
        _ts("answered_at", nullable=True),
        _ts("ended_at", nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name=op.f("ck_calls_outcome")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_calls_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_calls_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("node", "linkedid", name=op.f("uq_calls_node_linkedid")),
    )
    op.create_index(op.f("ix_calls_agent_id"), "calls", ["agent_id"])
    op.create_index(op.f("ix_calls_customer_id"), "calls", ["customer_id"])
    op.create_index(op.f("ix_calls_started_at"), "calls", ["started_at"])
    op.create_table(
        "customer_phones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_phones_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_phones")),
        sa.UniqueConstraint("e164", name=op.f("uq_customer_phones_e164")),
    )
    op.create_index(op.f("ix_customer_phones_customer_id"), "customer_phones", ["customer_id"])
    op.create_table(
        "call_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=96), nullable=False),
        _ts("at"),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_events_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
    )
    op.create_index(op.f("ix_call_events_call_id_at"), "call_events", ["call_id", "at"])
    op.create_table(
        "interactions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=96), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_interactions_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_interactions_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_interactions_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    op.create_index(op.f("ix_interactions_call_id"), "interactions", ["call_id"])
    op.create_index(
        op.f("ix_interactions_customer_id_created_at"),
        "interactions",
        ["customer_id", "created_at"],
    )
    op.create_table(
        "queue_outcomes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=96), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("wait_s", sa.Float(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        _ts("at"),
        sa.CheckConstraint(f"outcome IN ({OUTCOMES})", name=op.f("ck_queue_outcomes_outcome")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_queue_outcomes_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.id"],
            name=op.f("fk_queue_outcomes_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_outcomes")),
        # One outcome per call, whoever writes it: the store's guard.
        sa.UniqueConstraint("call_id", name=op.f("uq_queue_outcomes_call_id")),
    )
    op.create_index(op.f("ix_queue_outcomes_queue_at"), "queue_outcomes", ["queue", "at"])
    op.create_table(
        "recordings",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=96), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("mixmonitor_id", sa.String(length=64), nullable=True),
        _ts("started_at"),
        _ts("ended_at", nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_recordings_call_id_calls"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("path", name=op.f("uq_recordings_path")),
    )
    op.create_index(op.f("ix_recordings_call_id"), "recordings", ["call_id"])


def downgrade() -> None:
    for table in (
        "recordings",
        "queue_outcomes",
        "interactions",
        "call_events",
        "customer_phones",
        "calls",
        "agent_state_changes",
        "customers",
        "agents",
    ):
        op.drop_table(table)
