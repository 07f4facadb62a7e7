"""The built-in CRM: customers, their numbers and contact history in Hotline's own SQL store.

Every call asks it for a card, so a lookup is kept cheap: Core statements
compiled once, on one connection the CRM keeps open in autocommit (no pool
checkout, no session, no BEGIN/ROLLBACK per lookup). A number no customer has,
the common case, is one ``SELECT``. ``bench/pipeline.py`` measured ~0.8 ms of
the controller's CPU per lookup through an ORM session on a pooled connection
(on SQLite each step a hop to aiosqlite's thread), ~0.1-0.15 ms this way.
Lookups take turns on the connection; a connection that fails is dropped and
the next lookup opens another (one lost to a database restart is retried once
at once).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_bridge.card import CustomerCard, InteractionSummary, TicketSummary
from crm_bridge.models import Customer, CustomerPhone, Interaction, Ticket
from crm_bridge.numbers import normalize_number
from sqlbase import discard

__all__ = ["SqlCrm"]

#: How many past contacts a card carries.
LAST_INTERACTIONS = 3
#: How many open tickets a card carries (the most escalated, then the newest).
OPEN_TICKETS = 5

_CUSTOMER = (Customer.id, Customer.full_name, Customer.account_no, Customer.tier,
             Customer.language, Customer.notes)  # fmt: skip
_BY_NUMBER = (
    select(*_CUSTOMER)
    .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
    .where(CustomerPhone.e164 == bindparam("e164"))
)
_BY_ACCOUNT = select(*_CUSTOMER).where(Customer.account_no == bindparam("account_no"))
_NUMBERS = (
    select(CustomerPhone.e164)
    .where(CustomerPhone.customer_id == bindparam("customer_id"))
    .order_by(CustomerPhone.id)
)
_INTERACTIONS = (
    select(Interaction.created_at, Interaction.disposition, Interaction.notes,
           Interaction.agent_id)
    .where(Interaction.customer_id == bindparam("customer_id"))
    .order_by(Interaction.created_at.desc(), Interaction.id.desc())
    .limit(LAST_INTERACTIONS)
)  # fmt: skip
_TICKETS = (
    select(Ticket.id, Ticket.subject, Ticket.status, Ticket.escalation)
    .where(Ticket.customer_id == bindparam("customer_id"),
           Ticket.status.in_(("open", "pending")))
    .order_by(Ticket.escalation.desc(), Ticket.updated_at.desc(), Ticket.id.desc())
    .limit(OPEN_TICKETS)
)  # fmt: skip


class SqlCrm:
    """Looks customers up by caller number or account number.

    ``region`` is how numbers without a country code are read (see
    :func:`crm_bridge.numbers.normalize_number`). ``owned``: the ``engine`` was
    made for this CRM (the controller gives it one of its own, so a card lookup
    never waits behind the controller's other SQL) and :meth:`close` disposes of
    it; either way :meth:`close` gives up the CRM's connection.
    """

    def __init__(self, engine: AsyncEngine, *, region: str = "VN", owned: bool = False) -> None:
        self.engine = engine
        self.region = region
        self._owned = owned
        self._conn: AsyncConnection | None = None
        self._turn = asyncio.Lock()

    async def close(self) -> None:
        """Give up the connection; dispose of the engine if it is ``owned``."""
        async with self._turn:
            await self._drop()
        if self._owned:
            await self.engine.dispose()

    async def lookup_by_number(self, raw: str) -> CustomerCard | None:
        """The customer owning ``raw`` in any spelling, or None (also for garbage)."""
        e164 = normalize_number(raw, self.region)
        if e164 is None:
            return None
        return await self._card(_BY_NUMBER, {"e164": e164})

    async def lookup_by_account(self, account_no: str) -> CustomerCard | None:
        """The customer with this account number (as entered in the IVR), or None."""
        account_no = account_no.strip()
        if not account_no:
            return None
        return await self._card(_BY_ACCOUNT, {"account_no": account_no})

    async def _card(self, find: Any, params: dict[str, str]) -> CustomerCard | None:
        async with self._turn:
            for attempt in range(2):
                conn = await self._connection()
                try:
                    return await _read_card(conn, find, params)
                except DBAPIError as exc:
                    await self._drop()
                    if attempt or not exc.connection_invalidated:
                        raise
                except BaseException:  # cancelled mid-statement, or the driver failed
                    await self._drop()
                    raise
        raise AssertionError("unreachable")

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self.engine.connect()
            try:
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                await conn.close()
                raise
        return self._conn

    async def _drop(self) -> None:
        """Forget the connection. It is not handed back to the engine's pool: its
        isolation level reset there would change how the next user's transactions begin."""
        conn, self._conn = self._conn, None
        await discard(conn)


async def _read_card(
    conn: AsyncConnection, find: Any, params: dict[str, str]
) -> CustomerCard | None:
    customer: Row[Any] | None = (await conn.execute(find, params)).first()
    if customer is None:
        return None
    cid = {"customer_id": customer.id}
    numbers = (await conn.execute(_NUMBERS, cid)).scalars().all()
    interactions = (await conn.execute(_INTERACTIONS, cid)).all()
    tickets = (await conn.execute(_TICKETS, cid)).all()
    return CustomerCard(
        customer_id=customer.id,
        full_name=customer.full_name,
        account_no=customer.account_no,
        tier=customer.tier,
        numbers=tuple(numbers),
        last_interactions=tuple(
            InteractionSummary(i.created_at, i.disposition, i.notes, i.agent_id)
            for i in interactions
        ),
        language=customer.language,
        notes=customer.notes,
        tickets=tuple(TicketSummary(t.id, t.subject, t.status, t.escalation) for t in tickets),
    )
