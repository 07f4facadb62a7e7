"""What the shell must do for a call: the outputs of :class:`~callcenter.flow.core.CallFlow`.

One frozen, slotted dataclass per effect. The shell carries each out and feeds
its result back as an input (:mod:`callcenter.flow.inputs`): a ``SendAgi``
comes back as ``AgiReplied`` or ``AgiFailed``, an ``Originate`` as
``OfferEnded``, a ``LookupCard`` as ``CardFound``, a ``LoadCall`` as
``CallRowLoaded``, a ``StartRecording`` as ``RecordingStarted`` or
``RecordingFailed``, a ``SetRecordingMute`` as ``RecordingMuted``; a
``RejoinAgent`` comes back as the caller's ``BridgeEnter``. ``Write`` rows are
the storage's write requests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from recordings.policy import Legs


@dataclass(frozen=True, slots=True)
class SendAgi:
    """``Action: AGI`` on the caller's channel; reply as ``AgiReplied``/``AgiFailed``."""

    node: str
    call_id: str
    channel: str
    command: str
    command_id: str


@dataclass(frozen=True, slots=True)
class Originate:
    """Ring the agent's device; when answered, ``Bridge()`` pulls the caller in (03).

    With ``pick_context`` (a ring-all leg) the answered leg runs that dialplan context
    instead (``Context``/``Exten s``, the caller and the after-call context as channel
    variables ``HOTLINE_CALLER``/``HOTLINE_AFTER``): it waits there, unbridged, until
    :class:`PickLeg` sends it to its ``Bridge()`` or a ``HangupLeg`` ends it.
    """

    node: str
    call_id: str
    agent_id: str
    device: str
    #: the caller's channel name (``Bridge`` data)
    caller_channel: str
    after_call_context: str
    caller_number: str
    timeout_s: float
    #: ``ChannelId``: the agent leg's Uniqueid, known before the channel exists
    leg: str
    #: ring-all: the context the answered leg waits in (None: ``Application=Bridge``)
    pick_context: str | None = None


@dataclass(frozen=True, slots=True)
class PickLeg:
    """The first answered leg of a ring-all call: ``Redirect`` it to exten ``bridge`` of
    ``context``, which runs ``Bridge(<caller>,F(<after-call>^s^1))`` (07, 03 B)."""

    node: str
    call_id: str
    #: the leg's Uniqueid
    leg: str
    context: str


@dataclass(frozen=True, slots=True)
class HangupLeg:
    """Hang up the channel with this Uniqueid (a withdrawn agent leg)."""

    node: str
    uniqueid: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    """``MixMonitor`` on the bridged caller; reply as ``RecordingStarted``/``RecordingFailed``."""

    node: str
    call_id: str
    channel: str
    linkedid: str
    #: the file's name in the recordings directory (the policy's template filled in);
    #: empty: the default ``hotline-<node>-<linkedid>.wav``
    file_name: str = ""
    legs: Legs = Legs.MIXED


@dataclass(frozen=True, slots=True)
class SetRecordingMute:
    """``MixMonitorMute`` (both directions) on the caller's recording; reply as
    ``RecordingMuted``, or a ``Log`` when Asterisk refused it."""

    node: str
    call_id: str
    channel: str
    mixmonitor_id: str | None
    muted: bool
    by: str


@dataclass(frozen=True, slots=True)
class FinishRecording:
    """The recorded call ended: measure the file and complete its row."""

    call_id: str
    path: str
    started_at: Any
    mixmonitor_id: str | None
    #: the silent spans [start, end] in seconds from started_at (an open one: to the end)
    mute_intervals: tuple[tuple[float, float | None], ...] = ()


@dataclass(frozen=True, slots=True)
class LookupCard:
    call_id: str
    number: str


@dataclass(frozen=True, slots=True)
class LookupCardByAccount:
    """Look a caller up in the CRM by the account number it entered, within ``timeout_s``;
    answered with :class:`~.inputs.AccountLooked`. Never logged: ``account`` may be secret."""

    call_id: str
    account: str = field(repr=False)
    timeout_s: float


@dataclass(frozen=True, slots=True)
class RedirectCall:
    """Send the caller's channel to ``exten`` in ``context`` (AMI ``Redirect``, transcript
    07): an IVR transfer node, or an IVR visit mid-call, which also sends the agent leg
    (Uniqueid ``extra_leg``) to ``s`` of ``extra_context`` to wait (``ExtraChannel``)."""

    node: str
    call_id: str
    channel: str
    context: str
    exten: str
    extra_leg: str = ""
    extra_context: str = ""


