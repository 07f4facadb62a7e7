"""The customer card: what a CRM backend returns and what the screen-pop shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["CrmBackend", "CustomerCard", "InteractionSummary"]


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    """One past contact, as an agent sees it on the card."""

    created_at: dt.datetime
    disposition: str
    notes: str | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """A customer found for a caller: identity, tier, numbers, latest contacts.

    ``numbers`` are E.164; ``last_interactions`` are newest first (at most 3).
    """

    customer_id: int
    full_name: str
    account_no: str | None
    tier: str
    numbers: tuple[str, ...]
    last_interactions: tuple[InteractionSummary, ...] = ()

    @property
    def is_vip(self) -> bool:
        return self.tier == "vip"

    def to_json(self) -> dict[str, Any]:
        """The card as the agent's screen-pop shows it (the ``card`` of a ``screen_pop``)."""
        return {
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


class CrmBackend(Protocol):
    """What the shell needs from a CRM (the built-in SQL one or an HTTP one)."""

    async def lookup_by_number(self, raw: str) -> CustomerCard | None: ...
