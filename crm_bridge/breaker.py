"""A circuit breaker for the CRM: after ``failures`` failed requests in a row, stop
asking it for ``reset_s``; then let one probe through; the probe's success closes it.

Rules (all of the breaker's state lives here):

1. CLOSED: every request goes; a success resets the count of failures in a row;
   the ``failures``-th failure in a row opens it.
2. OPEN: no request goes until ``reset_s`` after it opened; then the next request
   asked for is the probe (HALF_OPEN).
3. HALF_OPEN: only the probe is in flight; others are refused. Its success closes
   the breaker, its failure opens it again for another ``reset_s``. A probe that
   has not answered within ``reset_s`` is taken as lost: the next request probes.

Time is an input (``now``, monotonic seconds): tests move it by hand. Written here
rather than taken from a library: the asyncio-capable ones (aiobreaker, last
released 2021; circuitbreaker, a decorator with a process-wide registry and
``datetime.utcnow``) read the wall clock themselves and keep module-level state,
so neither can be driven by an injected clock nor hold one breaker per CRM.
"""

from __future__ import annotations

import enum

__all__ = ["Breaker", "BreakerState"]


class BreakerState(enum.Enum):
    #: requests go to the CRM
    CLOSED = 0
    #: one probe is allowed (or in flight) to learn whether the CRM is back
    HALF_OPEN = 1
    #: the CRM failed ``failures`` times in a row: no request goes until ``reset_s`` passed
    OPEN = 2


class Breaker:
    """One CRM's breaker (see the module's rules)."""

    def __init__(self, *, failures: int = 5, reset_s: float = 30.0) -> None:
        if failures < 1 or reset_s <= 0:
            raise ValueError("a breaker needs failures >= 1 and reset_s > 0")
        self.failures = failures
        self.reset_s = reset_s
        self.state = BreakerState.CLOSED
        self._in_a_row = 0
        self._opened_at = 0.0
        self._probing = False
        self._probe_at = 0.0

    def allow(self, now: float) -> bool:
        """Whether a request may go now; True in HALF_OPEN makes it the probe."""
        if self.state is BreakerState.OPEN and now - self._opened_at >= self.reset_s:
            self.state = BreakerState.HALF_OPEN
            self._probing = False
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN and (
            not self._probing or now - self._probe_at >= self.reset_s
        ):
            self._probing = True
            self._probe_at = now
            return True
        return False

    def succeeded(self) -> None:
        """A request answered (a card or "no such customer"): the CRM works."""
        self.state = BreakerState.CLOSED
        self._in_a_row = 0
        self._probing = False

    def failed(self, now: float) -> None:
        """A request failed (refused, too slow, an error status, a garbled answer)."""
        self._in_a_row += 1
        if self.state is BreakerState.HALF_OPEN or self._in_a_row >= self.failures:
            self.state = BreakerState.OPEN
            self._opened_at = now
            self._probing = False
