"""An AMI session of its own on pbxsim that watches every caller, whatever the controller does.

It records, per caller channel (the ``;1`` half parked in AsyncAGI in the hotline
context), what a caller lives through: how long it sat in AsyncAGI with no AGI
command running (silence: nothing drives it), which bridges it entered, and
when it hung up. The invariants of the restart tests are read from it and from
SQL, never from the controller under test.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from callcenter.ami import AMIClient
from callcenter.ami.agi import parse_agi_env
from callcenter.demo import SECRET

WATCHED = ("AsyncAGIStart", "AsyncAGIEnd", "AGIExecStart", "AGIExecEnd", "BridgeEnter", "Hangup")


@dataclass
class Caller:
    uniqueid: str
    channel: str
    #: when the observer saw it first (its AsyncAGIStart, loop clock)
    arrived_at: float = 0.0
    #: AsyncAGI with no command running since (loop clock), or None
    idle_since: float | None = None
    longest_silence: float = 0.0
    bridges: list[str] = field(default_factory=list)
    bridged_at: float | None = None
    hung_up: bool = False
    hung_up_at: float | None = None


class Observer:
    def __init__(self, port: int, context: str = "hotline-safe") -> None:
        self.client = AMIClient("127.0.0.1", port, "hotline", SECRET, auth="md5",
                                name="observer", events=WATCHED)  # fmt: skip
        self.context = context
        self.callers: dict[str, Caller] = {}
        self._loop = asyncio.get_running_loop()

    async def start(self) -> None:
        self.client.on_event("*", self._on_event)
        self.client.on_reconnect(self._resync)
        await self.client.connect()

    async def _resync(self) -> None:
        """After its own link dropped: callers no longer listed ended unseen."""
        listing = await self.client.send_list_action("CoreShowChannels")
        alive = {ev.get("Uniqueid") for ev in listing.events}
        now = self._loop.time()
        for c in self.callers.values():
            if c.uniqueid not in alive and not c.hung_up:
                c.hung_up = True
                c.hung_up_at = now
                if c.idle_since is not None:
                    c.longest_silence = max(c.longest_silence, now - c.idle_since)
                    c.idle_since = None

    async def close(self) -> None:
        await self.client.close()

    def _on_event(self, ev: Any) -> None:
        uid = ev.get("Uniqueid") or ""
        now = self._loop.time()
        if ev.name == "AsyncAGIStart":
            env = parse_agi_env(ev.get("Env") or "")
            if uid not in self.callers and env.context == self.context:
                self.callers[uid] = Caller(uid, ev.get("Channel") or "", arrived_at=now)
        caller = self.callers.get(uid)
        if caller is None:
            return
        if ev.name in ("AsyncAGIStart", "AGIExecEnd"):
            caller.idle_since = now
            return
        if caller.idle_since is not None:
            caller.longest_silence = max(caller.longest_silence, now - caller.idle_since)
            caller.idle_since = None
        if ev.name == "BridgeEnter":
            caller.bridges.append(ev.get("BridgeUniqueid") or "")
            caller.bridged_at = caller.bridged_at or now
        elif ev.name == "Hangup":
            caller.hung_up = True
            caller.hung_up_at = now

    def silences(self) -> dict[str, float]:
        """Each caller's longest time parked in AsyncAGI with no command, so far."""
        now = self._loop.time()
        out = {}
        for c in self.callers.values():
            open_gap = now - c.idle_since if c.idle_since is not None and not c.hung_up else 0.0
            out[c.uniqueid] = max(c.longest_silence, open_gap)
        return out


class SilenceProbe:
    """Samples pbxsim itself (the PBX, not an AMI session: it sees through link drops).

    A caller is silent while its channel sits in AsyncAGI with no AGI command running
    and in no bridge: nothing drives it. Sampled every ``every`` seconds.
    """

    def __init__(self, sim: Any, every: float = 0.25) -> None:
        self.sim = sim
        self.every = every
        self.longest: dict[str, float] = {}
        self._since: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="silence probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _close(self, uid: str, now: float) -> None:
        since = self._since.pop(uid, None)
        if since is not None:
            self.longest[uid] = max(self.longest.get(uid, 0.0), now - since)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            seen = set()
            for ch in list(self.sim.world.channels.values()):
                if ch.role != "caller":
                    continue
                seen.add(ch.uniqueid)
                idle = ch.agi is not None and ch.agi.running is None and ch.bridge is None
                if idle:
                    self._since.setdefault(ch.uniqueid, now)
                else:
                    self._close(ch.uniqueid, now)
            for uid in [u for u in self._since if u not in seen]:
                self._close(uid, now)
            await asyncio.sleep(self.every)

    def worst(self) -> float:
        now = asyncio.get_running_loop().time()
        open_gaps = [now - since for since in self._since.values()]
        return max([*self.longest.values(), *open_gaps, 0.0])
