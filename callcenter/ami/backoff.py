"""Reconnect delays: exponential backoff with full jitter.

``delay(n) = min(maximum, initial * 2**n) * rng.random()`` for the n-th
attempt in a row (n = 0 for the first), the "full jitter" of the AWS
Architecture Blog's *Exponential Backoff and Jitter*: many controllers that
lost the same Asterisk do not come back in lock-step. The random source is
injected so tests get the same delays every run.
"""

from __future__ import annotations

import random
from typing import Protocol


class RandomSource(Protocol):
    def random(self) -> float: ...


class Backoff:
    """Delays before the n-th reconnect attempt in a row."""

    def __init__(self, initial: float, maximum: float, rng: RandomSource | None = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        self.initial = initial
        self.maximum = maximum
        self.rng: RandomSource = rng if rng is not None else random.Random()

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the n-th delay (before jitter)."""
        # 2**n overflows a float past n = 1023; the cap is reached long before.
        return min(self.maximum, self.initial * 2.0 ** min(attempt, 64))

    def delay(self, attempt: int) -> float:
        """A delay drawn uniformly from ``[0, ceiling(attempt))``."""
        return self.ceiling(attempt) * self.rng.random()
