"""The AMI server: TCP sessions speaking Asterisk 22's manager protocol.

Per session (manager.c, 01 and 08): the banner ``Asterisk Call Manager/11.0.0``
alone on the first line; actions are handled one after another in arrival
order; before login only Login/Challenge/Logoff are allowed; events reach a
session once it has logged in and while its event mask is on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .actions import BEFORE_LOGIN, handlers
from .listcommands import allowed
from .population import Population
from .replies import Handler, aid, error
from .sip import SipSide, parse_address
from .trunk import Trunks
from .wire import ActionFrame, ActionParser, Fields, encode
from .world import World

log = logging.getLogger("pbxsim")
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def _tv(t: float) -> str:
    """``2026-11-22T17:44:31.374+0000`` (SuccessfulAuth EventTV, 01)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}+0000"


class Session(asyncio.Protocol):
    """One AMI connection."""

    def __init__(self, sim: PBXSim) -> None:
        self.sim = sim
        self.world: World = sim.world
        self.parser = ActionParser()
        self.transport: asyncio.Transport | None = None
        self.queue: asyncio.Queue[ActionFrame] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.user = ""
        #: the logged-in user's write classes (None: all), from ``PBXSim(write=...)``
        self.writeperm: frozenset[str] | None = None
        self.challenge = ""
        self.events_on = True
        self.session_id = self.world.pointer()
        self.session_tv = _tv(time.time())
        self.local_address = self.remote_address = ""
        #: actions this connection sent (a test tells which client acted)
        self.actions = 0
        #: ``time.monotonic()`` at its first action (bench/takeover.py times a new
        #: leader's first action); bookkeeping only, nothing is sent. One figure, not
        #: one per action: a long demo's pbxsim would keep every action's time
        self.first_action_at: float | None = None

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        local = transport.get_extra_info("sockname") or ("127.0.0.1", 0)
        peer = transport.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local_address = f"IPV4/TCP/{local[0]}/{local[1]}"
        self.remote_address = f"IPV4/TCP/{peer[0]}/{peer[1]}"
        self.sim.sessions.add(self)
        self.sim.opened.append(self)
        self.world.listeners.append(self.on_event)
        transport.write(BANNER)
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            self.queue.put_nowait(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self._detach()
        if self.task is not None:
            self.task.cancel()

    # -- output ----------------------------------------------------------------
    def send(self, fields: Fields) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode(fields))

    def send_event(self, fields: Fields) -> None:
        if self.user and self.events_on:
            self.send(fields)

    def on_event(self, name: str, data: bytes) -> None:
        if (
            self.user
            and self.events_on
            and self.transport is not None
            and not self.transport.is_closing()
        ):
            self.transport.write(data)

    def event_tv(self) -> str:
        return _tv(time.time())

    def close(self) -> None:
        """Close after what was written (Logoff, failed login)."""
        self._detach()
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once, as a crashed Asterisk would."""
        self._detach()
        if self.transport is not None:
            self.transport.abort()

    def _detach(self) -> None:
        self.sim.sessions.discard(self)
        if self.on_event in self.world.listeners:
            self.world.listeners.remove(self.on_event)

    # -- input -----------------------------------------------------------------
    async def _serve(self) -> None:
        table = self.sim.handlers
        while True:
            frame = await self.queue.get()
            try:
                await self.dispatch(frame, table)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pbxsim: action %r failed", frame.name)
                error_fields: Fields = [
                    ("Response", "Error"),
                    *aid(frame),
                    ("Message", "Internal error"),
                ]
                self.send(error_fields)
            if self.transport is None or self.transport.is_closing():
                return

    async def dispatch(self, frame: ActionFrame, table: Mapping[str, Handler]) -> None:
        self.actions += 1
        if self.first_action_at is None:
            self.first_action_at = time.monotonic()
        for hook in self.world.action_hooks:
            hook(frame)
        name = frame.name.strip()
        if not name:
            error(self, frame, "Missing action in request")
            self._bad_request("NONE")
            return
        key = name.lower()
        if not self.user and key not in BEFORE_LOGIN:
            error(self, frame, "Permission denied")
            return
        if not allowed(key, self.writeperm):
            # unrecorded: no transcript has a user refused for its write class;
            # manager.c process_message answers this (and a RequestNotAllowed event)
            error(self, frame, "Permission denied")
            return
        handler = table.get(key)
        if handler is None:
            error(
                self,
                frame,
                f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands.",
            )
            self._bad_request(name)
            return
        await handler(self, frame)

    def _bad_request(self, name: str) -> None:
        """The RequestBadFormat security event (04, 08)."""
        self.world.emit("RequestBadFormat", [
            ("EventTV", self.event_tv()), ("Severity", "Error"), ("Service", "AMI"),
            ("EventVersion", "1"), ("SessionID", self.session_id),
            ("LocalAddress", self.local_address), ("RemoteAddress", self.remote_address),
            ("RequestType", f"Action: {name}"), ("SessionTV", self.session_tv),
            ("AccountID", self.user),
        ])  # fmt: skip


class PBXSim:
    """An Asterisk 22 stand-in on a TCP port, with a simulated world behind it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        write: Mapping[str, str] | None = None,
        scenario: Any = None,
        seed: int = 0,
        spool_dir: Path | str = Path("var/spool"),
        time_scale: float = 1.0,
        event_filter: Iterable[str] = (),
        sip: str | None = None,
        bridge_swap_s: float | None = None,
        trunks: Mapping[str, str] | None = None,
        trunk_listen: str | None = None,
    ) -> None:
        self.host = host
        #: trunk endpoint -> the other pbxsim node's trunk ``HOST:PORT`` (pbxsim.trunk)
        self.trunks = {k: parse_address(v) for k, v in (trunks or {}).items()}
        #: ``HOST:PORT`` where other nodes' trunk calls come in (port 0 picks one, kept
        #: across a restart); None: none come in
        self.trunk_address = parse_address(trunk_listen) if trunk_listen is not None else None
        self.trunk_port: int | None = None
        self.port = port
        #: ``HOST:PORT`` where real SIP calls are taken (pbxsim.sip, needs pjsua2); port 0 picks one
        self.sip_address = sip
        self.sip_port: int | None = None
        self.sip: Any = None
        self.users = dict(users if users is not None else {"hotline": "hotline-secret"})
        #: user -> manager.conf ``write =`` (e.g. ``call,originate,agi,system``); a user
        #: not named holds every class
        self.write = dict(write or {})
        self.scenario = scenario
        self.globals: dict[str, str] = {}
        self._world_args: dict[str, Any] = {
            "seed": seed,
            "time_scale": time_scale,
            "spool_dir": Path(spool_dir),
            "event_filter": frozenset(event_filter),
            "scenario": scenario,
            "bridge_swap_s": bridge_swap_s,
        }
        self.world = World(**self._world_args)
        self.handlers = handlers()
        self.sessions: set[Session] = set()
        #: every AMI connection ever opened, in order (closed ones too)
        self.opened: list[Session] = []
        self._server: asyncio.Server | None = None
        self._started = False
        #: False while a (re)started PBX is still booting (:meth:`restart` with ``boot_s``):
        #: a login then gets no FullyBooted; it comes later, broadcast (20)
        self.booted = True
        self._boot_end = asyncio.Event()

    def writeperm(self, user: str) -> frozenset[str] | None:
        """The user's write classes, ``None`` for all (``all`` or not configured)."""
        text = self.write.get(user)
        if text is None:
            return None
        got = frozenset(c.strip().lower() for c in text.split(",") if c.strip())
        return None if "all" in got else got

    async def start(self) -> None:
        """Listen, and start the world (caller arrivals if a scenario was given).

        With ``sip``, the SIP side starts first; without pjsua2 it raises
        :class:`pbxsim.sip.SipUnavailable` saying what to install.
        """
        self.world.start_clock()
        if self.sip_address is not None and self.sip is None:
            sip_host, sip_port = parse_address(self.sip_address)
            side = SipSide(self.world, sip_host, sip_port)
            await side.start()
            self.sip, self.sip_port = side, side.port
        if (self.trunks or self.trunk_address) and self.world.trunks is None:
            host, port = self.trunk_address or ("127.0.0.1", 0)
            trunks = Trunks(self.world, self.trunks, host, self.trunk_port or port)
            self.world.trunks = trunks
            if self.trunk_address is not None:
                await trunks.listen()
                self.trunk_port = trunks.port
        await self.start_listener()
        if self.scenario is not None and not self._started:
            self.world.population = Population(self.world, self.scenario)
            self.world.population.start()
        self._started = True

    async def start_listener(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Session(self), self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listener(self) -> None:
        """Stop listening and drop every AMI session; calls go on (a restarted AMI)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        while True:
            for session in list(self.sessions):
                session.abort()
            if server is None:
                return
            # A client reconnecting at once may have been accepted while the server was
            # closing: wait_closed() waits for that session too, so it is aborted as well.
            try:
                await asyncio.wait_for(asyncio.shield(server.wait_closed()), 0.2)
                return
            except TimeoutError:
                continue

    async def crash(self) -> None:
        """``kill -9`` of Asterisk (20): every AMI socket closes with nothing before it, the
        port stops listening (connect() is refused), and every call is lost without an
        event. :meth:`restart` boots a new PBX on the same port."""
        if self.sip is not None:
            raise RuntimeError("crash() is not supported with the SIP side on")
        await self.stop_listener()
        old = self.world
        old.listeners.clear()  # the dying process sends nothing more
        if old.trunks is not None:
            await old.trunks.close()  # its trunk links break with it
        await old.close()

    async def restart(self, boot_s: float = 0.0) -> None:
        """Start a fresh PBX on the same port after :meth:`crash` (20): new
        CoreStartupDate/Time (it waits for the next wall-clock second if needed, as a real
        boot takes longer than that), Uptime 0, no channels, CoreProcessedCalls 0.

        With ``boot_s`` > 0 (simulated seconds) logins are accepted at once but the boot
        ends later: such a login gets no FullyBooted after its response; at the end of the
        boot every session gets PeerStatus ``Reachable`` for the scenario's reachable agent
        phones, then FullyBooted with the header order ``Status, Uptime, LastReload``.
        """
        if self._server is not None:
            raise RuntimeError("restart() after crash(): the PBX is still running")
        last_start = int(self.world.started_at)
        while int(time.time()) <= last_start:
            await asyncio.sleep(int(time.time()) + 1.001 - time.time())
        self.world = World(**self._world_args)
        self.globals = {}
        self._started = False
        self.booted = boot_s <= 0
        self._boot_end = asyncio.Event()
        await self.start()
        if not self.booted:
            self.world.spawn(self._boot(boot_s), "boot")

    def end_boot(self) -> None:
        """End a boot started by ``restart(boot_s=...)`` now."""
        self._boot_end.set()

    async def _boot(self, boot_s: float) -> None:
        w = self.world
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._boot_end.wait())}
        if not math.isinf(boot_s):
            waits.add(asyncio.ensure_future(w.sleep(boot_s)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        agents = getattr(self.scenario, "agents", None) or {}
        # unrecorded: pbxsim cannot tell a Local agent phone's key from a PJSIP endpoint's;
        # every scenario agent phone not marked unreachable is reported as 20's 2001/2002/2004.
        for key in sorted(k for k, agent in agents.items() if not agent.unreachable):
            w.emit("PeerStatus", [("ChannelType", "PJSIP"), ("Peer", f"PJSIP/{key}"),
                                  ("PeerStatus", "Reachable")])  # fmt: skip
        self.booted = True
        uptime = str(int(w.now()))
        w.emit("FullyBooted", [("Status", "Fully Booted"), ("Uptime", uptime),
                               ("LastReload", uptime)])  # fmt: skip

    async def close(self) -> None:
        await self.stop_listener()
        if self.world.trunks is not None:
            await self.world.trunks.close()
        await self.world.close()  # recordings are closed here, the SIP side still running
        if self.sip is not None:
            sip, self.sip = self.sip, None
            await sip.close()

    async def __aenter__(self) -> PBXSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
