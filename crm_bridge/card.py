"""The customer card: what a CRM backend returns and what the screen-pop shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = [
    "FAILURE_REASONS",
    "CardAnswer",
    "CrmBackend",
    "CrmUnavailable",
    "CustomerCard",
    "InteractionSummary",
    "TicketSummary",
]

#: Why a CRM request failed (``CrmUnavailable.reason``; the ``reason`` label of
#: ``hotline_crm_failures_total``): ``timeout`` (no answer within the budget),
#: ``refused`` (no connection), ``http_status`` (an error status), ``bad_answer``
#: (not JSON, too big, a field of the wrong type), ``breaker_open`` (not asked: the
#: breaker is open), ``error`` (anything else).
FAILURE_REASONS = ("timeout", "refused", "http_status", "bad_answer", "breaker_open", "error")


class CrmUnavailable(Exception):
    """The CRM did not answer usably; ``reason`` is one of :data:`FAILURE_REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in FAILURE_REASONS:
            raise ValueError(f"unknown CRM failure reason {reason!r}")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    """One past contact, as an agent sees it on the card."""

    created_at: dt.datetime
    disposition: str
    notes: str | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """An open (or pending) ticket of the customer, as the card shows it."""

    ticket_id: int
    subject: str
    status: str
    #: 0 (the first line) .. 3
    escalation: int


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """A customer found for a caller: identity, tier, numbers, latest contacts.

    ``numbers`` are E.164; ``last_interactions`` are newest first (at most 3).
    ``customer_id`` is the built-in CRM's (None for a card of an HTTP CRM, whose own
    id is ``external_id``); ``link`` opens the customer in the CRM (the config's
    ``crm.link_template``).
    """

    customer_id: int | None
    full_name: str
    account_no: str | None
    tier: str
    numbers: tuple[str, ...]
    last_interactions: tuple[InteractionSummary, ...] = ()
    language: str | None = None
    notes: str | None = None
    external_id: str | None = None
    link: str | None = None
    #: open and pending tickets, most escalated first (at most 5)
    tickets: tuple[TicketSummary, ...] = ()

    @property
    def is_vip(self) -> bool:
        return self.tier == "vip"

    def to_json(self) -> dict[str, Any]:
        """The card as the agent's screen-pop shows it (the ``card`` of a ``screen_pop``)."""
        out: dict[str, Any] = {
            "customer_id": self.customer_id,
            "full_name": self.full_name,
            "account_no": self.account_no,
            "tier": self.tier,
            "numbers": list(self.numbers),
            "last_interactions": [
                {"at": i.created_at.isoformat(), "disposition": i.disposition, "notes": i.notes}
                for i in self.last_interactions
            ],
        }
        for key in ("language", "notes", "external_id", "link"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        if self.tickets:
            out["tickets"] = [
                {"id": t.ticket_id, "subject": t.subject, "status": t.status,
                 "escalation": t.escalation}
                for t in self.tickets
            ]  # fmt: skip
        return out


@dataclass(frozen=True, slots=True)
class CardAnswer:
    """What a lookup found: ``found`` (with its card), ``not_found`` (no such customer,
    or not a number) or ``unavailable`` (the CRM failed, was too slow, or its breaker is
    open; ``reason`` says which, one of :data:`FAILURE_REASONS`)."""

    status: Literal["found", "not_found", "unavailable"]
    card: CustomerCard | None = None
    reason: str | None = None


class CrmBackend(Protocol):
    """What the shell needs from a CRM (the built-in SQL one or an HTTP one)."""

    async def lookup_by_number(self, raw: str) -> CustomerCard | None: ...
