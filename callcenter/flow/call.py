"""What the core keeps of one call: plain data, no asyncio object, no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ivr import IvrSession, SurveySession

from .callback import Dialog
from .consult import Consult
from .place import Place
from .state import Stage


class Purpose(Enum):
    """Why an AGI command was sent: what its reply means."""

    #: the IVR waits for this command's result (PlayPrompt, CollectDigits)
    IVR_ASK = "ivr_ask"
    #: an IVR command whose result nobody waits for (SetLanguage)
    IVR_SIDE = "ivr_side"
    #: ``SET MUSIC ON``: the hold music starts (15)
    MUSIC_ON = "music_on"
    #: ``WAIT FOR DIGIT``: one hold slice (15, 22)
    HOLD = "hold"
    #: the post-call survey waits for this command's result (CollectDigits, PlayPrompt)
    SURVEY = "survey"
    #: ``HANGUP``: the IVR's or the after-call's end
    HANGUP = "hangup"
    #: ``STREAM FILE`` of the queue's consent prompt: the call enters its queue after it
    CONSENT = "consent"
    #: a prompt or number of a position and wait announcement (``.announce``): nothing
    #: waits for its reply
    ANNOUNCE = "announce"
    #: the callback offer ("press 1 to be called back"), cut by the caller's 1
    CALLBACK_OFFER = "callback_offer"
    #: a command of the callback dialog (``ivr_command``: what it asks, None: nothing)
    CALLBACK = "callback"
    #: what the agent of a callback hears before the customer is dialled
    WHISPER = "whisper"


@dataclass(slots=True)
class AgiJob:
    """One AGI command to send, or sent and waiting for its reply."""

    command: str
    purpose: Purpose
    #: the IVR command behind it (for IVR_ASK: how to read the reply)
    ivr_command: Any = None
    tries: int = 0
    command_id: str = ""
    #: a voicemail's RECORD FILE: the file, as Asterisk sees it, without its extension
    file: str = ""


class Where(Enum):
    """Where an adopted channel was found."""

    #: parked in AsyncAGI in an entry context: IVR or queue
    PARKED = "parked"
    #: parked in AsyncAGI in the after-call context
    AFTER_CALL = "after_call"
    #: in a bridge with an agent leg (transcript 21)
    TALKING = "talking"
    #: parked in AsyncAGI in an entry context while its agent leg waits in the
    #: agent-wait context: a restart in the middle of an IVR visit
    VISITING = "visiting"


@dataclass(slots=True)
class Offer:
    agent_id: str
    #: the Uniqueid given to the agent leg with Originate ``ChannelId``
    leg: str
    cancelled: bool = False
    #: the link dropped before its OriginateResponse: judged from the bridge (21)
    fate_unknown: bool = False
    #: a ring-all leg: once answered it waits in the ring-all context, bridged only when
    #: the core picks it (the first answer); a plain offer bridges itself (``Bridge()``)
    pick: bool = False
    #: the core picked this ring-all leg (sent to its bridge); the others are cancelled
    picked: bool = False
    #: the leg entered a bridge (its BridgeEnter)
    bridged: bool = False


@dataclass(slots=True)
class LiveRecording:
    path: str
    started_at: dt.datetime
    mixmonitor_id: str | None = None
    #: a mute was asked and its outcome is not known yet (no second one meanwhile)
    mute_pending: bool = False
    muted: bool = False
    #: silent spans in seconds from ``started_at``: (start, end); end None while muted
    mutes: list[tuple[float, float | None]] = field(default_factory=list)
    #: who the mute now asked or in effect is for, when a sensitive IVR node asked it
    #: (``ivr:<node>``); None: nobody or a person (whose mute the IVR never lifts)
    ivr_mute: str | None = None
    #: a sensitive node's mute was refused: its digits go on unmuted (logged as an error)
    ivr_mute_refused: bool = False
    #: StopMixMonitor sent (the agent left): nothing more to mute
    stopped: bool = False


@dataclass(slots=True)
class Callback:
    """A caller's queued callback (``.callback``): its dialog, then the virtual caller."""

    #: the dialog while the caller is asked (None once it ended)
    dialog: Dialog | None = None
    #: the confirmed number (digits, + first at most); None: not confirmed yet
    number: str | None = None
    #: the recorded name, as Asterisk sees it
    name_file: str | None = None
    #: attempts made to reach the customer
    attempts: int = 0
    #: the virtual caller's entry (the core's monotonic clock) and priority in its queue
    entered_at: float = 0.0
    priority: int = 0
    #: the agent leg (Uniqueid) put through for the current attempt, once it answered
    agent_leg: str | None = None
    #: the customer leg (Uniqueid) of the current attempt
    customer_leg: str | None = None
    #: when the virtual caller goes back in line (a retry's wait); None: it is in line
    due: float | None = None
    #: the ACD's outcome of this visit is not the call's (an attempt that reached nobody)
    swallow_outcome: bool = False
    #: its ``callback_requests`` row's node: ``queued`` (rule 13's dialog), the IVR
    #: callback node that asked it, or ``desk`` (rule 18)
    node: str = "queued"
    #: the call id its request row is keyed by, when not this call's (a scheduled
    #: callback's row is the source call's: rule 18)
    request_call: str | None = None
    #: a scheduled callback's agent (who set it on the desk) and their note
    scheduled_by: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Call:
    """One caller's call, as the core keeps it."""

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
    #: the post-call survey, once the caller is back from the agent
    survey: SurveySession | None = None
    #: trail steps of the IVR session already counted on /metrics
    trail_counted: int = 0
    language: str | None = None
    selections: dict[str, str] = field(default_factory=dict)
    card: Any = None
    queue: str | None = None
    agent_id: str | None = None
    #: the offers ringing (or answered) for this call: one, or one per agent in ring-all
    offers: list[Offer] = field(default_factory=list)
    #: the caller's channel is in a bridge (BridgeEnter seen, or BridgeId listed)
    bridged: bool = False
    #: the context the caller's AsyncAGI runs in (an IVR visit redirects it back there)
    context: str = ""
    #: the IVR node the caller was sent to mid-call, until its AsyncAGIStart begins it
    visit_node: str | None = None
    #: the queue's consent prompt played to the caller to its end (it may be recorded)
    consent_played: bool = False
    #: (place, skills) of a caller entering its queue once the consent played
    after_consent: tuple[Place, Any] | None = None
    recording: LiveRecording | None = None
    recording_asked: bool = False
    #: a MixMonitor was sent (by policy or on demand) and not answered yet, or answered
    recording_sent: bool = False
    #: the channel sits in AsyncAGI and takes commands
    in_agi: bool = False
    #: the AGI command sent and not answered yet (one at a time)
    pending: AgiJob | None = None
    #: AGI commands to send, in order, once the channel is in AsyncAGI
    outbox: list[AgiJob] = field(default_factory=list)
    #: ``SET MUSIC ON`` is in effect (every prompt and every bridge ends it: 21, 22)
    music_on: bool = False
    #: when (the core's monotonic clock) the caller's next announcement is due, and the
    #: figure last said (``.announce``); None: not yet known / nothing said yet
    announce_at: float | None = None
    told: tuple[int | None, int | None] | None = None
    #: (agent, queue) of each agent who transferred the call on, oldest first (rule 14)
    transfers: list[tuple[str, str]] = field(default_factory=list)
    #: the attended transfer under way: its agent consults another (rule 19)
    consult: Consult | None = None
    #: its agent handed it on from the phone (rule 15): no survey, it ends where it went
    left_hotline: bool = False
    #: the queues it overflowed from (never entered again: ``.overflow``)
    overflowed: set[str] = field(default_factory=set)
    #: the callback offer was played (once a call), and the callback asked for, if any
    callback_offered: bool = False
    callback: Callback | None = None
    #: an IVR callback node's request (its node, queue and number) the caller left: the
    #: call becomes its virtual caller once the caller's channel is gone (rule 13)
    callback_request: tuple[str, str, str] | None = None
    #: the one outcome, once recorded
    outcome: str | None = None
    #: the ACD holds this call (queued, offered or connected)
    in_acd: bool = False
    #: adopted after a restart: where it was found, and its agent if talking
    where: Where | None = None
    found_agent: str | None = None
    #: adopted in a visit: the Uniqueid of its agent leg waiting in the agent-wait context
    found_leg: str | None = None
    #: the caller hung up while its SQL row was being read (adoption)
    gone: bool = False
    lost: bool = False
    #: a CRM lookup was asked and has not answered yet (an IVR condition on the tier waits)
    card_pending: bool = False
    #: what the screen-pop says of the CRM: None (no lookup: no number), ``pending``,
    #: ``found``, ``not_found`` or ``unavailable`` (failed, too slow, breaker open)
    crm_status: str | None = None

    def live_offers(self) -> list[Offer]:
        """The offers not withdrawn: ringing, or answered."""
        return [o for o in self.offers if not o.cancelled]

    def offer_of(self, leg: str) -> Offer | None:
        """The offer whose agent leg has Uniqueid ``leg``."""
        return next((o for o in self.offers if o.leg == leg), None)

    def connected(self) -> bool:
        """Talking to an agent right now."""
        return self.stage is Stage.TALKING

    def card_json(self) -> dict[str, Any] | None:
        """The customer card as the agent's screen-pop shows it (``CustomerCard.to_json``)."""
        return None if self.card is None else self.card.to_json()
