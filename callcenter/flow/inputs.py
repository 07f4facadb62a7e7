"""What can happen to a call: the inputs of :class:`~callcenter.flow.core.CallFlow`.

One frozen, slotted dataclass per input. The shell builds them from AMI events
(through the :class:`~callcenter.tracker.CallTracker`), from the results of the
effects it ran (an AGI reply, an Originate's outcome, a CRM card, a SQL row),
from the web desk (an agent's Ready or Pause) and from link changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any

import acd
from callcenter.tracker import DomainEvent

from .place import Place


@dataclass(frozen=True, slots=True)
class Instant:
    """``now`` as the core sees it: the loop's monotonic clock and the wall clock."""

    mono: float
    wall: dt.datetime


@dataclass(frozen=True, slots=True)
class PbxEvent:
    """A domain event of one node's call tracker (channels grouped into calls)."""

    node: str
    event: DomainEvent


@dataclass(frozen=True, slots=True)
class AgiReplied:
    """``AsyncAGIExec`` of a command we sent: its AGI reply line (``200 result=49 ...``)."""

    call_id: str
    command_id: str
    text: str


class AgiTrouble(Enum):
    """Why an AGI command got no reply."""

    #: ``Response: Error``: the channel is not in AsyncAGI (yet: transcript 08)
    NOT_IN_AGI = "not_in_agi"
    #: the channel left AsyncAGI or hung up before the reply
    LEFT_AGI = "left_agi"
    #: the AMI link dropped: the reply may still come to the next session (15)
    LINK_LOST = "link_lost"
    #: no reply within the client's limit
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class AgiFailed:
    call_id: str
    command_id: str
    trouble: AgiTrouble


class OfferResult(Enum):
    """How an Originate to an agent's device went (transcripts 03, 16)."""

    #: ``Response: Success``, Reason 4
    ANSWERED = "answered"
    #: Reason 3 after the dial timeout
    NO_ANSWER = "no-answer"
    #: Reason 5 (Local ``Busy()``), or Reason 0 with the leg's Cause 17 / TechCause 486
    BUSY = "busy"
    #: Reason 0 within a millisecond, no channel at all
    UNREACHABLE = "unreachable"
    #: Reason 0 otherwise, or the action refused
    FAILED = "failed"
    #: the link dropped before the OriginateResponse: judged later from the bridge
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OfferEnded:
    call_id: str
    #: the agent leg's ChannelId (its Uniqueid)
    leg: str
    result: OfferResult


@dataclass(frozen=True, slots=True)
class CardFound:
    """The CRM lookup of the caller's number finished (``card`` None: unknown caller,
    or, with ``unavailable``, the CRM failed or did not answer within its budget)."""

    call_id: str
    card: Any
    unavailable: bool = False


@dataclass(frozen=True, slots=True)
class AccountLooked:
    """The CRM lookup by an entered account finished: ``card`` None and ``timed_out``
    false is no such customer; ``timed_out`` true, the CRM did not answer in time."""

    call_id: str
    card: Any
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class CallRowLoaded:
    """What SQL knows of a call found parked after a restart (``None``: nothing)."""

    call_id: str
    started_at: dt.datetime | None = None
    queue: str | None = None
    queued_at: dt.datetime | None = None
    language: str | None = None
    answered_at: dt.datetime | None = None
    agent_id: str | None = None
    #: its last ``queued`` event's place (core rule 18); None: it never was in line
    place: Place | None = None
    outcome: str | None = None
    wait_s: float | None = None
    recording_path: str | None = None
    recording_started_at: dt.datetime | None = None
    mixmonitor_id: str | None = None
    found: bool = True
    #: the call was sent to an IVR node mid-call at least once (a ``sent_to_ivr`` event)
    visited: bool = False
    #: the recording's muted spans so far (seconds from its start; end None: still muted),
    #: from its ``recording_muted`` / ``recording_unmuted`` events
    mutes: tuple[tuple[float, float | None], ...] = ()
    #: who the open mute is by (``ivr:<node>``, ``agent:7``); None: not muted
    muted_by: str | None = None
    #: the controller's transfers to a queue so far, (agent, queue it left) each, from its
    #: ``transferred`` events (``by: phone`` ones aside: those callers left the hotline)
    transfers: tuple[tuple[str, str], ...] = ()
    #: the queue the last of them sent the caller to, and when, while no visit there has
    #: ended since (no ``transfer_outcome`` after it): a restart puts the caller back there
    transferred_to: str | None = None
    transferred_at: dt.datetime | None = None
    #: when the next agent answered that visit (its ``transfer_answered`` event); None:
    #: the caller still waits there
    transfer_answered_at: dt.datetime | None = None
    #: its queued callback still pending (the virtual caller of a dead run): the number,
    #: the recorded name and the attempts so far; None: none
    callback_number: str | None = None
    callback_name: str | None = None
    callback_attempts: int = 0
    #: its request row's node (``queued``, or the IVR callback node that asked it)
    callback_node: str = "queued"
    #: a callback scheduled from the desk (node ``desk``): who set it, and their note
    callback_by: str | None = None
    callback_note: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    call_id: str
    path: str
    started_at: dt.datetime
    mixmonitor_id: str | None


@dataclass(frozen=True, slots=True)
class RecordingFailed:
    call_id: str
    why: str


@dataclass(frozen=True, slots=True)
class RecordOnDemand:
    """Start recording a talking call whose queue records on demand; ``by`` who asked."""

    call_id: str
    by: str


@dataclass(frozen=True, slots=True)
class MuteRecording:
    """Mute (``muted``) or unmute the call's running recording; ``by`` who asked
    (``agent:7``, ``supervisor:2``)."""

    call_id: str
    muted: bool
    by: str


