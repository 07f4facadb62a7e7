"""Dispositions written back to the CRM's contact history, and the customer's card refreshed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from crm_bridge.lookup import CrmLookup
from crm_bridge.models import Interaction

__all__ = ["DispositionStore", "DispositionWriteBack"]


class DispositionStore(Protocol):
    """Where a disposition is saved (the controller's ``Store``): it checks the code and
    whose call it is, and returns the contact it added to the customer's history."""

    async def save_disposition(
        self, call_id: str, agent_id: int, code: str, notes: str, *, fcr: bool | None = None
    ) -> Interaction: ...


class DispositionWriteBack:
    """The web edge's ``Dispositions``: agent ids are strings at the edge, ints in SQL.

    ``before`` runs first (the composition root passes ``StoreWriter.flush``: the
    call's facts are written behind, and the store's "whose call is it" check must
    see the answering agent). Once the disposition is saved the customer's cached
    card is dropped, so the next call of that customer shows this contact.
    """

    def __init__(
        self,
        store: DispositionStore,
        lookup: CrmLookup,
        *,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.lookup = lookup
        self.before = before

    async def save_disposition(
        self, call_id: str, agent_id: str, code: str, notes: str, *, fcr: bool
    ) -> None:
        if self.before is not None:
            await self.before()
        interaction = await self.store.save_disposition(call_id, int(agent_id), code, notes,
                                                        fcr=fcr)  # fmt: skip
        if interaction.customer_id is not None:
            self.lookup.forget_customer(interaction.customer_id)
