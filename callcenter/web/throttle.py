"""Login throttling: failed logins counted per account and per client address.

A login whose account or address has used up its failures answers 429 with
``Retry-After`` before any password is checked, so a guesser cannot make the
server run one 64 MiB argon2 check per try. Only failures count: fifty agents
behind one office NAT logging in at the start of a shift do not lock each other
out, and a success clears its account's count. The counters live in this
process's memory (the ``limits`` library's moving window); a restart forgets
them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import limits
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

#: failed logins one account may have in the window (then 429 until the oldest ages out)
DEFAULT_PER_ACCOUNT = "5/minute"
#: failed logins one client address may have in the window
DEFAULT_PER_ADDRESS = "30/minute"


@dataclass(frozen=True, slots=True)
class Throttled:
    """A refused try: which counter is full and how long until it takes one more."""

    by: str  #: "account" | "address"
    retry_after_s: int


class LoginThrottle:
    """Counts failed logins; says when the next try must wait."""

    def __init__(
        self, per_account: str = DEFAULT_PER_ACCOUNT, per_address: str = DEFAULT_PER_ADDRESS
    ) -> None:
        self._account = limits.parse(per_account)
        self._address = limits.parse(per_address)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def _checks(self, username: str, address: str) -> tuple[tuple[str, limits.RateLimitItem,
                                                                   str], ...]:  # fmt: skip
        # usernames are case-folded: "An" and "an" share one count
        return (("account", self._account, username.casefold()),
                ("address", self._address, address))  # fmt: skip

    def refused(self, username: str, address: str) -> Throttled | None:
        """Whether a try of ``username`` from ``address`` must wait (counts nothing)."""
        for by, item, key in self._checks(username, address):
            if not self._limiter.test(item, "login", by, key):
                reset = self._limiter.get_window_stats(item, "login", by, key).reset_time
                return Throttled(by, max(1, math.ceil(reset - time.time())))
        return None

    def failed(self, username: str, address: str) -> None:
        """Count a failed try against the account and the address."""
        for by, item, key in self._checks(username, address):
            self._limiter.hit(item, "login", by, key)

    def succeeded(self, username: str) -> None:
        """A right password: the account's failures are forgiven (not the address's)."""
        self._limiter.clear(self._account, "login", "account", username.casefold())
