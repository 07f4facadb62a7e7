"""Event-loop lag: how late a timer fires compared to when it was due.

Asterisk drops an AMI client whose socket write blocks past ``writetimeout``
(100 ms by default), so a blocked loop loses events. This monitor sleeps a
short interval over and over and records by how much each wake-up was late;
the demo prints its p99 and max (``loop_lag_p99_ms``, ``loop_lag_max_ms``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class LoopLagMonitor:
    def __init__(
        self, interval: float = 0.02, on_sample: Callable[[float], None] | None = None
    ) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._on_sample = on_sample
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - due)
            self.samples.append(lag)
            if self._on_sample is not None:
                self._on_sample(lag)

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of the recorded lags, in seconds (0 when empty)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[idx]

    @property
    def max(self) -> float:
        return max(self.samples, default=0.0)
