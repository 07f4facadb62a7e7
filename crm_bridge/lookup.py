"""A CRM lookup that never holds up a call: cached, bounded in time, retried within its
budget, behind a circuit breaker; what happened counted.

The IVR runs while the lookup is in flight; if the CRM is slow or down the
caller is routed without a card (normal priority) rather than kept waiting, and
the agent's screen-pop says the CRM was unavailable (:class:`CardAnswer`).

Cards are cached in memory by the caller's normalized number (E.164), so the
many calls of one customer ask the CRM once per ``ttl_s``; "no customer" is
cached for ``negative_ttl_s`` (a customer added meanwhile is found that much
later). A disposition written back for a customer drops its card
(:meth:`CrmLookup.forget_customer`): the next call shows the new contact.
Failures and timeouts are never cached. Concurrent lookups of one number share
one request to the backend.

A lookup has a time budget (``budget_s``, the config's ``crm.lookup_timeout_s``):
an attempt that fails (refused, an error status, a garbled answer) is retried
while the budget lasts, up to ``retries`` times; the lookup gives up when the
budget is spent, whatever the backend is doing. Every failed attempt counts
against the :class:`~crm_bridge.breaker.Breaker`; while it is open, lookups
are answered "unavailable" at once without asking the CRM.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from crm_bridge.breaker import Breaker
from crm_bridge.card import CardAnswer, CrmBackend, CrmUnavailable, CustomerCard
from crm_bridge.figures import CrmFigures
from crm_bridge.numbers import normalize_number

__all__ = ["CrmLookup"]

log = logging.getLogger(__name__)

#: pause between a failed attempt and the next (cut short by the budget)
RETRY_PAUSE_S = 0.05


_NOT_FOUND = CardAnswer("not_found")


@dataclass(frozen=True, slots=True)
class _Cached:
    card: CustomerCard | None
    expires: float


class CrmLookup:
    """Wraps a :class:`CrmBackend` with a card cache, a time budget, retries and a breaker.

    ``region`` reads numbers without a country code (as the backend does);
    ``clock`` is injected for tests (monotonic seconds: the cache's TTL and the
    breaker's reset time); ``link_template`` (``{customer_id}``, ``{account_no}``,
    ``{number}``, ``{external_id}``) becomes each found card's "open in CRM" link.
    """

    def __init__(
        self,
        backend: CrmBackend,
        *,
        region: str = "VN",
        ttl_s: float = 300.0,
        negative_ttl_s: float = 30.0,
        max_cards: int = 100_000,
        retries: int = 1,
        breaker: Breaker | None = None,
        figures: CrmFigures | None = None,
        link_template: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.region = region
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.max_cards = max_cards
        self.retries = retries
        self.breaker = breaker or Breaker()
        self.figures = figures
        self.link_template = link_template
        self._clock = clock
        self._cards: OrderedDict[str, _Cached] = OrderedDict()
        self._by_customer: dict[int, set[str]] = {}
        self._inflight: dict[str, asyncio.Future[CustomerCard | None]] = {}
        #: the budget's end of each request in flight (loop time)
        self._deadlines: dict[str, float] = {}
        self.timeouts = 0
        self.errors = 0
        self.hits = 0
        self.misses = 0
        if figures is not None:
            figures.watch_breaker(lambda: self.breaker.state)

    async def lookup(self, number: str, timeout_s: float) -> CustomerCard | None:
        """The card for ``number``, or None if not found, not a number, too slow or failed."""
        return (await self.answer(number, timeout_s)).card

    async def answer(self, number: str, budget_s: float) -> CardAnswer:
        """What the CRM says of ``number`` within ``budget_s`` seconds (never raises)."""
        key = normalize_number(number, self.region)
        if key is None:
            return _NOT_FOUND
        cached = self._cards.get(key)
        if cached is not None and cached.expires > self._clock():
            self.hits += 1
            return _answer(cached.card)
        self.misses += 1
        if key not in self._inflight and not self.breaker.allow(self._clock()):
            self.errors += 1
            self._count_failure("breaker_open")
            return CardAnswer("unavailable", reason="breaker_open")
        loop = asyncio.get_running_loop()
        started = loop.time()
        future = self._fetch(key, started + budget_s)
        try:
            async with asyncio.timeout(budget_s):
                card = await asyncio.shield(future)
        except TimeoutError:
            if future is self._inflight.get(key) and loop.time() >= self._deadlines[key]:
                # its budget is spent too: the next call asks anew; the request itself
                # ends at once on its own deadline and tells the breaker (not cancelled:
                # a cancelled probe would leave the breaker waiting for its verdict)
                del self._inflight[key], self._deadlines[key]
            self.timeouts += 1
            log.warning("CRM lookup of %r timed out after %.3f s", number, budget_s)
            reason = "timeout"
        except CrmUnavailable as exc:  # e.g. the CRM is down: expected, no traceback
            self.errors += 1
            log.warning("CRM lookup of %r failed: %s", number, exc)
            reason = exc.reason
        except Exception as exc:
            self.errors += 1
            log.warning("CRM lookup of %r failed: %r", number, exc)
            log.debug("CRM lookup of %r failed", number, exc_info=True)
            reason = "error"
        else:
            return _answer(card)
        return CardAnswer("unavailable", reason=reason)

    async def close(self) -> None:
        """Cancel the backend requests still in flight, then close the backend if it
        can be closed (:meth:`SqlCrm.close`): the controller is stopping."""
        for future in list(self._inflight.values()):
            future.cancel()
        self._inflight.clear()
        self._deadlines.clear()
        close = getattr(self.backend, "close", None)
        if close is not None:
            await close()

    def forget_customer(self, customer_id: int) -> None:
        """Drop the cached card of ``customer_id`` (its history changed)."""
        for key in self._by_customer.pop(customer_id, set()):
            self._cards.pop(key, None)

    def _fetch(self, key: str, deadline: float) -> asyncio.Future[CustomerCard | None]:
        """One backend request per number in flight; its result cached when it succeeds."""
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._attempts(key, deadline))
            self._inflight[key] = future
            self._deadlines[key] = deadline
            future.add_done_callback(lambda done: self._store(key, done))
        return future

    async def _attempts(self, key: str, deadline: float) -> CustomerCard | None:
        """Ask the backend, again after a failure while the budget and the breaker allow.

        Written out rather than with a retry library: the one rule is "each attempt
        gets what is left of the budget", three lines here."""
        loop = asyncio.get_running_loop()
        for attempt in range(self.retries + 1):
            if attempt and not self.breaker.allow(self._clock()):
                raise CrmUnavailable("breaker_open", "the CRM failed too often")
            try:
                async with asyncio.timeout_at(deadline):
                    card = await self.backend.lookup_by_number(key)
            except TimeoutError:
                self.breaker.failed(self._clock())
                self._count_failure("timeout")
                raise
            except CrmUnavailable as exc:
                self.breaker.failed(self._clock())
                self._count_failure(exc.reason)
                failure: Exception = exc
            except Exception as exc:
                self.breaker.failed(self._clock())
                self._count_failure("error")
                failure = exc
            else:
                self.breaker.succeeded()
                return self._linked(card, key)
            if attempt == self.retries or loop.time() + RETRY_PAUSE_S >= deadline:
                raise failure
            await asyncio.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    def _linked(self, card: CustomerCard | None, key: str) -> CustomerCard | None:
        if card is None or self.link_template is None:
            return card
        fields = {"customer_id": card.customer_id, "account_no": card.account_no or "",
                  "external_id": card.external_id or "", "number": key}  # fmt: skip
        try:
            link = self.link_template.format_map(fields)
        except (KeyError, ValueError, IndexError):  # checked in the config; never fail a card
            return card
        return dataclasses.replace(card, link=link)

    def _store(self, key: str, done: asyncio.Future[CustomerCard | None]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key], self._deadlines[key]
        if done.cancelled() or done.exception() is not None:
            return  # failures are not cached; the lookup that awaited it logged it
        card = done.result()
        ttl = self.ttl_s if card is not None else self.negative_ttl_s
        self._cards[key] = _Cached(card, self._clock() + ttl)
        self._cards.move_to_end(key)
        if card is not None and card.customer_id is not None:
            self._by_customer.setdefault(card.customer_id, set()).add(key)
        while len(self._cards) > self.max_cards:
            old_key, old = self._cards.popitem(last=False)
            if old.card is not None and old.card.customer_id is not None:
                self._by_customer.get(old.card.customer_id, set()).discard(old_key)

    def _count_failure(self, reason: str) -> None:
        if self.figures is not None:
            self.figures.failed(reason)


def _answer(card: CustomerCard | None) -> CardAnswer:
    return CardAnswer("found", card) if card is not None else _NOT_FOUND
