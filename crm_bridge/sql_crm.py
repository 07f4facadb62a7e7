"""The built-in CRM: customers, their numbers and contact history in Hotline's own SQL store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_bridge.card import CustomerCard, InteractionSummary
from crm_bridge.models import Customer, CustomerPhone, Interaction
from crm_bridge.numbers import normalize_number

__all__ = ["SqlCrm"]

#: How many past contacts a card carries.
LAST_INTERACTIONS = 3


class SqlCrm:
    """Looks customers up by caller number or account number.

    ``region`` is how numbers without a country code are read (see
    :func:`crm_bridge.numbers.normalize_number`). ``owned``: an engine this CRM
    was given to keep (the controller gives it one of its own, so a card lookup
    never waits behind the controller's other SQL); :meth:`close` disposes of it.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        region: str = "VN",
        owned: AsyncEngine | None = None,
    ) -> None:
        self.sessions = sessions
        self.region = region
        self._engine = owned

    async def close(self) -> None:
        """Dispose of the ``owned`` engine (nothing otherwise)."""
        if self._engine is not None:
            await self._engine.dispose()

    async def lookup_by_number(self, raw: str) -> CustomerCard | None:
        """The customer owning ``raw`` in any spelling, or None (also for garbage)."""
        e164 = normalize_number(raw, self.region)
        if e164 is None:
            return None
        async with self.sessions() as session:
            customer = await session.scalar(
                select(Customer)
                .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                .where(CustomerPhone.e164 == e164)
            )
            return None if customer is None else await self._card(session, customer)

    async def lookup_by_account(self, account_no: str) -> CustomerCard | None:
        """The customer with this account number (as entered in the IVR), or None."""
        account_no = account_no.strip()
        if not account_no:
            return None
        async with self.sessions() as session:
            customer = await session.scalar(
                select(Customer).where(Customer.account_no == account_no)
            )
            return None if customer is None else await self._card(session, customer)

    @staticmethod
    async def _card(session: AsyncSession, customer: Customer) -> CustomerCard:
        numbers = await session.scalars(
            select(CustomerPhone.e164)
            .where(CustomerPhone.customer_id == customer.id)
            .order_by(CustomerPhone.id)
        )
        interactions = await session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer.id)
            .order_by(Interaction.created_at.desc(), Interaction.id.desc())
            .limit(LAST_INTERACTIONS)
        )
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
        )
