"""The built-in CRM's tickets: opened for a customer, moved along their statuses,
escalated. The caller owns the transaction (a session of the store's)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from crm_bridge.models import MAX_ESCALATION, TICKET_STATUSES, Customer, Ticket

__all__ = ["TicketRejected", "open_ticket", "update_ticket"]

_MAX_SUBJECT = 200


class TicketRejected(ValueError):
    """A ticket could not be opened or changed (nothing written).

    Codes: ``no_subject``, ``unknown_customer``, ``unknown_ticket``, ``bad_status``,
    ``bad_escalation``.
    """

    def __init__(self, detail: str, *, code: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")


def _check(status: str | None, escalation: int | None) -> None:
    if status is not None and status not in TICKET_STATUSES:
        raise TicketRejected(f"{status!r} is not one of {', '.join(TICKET_STATUSES)}",
                             code="bad_status")  # fmt: skip
    if escalation is not None and not 0 <= escalation <= MAX_ESCALATION:
        raise TicketRejected(f"{escalation} is not 0..{MAX_ESCALATION}", code="bad_escalation")


async def open_ticket(
    session: AsyncSession,
    customer_id: int,
    subject: str,
    at: dt.datetime,
    *,
    escalation: int = 0,
    call_id: str | None = None,
) -> Ticket:
    """A new ``open`` ticket of ``customer_id``."""
    subject = subject.strip()
    if not subject or len(subject) > _MAX_SUBJECT:
        raise TicketRejected(f"a subject of 1-{_MAX_SUBJECT} characters", code="no_subject")
    _check(None, escalation)
    if await session.get(Customer, customer_id) is None:
        raise TicketRejected(f"no customer {customer_id}", code="unknown_customer")
    ticket = Ticket(customer_id=customer_id, subject=subject, status="open",
                    escalation=escalation, created_at=at, updated_at=at, call_id=call_id)  # fmt: skip
    session.add(ticket)
    await session.flush()
    return ticket


async def update_ticket(
    session: AsyncSession,
    ticket_id: int,
    at: dt.datetime,
    *,
    status: str | None = None,
    escalation: int | None = None,
) -> Ticket:
    """Move ticket ``ticket_id`` to ``status`` and/or ``escalation``."""
    _check(status, escalation)
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketRejected(f"no ticket {ticket_id}", code="unknown_ticket")
    if status is not None:
        ticket.status = status
    if escalation is not None:
        ticket.escalation = escalation
    ticket.updated_at = at
    return ticket
