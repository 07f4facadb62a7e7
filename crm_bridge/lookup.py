"""A CRM lookup that never holds up a call: bounded in time, failures logged.

The IVR runs while the lookup is in flight; if the CRM is slow or down the
caller is routed without a card (normal priority) rather than kept waiting.
"""

from __future__ import annotations

import asyncio
import logging

from crm_bridge.card import CrmBackend, CustomerCard

__all__ = ["CrmLookup"]

log = logging.getLogger(__name__)


class CrmLookup:
    """Wraps a :class:`CrmBackend` with a timeout; counts timeouts and errors."""

    def __init__(self, backend: CrmBackend) -> None:
        self.backend = backend
        self.timeouts = 0
        self.errors = 0

    async def lookup(self, number: str, timeout_s: float) -> CustomerCard | None:
        """The card for ``number``, or None if not found, too slow or failed (logged)."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self.backend.lookup_by_number(number)
        except TimeoutError:
            self.timeouts += 1
            log.warning("CRM lookup of %r timed out after %.3f s", number, timeout_s)
        except Exception:
            self.errors += 1
            log.exception("CRM lookup of %r failed", number)
        return None
