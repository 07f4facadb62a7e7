"""The channel and bridge model, and the header blocks Asterisk prints for them.

Every channel event carries the same 14-header block (``Channel`` ..
``Linkedid``), optionally prefixed (``Dest``, ``LocalOne``, ``Transferer``):
header-inventory.txt. Bridges carry a 7-header block (``BridgeUniqueid`` ..
``BridgeVideoSourceMode``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .wire import Fields

if TYPE_CHECKING:
    from .audio import Recording


class State(IntEnum):
    """``ChannelState`` numbers (``ast_state2str``)."""

    DOWN = 0  #: allocated, not yet dialing
    RSRVD = 1  #: reserved
    OFFHOOK = 2  #: off hook
    DIALING = 3  #: digits being dialed
    RING = 4  #: incoming call ringing us (Local ;2, inbound PJSIP)
    RINGING = 5  #: the far end is ringing
    UP = 6  #: answered
    BUSY = 7  #: the far end is busy


STATE_DESC = {
    State.DOWN: "Down",
    State.RSRVD: "Rsrvd",
    State.OFFHOOK: "OffHook",
    State.DIALING: "Dialing",
    State.RING: "Ring",
    State.RINGING: "Ringing",
    State.UP: "Up",
    State.BUSY: "Busy",
}

#: ``Cause-txt`` of the Hangup event (ast_cause2str), for the causes pbxsim uses.
CAUSE_TXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}

UNKNOWN = "<unknown>"


@dataclass(eq=False)
class Channel:
    """One Asterisk channel. ``peer`` links the two halves of a Local pair."""

    name: str
    uniqueid: str
    linkedid: str
    tech: str
    context: str
    exten: str
    created: float
    priority: int = 1
    state: State = State.DOWN
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    language: str = "en"
    accountcode: str = ""
    dnid: str = ""
    #: "caller" (a customer), "agent" (an agent leg), "phone" (the far half of a Local pair)
    role: str = "other"
    #: the application running now, as ``Status`` reads it off the channel; None once a
    #: bridge swapped the channel (21: ``Application: (null)``)
    app: str | None = ""
    appdata: str | None = ""
    #: the application of the last published snapshot, as ``CoreShowChannels`` lists it
    #: (15: it keeps an AGI ``EXEC``'s application after the EXEC returned)
    shown_app: str = ""
    shown_appdata: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    peer: Channel | None = None
    half: int = 0  #: 1 or 2 for a Local pair, 0 otherwise
    device: str = ""  #: DeviceStateChange ``Device`` (``Local/s@caller-sim``)
    device_inuse: bool = False  #: INUSE was announced for ``device``
    mode: str = ""  #: what the runner runs: "dialplan" or "app" (an Originate application)
    bridge: Any = None  #: the Bridge this channel is in
    runner: asyncio.Task[None] | None = None  #: the dialplan (or originate app) task
    agi: Any = None  #: AgiSession while parked in AsyncAGI
    agi_queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    #: res_agi's command queue exists: from AsyncAGIStart to AsyncAGIEnd, and kept while a
    #: bridge holds a caller pulled out of AsyncAGI (21: AGI then answers "Added … to queue")
    agi_store: bool = False
    #: the channel this one spies on while it runs ChanSpy() (19)
    spying: Channel | None = None
    #: a bridge is swapping this channel (``World.bridge_swap_s``): MixMonitor finds no channel
    swapping: bool = False
    #: when Duration / Seconds count from, if not ``created``: a bridge's swap (21)
    swapped_at: float | None = None
    hangupcause: int = 0
    techcause: int | None = None  #: the SIP status behind ``hangupcause`` (16: 486, 480)
    hanging: bool = False
    gone: bool = False
    moh: bool = False
    dtmf_sink: Any = None  #: callable(digit) while an AGI command reads digits
    #: resolved when the other Local half sends audio; Answer() waits on it (__ast_answer)
    media_waiter: asyncio.Future[None] | None = None
    #: where the dialplan continues when the bridge ends: (ctx, exten, prio) or "hangup"
    after_bridge: Any = None
    recordings: list[Recording] = field(default_factory=list)
    sim_caller: Any = None  #: scenario caller driving this channel
    agent_key: str = ""  #: key into the scenario's agent table
    answered: asyncio.Future[str] | None = None  #: dial outcome while originating
    #: the channel driver of a channel with real media (pbxsim.sip's SipLeg): the world
    #: calls its answer()/hangup(); AGI playback, MixMonitor and CHANNEL() go through it
    tech_pvt: Any = None

    @property
    def state_desc(self) -> str:
        return STATE_DESC[self.state]

    @property
    def since(self) -> float:
        """Where CoreShowChannels' Duration and Status' Seconds count from."""
        return self.created if self.swapped_at is None else self.swapped_at

    def publish(self) -> None:
        """A new channel snapshot: what CoreShowChannels lists catches up with the channel.

        Asterisk publishes one on Newexten, Newstate, caller id changes, bridge entry and
        exit, and when an application starts (pbx_exec), but not when an application
        returns to AsyncAGI (15)."""
        self.shown_app = self.app or ""
        self.shown_appdata = self.appdata or ""

    def fields(self, prefix: str = "") -> Fields:
        """The channel snapshot block every channel event carries."""
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(int(self.state))),
            (prefix + "ChannelStateDesc", self.state_desc),
            (prefix + "CallerIDNum", self.cid_num),
            (prefix + "CallerIDName", self.cid_name),
            (prefix + "ConnectedLineNum", self.conn_num),
            (prefix + "ConnectedLineName", self.conn_name),
            (prefix + "Language", self.language),
            (prefix + "AccountCode", self.accountcode),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]

    def callerid_all(self) -> str:
        """``${CALLERID(all)}``: ``"Alice 5550102" <5550102>`` (11: ``"" <loopcaller>``)."""
        name = "" if self.cid_name == UNKNOWN else self.cid_name
        num = "" if self.cid_num == UNKNOWN else self.cid_num
        return f'"{name}" <{num}>'


@dataclass(eq=False)
class Bridge:
    """A basic two-party bridge (``simple_bridge``), as in 03/04/07."""

    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    talk_timer: asyncio.Task[None] | None = None

    def fields(self, prefix: str = "") -> Fields:
        return [
            (prefix + "BridgeUniqueid", self.uniqueid),
            (prefix + "BridgeType", "basic"),
            (prefix + "BridgeTechnology", "simple_bridge"),
            (prefix + "BridgeCreator", UNKNOWN),
            (prefix + "BridgeName", UNKNOWN),
            (prefix + "BridgeNumChannels", str(len(self.channels))),
            (prefix + "BridgeVideoSourceMode", "none"),
        ]
