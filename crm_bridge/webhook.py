"""An outgoing webhook per screen-pop: the card and the call id POSTed to a URL.

Fire and forget: :meth:`PopWebhook.send` returns at once; the POST runs as a task of
its own, bounded by its own ``timeout_s``, so a slow or dead receiver delays no
call and no pop. A failure is logged and counted (``hotline_crm_webhook_failures_total``),
never retried: the pop it describes is over by then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from crm_bridge.figures import CrmFigures

__all__ = ["PopWebhook"]

log = logging.getLogger(__name__)


class PopWebhook:
    """POSTs ``{"call_id", "agent_id", "caller_number", "card", "crm"}`` for each
    screen-pop (``crm``: ``found``, ``not_found``, ``pending`` or ``unavailable``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        headers: Mapping[str, str] | None = None,
        figures: CrmFigures | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})
        self.sent = 0
        self.failures = 0
        self.figures = figures
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, agent_id: str, pop: Mapping[str, Any]) -> None:
        """POST what the agent ``agent_id`` was shown, in the background."""
        body = {"call_id": pop.get("call_id"), "agent_id": agent_id,
                "caller_number": pop.get("caller_number"), "card": pop.get("card"),
                "crm": pop.get("crm")}  # fmt: skip
        task = asyncio.get_running_loop().create_task(self._post(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel the POSTs in flight and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, body: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self.headers)
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._session.post(self.url, json=body) as resp:
                    if resp.status >= 300:
                        raise RuntimeError(f"HTTP {resp.status}")
        except (TimeoutError, aiohttp.ClientError, RuntimeError) as exc:
            self.failures += 1
            if self.figures is not None:
                self.figures.webhook_failed()
            log.warning("screen-pop webhook for call %s failed: %r", body["call_id"], exc)
            return
        self.sent += 1
