"""A trunk between two pbxsim nodes: ``PJSIP/<ext>@<trunk>`` reaches a phone on the other.

unrecorded: no transcript shows a call crossing a trunk between two Asterisk boxes.
Between two real nodes this is SIP (an INVITE to ``sip:<ext>@<node B>`` from
``[<trunk>]`` of pjsip.conf, answered in ``[hotline-peers]`` of extensions.conf by
``Dial(PJSIP/${EXTEN})``); between two pbxsim instances it is a TCP link carrying
one JSON object a line, just enough to ring, answer and end a call:

- A → B ``{"id", "op": "invite", "exten", "from", "cid": [num, name]}``, ``{"id", "op": "bye"}``
- B → A ``{"id", "op": "ringing" | "answer" | "busy" | "bye"}``

Node A's side is the trunk channel ``PJSIP/<trunk>-0000000N`` its Originate made (named
after the endpoint, as every PJSIP channel: 11, 16); node B's side is an inbound
``PJSIP/<from>-0000000N`` in :data:`PEER_CONTEXT` dialing ``PJSIP/<ext>``, the two
bridged once the phone answers. Each node's AMI shows only its own channels, each with
its own Uniqueid and Linkedid (Linkedid never crosses a trunk). When the link breaks (a
node died), every call on it ends on the node still up.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import TYPE_CHECKING, Any

from .bridging import create_bridge, enter
from .channels import Channel, State
from .originate import AGENT_ENDPOINT_CONTEXT, ring
from .population import phone_plan

if TYPE_CHECKING:
    from .world import World

#: node B's context for calls from another node (deploy/asterisk/extensions.conf)
PEER_CONTEXT = "hotline-peers"


class _Link:
    """One TCP link of the trunk, either side; ``calls`` maps a call id to its channel."""

    def __init__(self, world: World, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:  # fmt: skip
        self.world, self.reader, self.writer = world, reader, writer
        self.calls: dict[str, Channel] = {}
        self.phones: dict[str, Channel] = {}  #: B side: the phone each call rings

    def send(self, msg: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write((json.dumps(msg) + "\n").encode())

    def close(self) -> None:
        self.writer.close()


class Trunks:
    """Both ends of a node's trunks: ``dial`` out through ``peers`` (endpoint → host:port),
    ``listen`` for the other nodes' calls on ``port`` (0: a free one)."""

    def __init__(self, world: World, peers: dict[str, tuple[str, int]], host: str,
                 port: int) -> None:  # fmt: skip
        self.world = world
        self.peers = dict(peers)
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._links: dict[str, _Link] = {}
        self._accepted: set[_Link] = set()
        self._ids = itertools.count(1)
        #: each trunk call's channel on this node -> its link and call id
        self._of: dict[Channel, tuple[_Link, str]] = {}
        world.hangup_hooks.append(self._hung_up)

    # -- node A: out through a trunk -------------------------------------------------
    def wants(self, endpoint: str) -> bool:
        return endpoint in self.peers

    async def _link(self, endpoint: str) -> _Link | None:
        link = self._links.get(endpoint)
        if link is not None and not link.writer.is_closing():
            return link
        host, port = self.peers[endpoint]
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            return None
        link = _Link(self.world, reader, writer)
        self._links[endpoint] = link
        self.world.spawn(self._read(link, outbound=True), f"trunk {endpoint}")
        return link

    async def reachable(self, endpoint: str) -> bool:
        """Whether the trunk's far node answers (an aor's qualify would say so)."""
        return await self._link(endpoint) is not None

    async def dial(self, ch: Channel, endpoint: str, exten: str) -> None:
        """Ring ``exten`` on the node behind ``endpoint``; ``ch`` is this node's trunk leg."""
        link = await self._link(endpoint)
        if link is None:
            if ch.answered is not None and not ch.answered.done():
                ch.answered.set_result("failed")
            return
        call = str(next(self._ids))
        link.calls[call] = ch
        self._of[ch] = (link, call)
        link.send({"id": call, "op": "invite", "exten": exten, "from": [self.host, self.port],
                   "cid": [ch.cid_num, ch.cid_name]})  # fmt: skip

    # -- node B: calls from another node ----------------------------------------------
    async def listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._accept, self.host, self.port,
                                                  reuse_address=True)  # fmt: skip
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(self.world, reader, writer)
        self._accepted.add(link)
        try:
            await self._read(link, outbound=False)
        finally:
            self._accepted.discard(link)

    def _invite(self, link: _Link, call: str, msg: dict[str, Any]) -> None:
        w = self.world
        exten = str(msg.get("exten", ""))
        # The call comes in on the endpoint this node has for the caller's node (pjsip.conf
        # `identify` by its address), the one it dials that node through as well.
        came_from = tuple(msg.get("from") or ())
        endpoint = next((e for e, at in self.peers.items() if at == came_from), "peer")
        inbound = w.new_tech_channel("PJSIP", endpoint, PEER_CONTEXT, exten)
        inbound.state = State.RING
        num, name = (list(msg.get("cid") or []) + ["", ""])[:2]
        inbound.cid_num, inbound.cid_name = str(num) or inbound.cid_num, str(name) or "<unknown>"
        w.add_channel(inbound)
        link.calls[call] = inbound
        self._of[inbound] = (link, call)
        plan = phone_plan(w, exten)
        if plan[0] == "unreachable":
            link.send({"id": call, "op": "busy"})
            inbound.hangupcause = 20  # unrecorded: Dial() to a phone with no contact
            w.discard(inbound, emit_hangup=True)
            return
        phone = w.new_tech_channel("PJSIP", exten, AGENT_ENDPOINT_CONTEXT, "s")
        phone.linkedid = inbound.linkedid
        phone.role, phone.agent_key = "phone", exten
        w.add_channel(phone)
        link.phones[call] = phone
        w.emit("DialBegin", inbound.fields() + phone.fields("Dest")
               + [("DialString", exten)])  # fmt: skip
        phone.answered = asyncio.get_running_loop().create_future()

        async def rings() -> None:
            outcome, delay = plan
            if outcome == "busy":
                link.send({"id": call, "op": "busy"})
                phone.hangupcause, inbound.hangupcause = 17, 17
                w.discard(phone, emit_hangup=True)
                w.hangup(inbound, how="app")
                return
            await w.sleep(0.005)
            ring(w, phone, dial_state_first=True)
            link.send({"id": call, "op": "ringing"})
            if outcome == "noanswer":
                return  # node A's Originate Timeout ends it (its bye)
            await w.sleep(delay)
            if phone.gone or inbound.gone:
                return
            w.set_state(phone, State.UP)
            w.emit("DialEnd", inbound.fields() + phone.fields("Dest")
                   + [("DialStatus", "ANSWER")])  # fmt: skip
            w.set_state(inbound, State.UP)
            bridge = create_bridge(w)
            enter(w, bridge, inbound, "hangup")
            enter(w, bridge, phone, "hangup")
            link.send({"id": call, "op": "answer"})

        w.spawn(rings(), f"trunk call {call}")

    # -- both sides --------------------------------------------------------------------
    async def _read(self, link: _Link, *, outbound: bool) -> None:
        try:
            while line := await link.reader.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                call, op = str(msg.get("id", "")), msg.get("op")
                if op == "invite" and not outbound:
                    self._invite(link, call, msg)
                elif op in ("ringing", "answer", "busy") and outbound:
                    self._progress(link, call, str(op))
                elif op == "bye":
                    self._bye(link, call)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            link.close()
            for call in list(link.calls):
                self._bye(link, call)  # unrecorded: what a node sees when its peer dies

    def _progress(self, link: _Link, call: str, op: str) -> None:
        ch = link.calls.get(call)
        if ch is None or ch.gone:
            return
        if op == "ringing":
            ring(self.world, ch, dial_state_first=False)
        elif op == "answer":
            self.world.answer(ch)
        elif ch.answered is not None and not ch.answered.done():
            ch.answered.set_result("busy")

    def _bye(self, link: _Link, call: str) -> None:
        ch = link.calls.pop(call, None)
        phone = link.phones.pop(call, None)
        if ch is not None:
            self._of.pop(ch, None)
        w = self.world
        if ch is not None and not ch.gone:
            if ch.answered is not None and not ch.answered.done():
                ch.answered.set_result("failed")  # A: the far node went away while ringing
            elif ch.state == State.UP or ch.bridge is not None:
                w.hangup(ch, how="remote")
            else:
                w.discard(ch, emit_hangup=True)
        if phone is not None and not phone.gone:
            if phone.state == State.UP:
                w.hangup(phone, how="remote")
            else:
                phone.hangupcause = 19
                w.discard(phone, emit_hangup=True)

    def _hung_up(self, ch: Channel) -> None:
        """A channel of a trunk call ended on this node: tell the other node."""
        link, call = self._of.pop(ch, (None, ""))
        if link is None or link.calls.get(call) is not ch:
            return
        link.calls.pop(call, None)
        link.send({"id": call, "op": "bye"})
        self._bye(link, call)  # the phone it rang here (node B), if any

    async def close(self) -> None:
        """Stop listening and break every link (the node died or stopped)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for link in [*self._links.values(), *self._accepted]:
            link.close()
        self._links.clear()
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)
