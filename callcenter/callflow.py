"""One caller's journey as the controller keeps it: stage, IVR session, card, offer.

The stages, in order (a call may skip ahead, never go back):

- ``IVR``: parked in AsyncAGI, the IVR session drives it;
- ``QUEUED``: the ACD holds it (music in bounded slices, offers to agents);
- ``CONNECTED``: bridged with an agent (recorded);
- ``AFTER_CALL``: the agent left; Bridge's ``F()`` sent the caller back into
  AsyncAGI in the after-call context (transcript 03 part B);
- ``ENDED``: the caller's channel is gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from callcenter.ami import AMIClient
from callcenter.calls import CallTracker
from crm_bridge.card import CustomerCard
from ivr import IvrSession


class Stage(enum.Enum):
    #: in the IVR menus
    IVR = "ivr"
    #: waiting in an ACD queue (or ringing an agent)
    QUEUED = "queued"
    #: talking to an agent
    CONNECTED = "connected"
    #: back in AsyncAGI after the agent left
    AFTER_CALL = "after_call"
    #: the caller hung up
    ENDED = "ended"


@dataclass
class Offer:
    agent_id: str
    #: the Uniqueid we gave the agent leg with Originate ``ChannelId``
    channel_uid: str
    cancelled: bool = False


@dataclass
class Recording:
    path: str
    local_path: str
    started_at: dt.datetime
    mixmonitor_id: str | None = None


@dataclass
class LiveCall:
    call_id: str
    node: str
    linkedid: str
    channel: str
    uniqueid: str
    caller_number: str
    caller_name: str
    started_at: dt.datetime
    stage: Stage = Stage.IVR
    ivr: IvrSession | None = None
    language: str | None = None
    selections: dict[str, str] = field(default_factory=dict)
    card: CustomerCard | None = None
    card_lookup: asyncio.Task[Any] | None = None
    queue: str | None = None
    agent_id: str | None = None
    offer: Offer | None = None
    recording: Recording | None = None
    #: the MixMonitor was asked for (once caller and agent are both in the bridge)
    recording_asked: bool = False
    job: asyncio.Task[Any] | None = None
    #: set while the caller's channel sits in AsyncAGI and can take commands
    agi_ready: asyncio.Event = field(default_factory=asyncio.Event)
    #: ``SET MUSIC ON`` is in effect (every prompt and every bridge ends it: 21, 22)
    music_on: bool = False
    outcome: str | None = None

    def connected(self) -> bool:
        """Talking to an agent right now."""
        return self.stage is Stage.CONNECTED

    def card_json(self) -> dict[str, Any] | None:
        card = self.card
        if card is None:
            return None
        return {
            "customer_id": card.customer_id,
            "full_name": card.full_name,
            "account_no": card.account_no,
            "tier": card.tier,
            "numbers": list(card.numbers),
            "last_interactions": [
                {
                    "at": i.created_at.isoformat(),
                    "disposition": i.disposition,
                    "notes": i.notes,
                }
                for i in card.last_interactions
            ],
        }


class CallGone(Exception):
    """The caller's channel is gone: stop working on the call."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Node:
    """One Asterisk: its AMI client and the calls seen on it."""

    def __init__(self, name: str, client: AMIClient) -> None:
        self.name = name
        self.client = client
        self.tracker = CallTracker()
        #: set once the first connect's resync is done (and after each reconnect's)
        self.synced = asyncio.Event()
