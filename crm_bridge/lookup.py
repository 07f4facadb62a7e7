"""A CRM lookup that never holds up a call: cached, bounded in time, failures logged.

The IVR runs while the lookup is in flight; if the CRM is slow or down the
caller is routed without a card (normal priority) rather than kept waiting.

Cards are cached in memory by the caller's normalized number (E.164), so the
many calls of one customer ask the CRM once per ``ttl_s``; "no customer" is
cached for ``negative_ttl_s`` (a customer added meanwhile is found that much
later). A disposition written back for a customer drops its card
(:meth:`CrmLookup.forget_customer`): the next call shows the new contact.
Failures and timeouts are never cached. Concurrent lookups of one number share
one request to the backend.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from crm_bridge.card import CrmBackend, CustomerCard
from crm_bridge.numbers import normalize_number

__all__ = ["CrmLookup"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Cached:
    card: CustomerCard | None
    expires: float


class CrmLookup:
    """Wraps a :class:`CrmBackend` with a card cache and a timeout; counts what happened.

    ``region`` reads numbers without a country code (as the backend does);
    ``clock`` is injected for tests (monotonic seconds).
    """

    def __init__(
        self,
        backend: CrmBackend,
        *,
        region: str = "VN",
        ttl_s: float = 300.0,
        negative_ttl_s: float = 30.0,
        max_cards: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.region = region
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.max_cards = max_cards
        self._clock = clock
        self._cards: OrderedDict[str, _Cached] = OrderedDict()
        self._by_customer: dict[int, set[str]] = {}
        self._inflight: dict[str, asyncio.Future[CustomerCard | None]] = {}
        self.timeouts = 0
        self.errors = 0
        self.hits = 0
        self.misses = 0

    async def lookup(self, number: str, timeout_s: float) -> CustomerCard | None:
        """The card for ``number``, or None if not found, not a number, too slow or failed."""
        key = normalize_number(number, self.region)
        if key is None:
            return None
        cached = self._cards.get(key)
        if cached is not None and cached.expires > self._clock():
            self.hits += 1
            return cached.card
        self.misses += 1
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(self._fetch(key))
        except TimeoutError:
            self.timeouts += 1
            log.warning("CRM lookup of %r timed out after %.3f s", number, timeout_s)
        except Exception as exc:  # e.g. the database is away: expected, no traceback
            self.errors += 1
            log.warning("CRM lookup of %r failed: %r", number, exc)
            log.debug("CRM lookup of %r failed", number, exc_info=True)
        return None

    async def close(self) -> None:
        """Cancel the backend requests still in flight, then close the backend if it
        can be closed (:meth:`SqlCrm.close`): the controller is stopping."""
        for future in list(self._inflight.values()):
            future.cancel()
        self._inflight.clear()
        close = getattr(self.backend, "close", None)
        if close is not None:
            await close()

    def forget_customer(self, customer_id: int) -> None:
        """Drop the cached card of ``customer_id`` (its history changed)."""
        for key in self._by_customer.pop(customer_id, set()):
            self._cards.pop(key, None)


    def _fetch(self, key: str) -> asyncio.Future[CustomerCard | None]:
        """One backend request per number in flight; its result cached when it succeeds."""
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self.backend.lookup_by_number(key))
            self._inflight[key] = future
            future.add_done_callback(lambda done: self._store(key, done))
        return future

    def _store(self, key: str, done: asyncio.Future[CustomerCard | None]) -> None:
        self._inflight.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return  # failures are not cached; the lookup that awaited it logged it
        card = done.result()
        ttl = self.ttl_s if card is not None else self.negative_ttl_s
        self._cards[key] = _Cached(card, self._clock() + ttl)
        self._cards.move_to_end(key)
        if card is not None:
            self._by_customer.setdefault(card.customer_id, set()).add(key)
        while len(self._cards) > self.max_cards:
            old_key, old = self._cards.popitem(last=False)
            if old.card is not None:
                self._by_customer.get(old.card.customer_id, set()).discard(old_key)