@dataclass(frozen=True, slots=True)
class SendToIvr:
    """The agent (or a supervisor, ``by``) sends a talking caller to IVR node ``node``
    (a card number keyed in the IVR); the agent waits on hold and gets the caller back
    when the IVR is done."""

    call_id: str
    node: str
    by: str


@dataclass(frozen=True, slots=True)
class TransferCall:
    """The call's agent (``by``) hands its talking caller on to ``queue``, blind: the
    caller waits there again (same call, same screen-pop) for the next agent, and the
    agent goes to wrap-up (rule 14). With ``agent``, the caller waits for that agent
    alone first (up to ``AGENT_TRANSFER_WAIT_S``), then for the queue's agents."""

    call_id: str
    queue: str
    by: str
    #: a transfer to a named agent (None: to the queue)
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class ConsultAgent:
    """The call's agent (``by``) consults ``agent`` before handing the caller on
    (attended transfer, rule 19): ``Atxfer`` rings that agent's phone while the caller
    hears music on hold."""

    call_id: str
    agent: str
    by: str
    #: the queue the agent was picked in (``{queue, mode: attended}``); "": the call's
    queue: str = ""


@dataclass(frozen=True, slots=True)
class EndConsult:
    """The consulting agent (``by``) completes the attended transfer (``complete``: its
    leg hangs up, the caller talks to the consulted agent) or cancels it (``CancelAtxfer``:
    the caller is back with it)."""

    call_id: str
    complete: bool
    by: str


@dataclass(frozen=True, slots=True)
class ConsultRefused:
    """Asterisk refused the ``Atxfer`` (or its leg was gone): the consultation is over."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MoveWaiting:
    """A supervisor (``by``) moves a waiting caller: the ACD's ``MoveCall`` (another
    queue with its wait kept, a new priority, a place in line). The ACD's refusal
    (``acd.AcdError``: unknown call or queue, no longer waiting...) leaves
    :meth:`~callcenter.flow.core.CallFlow.handle` with nothing changed."""

    move: acd.MoveCall
    by: str


@dataclass(frozen=True, slots=True)
class RecordingMuted:
    """Asterisk took a ``MixMonitorMute``: silent from ``at`` (a mute: when it was
    acknowledged) or heard again from ``at`` (an unmute: when it was sent), so the
    stored interval lies inside the span the file really holds silence."""

    call_id: str
    muted: bool
    at: dt.datetime
    by: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    node: str


@dataclass(frozen=True, slots=True)
class LinkResynced:
    """The channel listing was read again after a connect: what the tracker made of it.

    ``events`` are the tracker's reconciliation (parked, listed, gone), in order.
    ``restarted``: the PBX booted since we last saw it (a new ``CoreStartupTime``,
    transcript 20), so calls that vanished died with it and are ``lost``.
    ``first``: the first connect of this run (open calls of a dead run get settled).
    """

    node: str
    events: tuple[DomainEvent, ...] = ()
    first: bool = False
    restarted: bool = False
    #: what SQL knows of the listed calls the core does not hold (read before this input)
    rows: tuple[CallRowLoaded, ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleCallback:
    """An agent scheduled a callback on call ``call_id`` (its disposition form): at ``due``
    the number enters ``queue`` as a callback (core rule 18). ``stored``: its request row
    is in SQL already (a restart read it back), so it is not written again."""

    call_id: str
    node: str
    number: str
    queue: str
    due: dt.datetime
    agent_id: str
    note: str = ""
    customer_id: int | None = None
    own_number: bool = True
    stored: bool = False

    def __post_init__(self) -> None:
        if self.due.tzinfo is None or self.due.utcoffset() is None:
            raise ValueError(f"due must be timezone-aware, got naive {self.due!r}")
        if not self.number.removeprefix("+").isdigit():
            raise ValueError("a callback number is digits, + first at most")


@dataclass(frozen=True, slots=True)
class OpenCallsLoaded:
    """Calls of ``node`` that SQL still holds open (no outcome): a dead run's."""

    node: str
    rows: tuple[CallRowLoaded, ...]
    #: closed calls whose recording was never measured (the run that closed them died)
    unfinished: tuple[CallRowLoaded, ...] = ()
    #: callbacks scheduled from the desk, not due when the dead run stopped (rule 18)
    scheduled: tuple[ScheduleCallback, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentCommand:
    """An agent's action from the desk, or a restored state: an ACD event."""

    event: Any


@dataclass(frozen=True, slots=True)
class Timer:
    """A deadline the core asked for passed."""


Input = (
    PbxEvent
    | AgiReplied
    | AgiFailed
    | OfferEnded
    | CardFound
    | AccountLooked
    | CallRowLoaded
    | RecordingStarted
    | RecordingFailed
    | MuteRecording
    | RecordingMuted
    | RecordOnDemand
    | SendToIvr
    | TransferCall
    | ConsultAgent
    | EndConsult
    | ConsultRefused
    | MoveWaiting
    | LinkLost
    | LinkResynced
    | OpenCallsLoaded
    | ScheduleCallback
    | AgentCommand
    | Timer
)

__all__ = [
    "AccountLooked",
    "AgentCommand",
    "AgiFailed",
    "AgiReplied",
    "AgiTrouble",
    "CallRowLoaded",
    "CardFound",
    "ConsultAgent",
    "ConsultRefused",
    "EndConsult",
    "Input",
    "Instant",
    "LinkLost",
    "LinkResynced",
    "OfferEnded",
    "OfferResult",
    "OpenCallsLoaded",
    "PbxEvent",
    "MoveWaiting",
    "MuteRecording",
    "RecordOnDemand",
    "SendToIvr",
    "RecordingFailed",
    "RecordingMuted",
    "RecordingStarted",
    "Timer",
    "TransferCall",
]