@dataclass(frozen=True, slots=True)
class BlindTransferLeg:
    """AMI ``BlindTransfer`` of the agent leg (Uniqueid ``leg``) to ``exten`` in ``context``
    (transcript 07 B): the caller, its bridge peer, leaves the bridge and runs that
    dialplan (the hotline's AsyncAGI again); the agent leg hangs up."""

    node: str
    call_id: str
    leg: str
    context: str
    exten: str = "s"


@dataclass(frozen=True, slots=True)
class AtxferLeg:
    """AMI ``Atxfer`` of the agent leg (Uniqueid ``leg``) to ``exten`` in ``context``
    (transcript 07 C): its bridge peer, the caller, hears music on hold while the agent's
    leg rings the other agent's phone (rule 19). Refused: ``ConsultRefused``."""

    node: str
    call_id: str
    leg: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class CancelAtxferLeg:
    """AMI ``CancelAtxfer`` of the consulting agent's leg (Uniqueid ``leg``): the
    consulted party is hung up and the agent is back with the caller (rule 19; no
    transcript shows it: Asterisk's ``atxferabort`` feature code)."""

    node: str
    call_id: str
    leg: str


@dataclass(frozen=True, slots=True)
class RejoinAgent:
    """Back from an IVR visit: the AMI ``Bridge`` action puts the caller and the waiting
    agent leg (Uniqueid ``leg``) in one bridge again (transcript 03 A)."""

    node: str
    call_id: str
    channel: str
    leg: str


@dataclass(frozen=True, slots=True)
class StopRecording:
    """``StopMixMonitor`` of the call's recording (by its ``MixMonitorID``: 18): the agent
    left, the survey and the hang-up are not recorded."""

    node: str
    call_id: str
    channel: str
    mixmonitor_id: str | None


@dataclass(frozen=True, slots=True)
class SaveVoicemail:
    """A voicemail's RECORD FILE ended: read the file (``path`` as Asterisk sees it) and,
    when it holds a message, store its row (``RecordVoicemail``) and count it."""

    call_id: str
    at: dt.datetime
    path: str
    format: str
    flow: str
    node: str
    queue: str | None
    caller_number: str | None
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class LoadCall:
    """Read what SQL knows of a call found parked after a restart."""

    call_id: str


@dataclass(frozen=True, slots=True)
class LoadOpenCalls:
    """Read the calls of ``node`` that SQL holds open (first connect of a run)."""

    node: str


@dataclass(frozen=True, slots=True)
class Write:
    """A storage write request (``callcenter.facts``)."""

    row: Any


@dataclass(frozen=True, slots=True)
class Push:
    """A message to one agent's open desk pages."""

    agent_id: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CountIvr:
    """A caller entered IVR ``node`` (``what`` "entry"), hung up there ("dropoff") or asked
    for a callback there ("callback") in the flow named ``flow``: /metrics."""

    node: str
    what: str
    flow: str


@dataclass(frozen=True, slots=True)
class CountSurvey:
    """A post-call survey's answers (question -> score) for a caller of ``queue``: /metrics."""

    queue: str
    answers: dict[str, int]


@dataclass(frozen=True, slots=True)
class CountRecordingMissing:
    """A bridged call whose recording could not be started: an error on /metrics."""

    call_id: str


@dataclass(frozen=True, slots=True)
class Log:
    """Something the operator should read in the log (``level``: a logging level name),
    with the call, node and agent it is about where there is one (fields of the line)."""

    level: str
    text: str
    call_id: str | None = None
    node: str | None = None
    agent_id: str | None = None


Effect = (
    SendAgi
    | Originate
    | PickLeg
    | HangupLeg
    | StartRecording
    | SetRecordingMute
    | StopRecording
    | RejoinAgent
    | BlindTransferLeg
    | AtxferLeg
    | CancelAtxferLeg
    | FinishRecording
    | LookupCard
    | LookupCardByAccount
    | RedirectCall
    | SaveVoicemail
    | LoadCall
    | LoadOpenCalls
    | Write
    | Push
    | CountIvr
    | CountSurvey
    | CountRecordingMissing
    | Log
)
