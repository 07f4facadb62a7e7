"""The built-in CRM's tables: customers, their numbers and their contact history.

Declared on :data:`sqlbase.METADATA`, the schema the controller's tables share
(``callcenter.storage.models``): a contact's ``call_id`` and ``agent_id`` are foreign
keys to the controller's ``calls`` and ``agents`` tables, resolved by name in that one
schema, so this package imports nothing of the controller's. The Alembic history that
creates them is the store's (``callcenter/storage/migrations``); ``tests/test_storage.py``
checks that it matches these models.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sqlbase import METADATA, TYPE_MAP, BigId

__all__ = ["CrmBase", "Customer", "CustomerPhone", "Interaction"]


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
    call_id: Mapped[str | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime]
    disposition: Mapped[str] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
