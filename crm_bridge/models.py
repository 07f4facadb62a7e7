"""The built-in CRM's tables: customers, their numbers, their contact history and
their tickets.

Declared on :data:`sqlbase.METADATA`, the schema the controller's tables share
(``callcenter.storage.models``): a contact's ``call_id`` and ``agent_id`` are foreign
keys to the controller's ``calls`` and ``agents`` tables, resolved by name in that one
schema, so this package imports nothing of the controller's. The Alembic history that
creates them is the store's (``callcenter/storage/migrations``); ``tests/test_storage.py``
checks that it matches these models.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sqlbase import METADATA, TYPE_MAP, BigId

__all__ = ["TICKET_STATUSES", "CrmBase", "Customer", "CustomerPhone", "Interaction", "Ticket"]

#: a ticket's life; ``open`` and ``pending`` are shown on the card
TICKET_STATUSES = ("open", "pending", "resolved", "closed")
#: a ticket's escalation level: 0 (the first line) .. 3
MAX_ESCALATION = 3


class CrmBase(DeclarativeBase):
    metadata = METADATA
    type_annotation_map = TYPE_MAP


class Customer(CrmBase):
    """A customer of the built-in SQL CRM."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    full_name: Mapped[str] = mapped_column(String(128))
    account_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: ``vip`` or ``standard`` (free text, the ACD maps it to a priority).
    tier: Mapped[str] = mapped_column(String(16), default="standard")
    notes: Mapped[str | None] = mapped_column(Text)
    #: the language the customer speaks (``vi``, ``en``: the IVR's codes), if known
    language: Mapped[str | None] = mapped_column(String(8))


class CustomerPhone(CrmBase):
    """A customer's number in E.164 (:mod:`crm_bridge.numbers`); a number has one owner."""

    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20), unique=True)


class Interaction(CrmBase):
    """An agent's disposition of a call, with notes: the CRM's contact history."""

    __tablename__ = "interactions"
    __table_args__ = (Index(None, "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: one disposition per call (a second save edits it)
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True, unique=True
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    disposition: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    #: the agent's word: the caller's matter was settled on this call (first-contact
    #: resolution); None on rows written before migration 0018 (FCR then goes by the
    #: code: docs/kpis.md "FCR")
    fcr: Mapped[bool | None] = mapped_column(Boolean)


class Ticket(CrmBase):
    """A customer's case: its status (:data:`TICKET_STATUSES`) and escalation level
    (0 .. :data:`MAX_ESCALATION`); the card shows the open and pending ones."""

    __tablename__ = "tickets"
    __table_args__ = (Index(None, "customer_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
