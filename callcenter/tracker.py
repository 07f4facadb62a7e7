"""Channels grouped into calls by Linkedid, AMI events turned into domain events.

Rules (each checked against ``tests/ami-transcripts``):

1. A call is the set of channels sharing a ``Linkedid``; its id is that Linkedid
   (the Uniqueid of the channel that started it).
2. An agent leg made by a separate ``Originate`` starts with its own Linkedid;
   its ``;1`` half takes the caller's Linkedid only at ``BridgeEnter``, its
   ``;2`` half keeps the old one until hangup (transcript 03). So a channel
   may move from one call to another at BridgeEnter.
3. ``AsyncAGIStart`` may come again on the same channel with no
   ``AsyncAGIEnd`` in between (pulled into a bridge, then back to AGI by
   ``F()``: transcript 03), or after one (Redirect, a failed STREAM FILE in
   ``[hotline-safe]``: transcripts 12, 13). The first one on a channel is
   :class:`AgiStarted` with ``first=True``.
4. A call ends when its last channel hangs up.
5. Only ``Newchannel``, ``AsyncAGIStart``, ``BridgeEnter`` and the resync list
   make a channel known; other events of an unknown channel are ignored
   (Asterisk sends ``NewCallerid`` after a ``;2`` half's ``Hangup``: 03).
6. A transfer made from a phone (``BlindTransfer``, ``AttendedTransfer`` with
   ``Result: Success``: transcript 07 B, C) is :class:`PhoneTransfer`, about the
   call of its ``Transferee`` (the party handed on) and naming the transferer's
   channel; a transfer of an unknown channel is ignored.
7. After a reconnect the world may have changed unseen: :meth:`resync` takes
   the ``CoreShowChannel`` list, ends the channels that are gone and reports
   channels parked in AsyncAGI (``Application: AGI``, ``ApplicationData:
   agi:async``: transcript 12) so the controller picks them up again.

Pure: AMI messages in, dataclasses out; no socket and no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .ami.agi import AgiEnv, parse_agi_env


class AmiEvent(Protocol):
    name: str

    def get(self, name: str, default: str | None = None) -> str | None: ...


#: the Hangup cause text of a channel found gone by :meth:`CallTracker.resync`
GONE_AT_RESYNC = "gone at resync"

#: how many hung-up channels' causes :attr:`CallTracker.ended` keeps
_ENDED_KEPT = 4096

#: Event names the tracker reads; the client subscribes to these only.
TRACKED_EVENTS = frozenset(
    {
        "Newchannel",
        "Newstate",
        "NewCallerid",
        "Hangup",
        "AsyncAGIStart",
        "AsyncAGIEnd",
        "BridgeEnter",
        "BridgeLeave",
        "DTMFEnd",
        "BlindTransfer",
        "AttendedTransfer",
    }
)


@dataclass(slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    caller_number: str = ""
    caller_name: str = ""
    context: str = ""
    exten: str = ""
    state: str = ""
    in_agi: bool = False
    bridge: str | None = None


@dataclass(slots=True)
class LinkedChannels:
    """The channels of one call (one Linkedid) the tracker knows."""

    call_id: str
    channels: dict[str, Channel] = field(default_factory=dict)  # by uniqueid


# -- domain events -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgiStarted:
    """A channel is parked in AsyncAGI, waiting for our commands."""

    call_id: str
    channel: str
    uniqueid: str
    env: AgiEnv
    first: bool


@dataclass(frozen=True, slots=True)
class AgiEnded:
    call_id: str
    channel: str
    uniqueid: str


@dataclass(frozen=True, slots=True)
class DigitPressed:
    call_id: str
    channel: str
    digit: str


@dataclass(frozen=True, slots=True)
class Bridged:
    call_id: str
    channel: str
    uniqueid: str
    bridge_id: str
    #: Linkedid the channel had before the bridge (differs for a separately originated leg)
    previous_call_id: str


@dataclass(frozen=True, slots=True)
class Unbridged:
    call_id: str
    channel: str
    uniqueid: str
    bridge_id: str


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    call_id: str
    channel: str
    uniqueid: str
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class PhoneTransfer:
    """A transfer Asterisk made (a phone's feature code, an AMI ``BlindTransfer`` or
    ``Atxfer``): ``uniqueid`` (the transferee) was handed on by ``transferer``.

    ``kind`` is ``blind`` (``BlindTransfer``: the transferee leaves the bridge for
    ``context``/``exten``) or ``attended`` (``AttendedTransfer``: the consulted party
    joins the transferee's bridge, which the transferer leaves: 07 C).
    """

    call_id: str
    uniqueid: str
    transferer: str
    kind: str
    context: str = ""
    exten: str = ""


@dataclass(frozen=True, slots=True)
class LinkedidGone:
    """The last channel of the call is gone."""

    call_id: str


@dataclass(frozen=True, slots=True)
class ParkedInAgi:
    """Found by resync: a channel waiting in AsyncAGI that we must drive again."""

    call_id: str
    channel: str
    uniqueid: str
    caller_number: str
    caller_name: str
    context: str


@dataclass(frozen=True, slots=True)
class Listed:
    """Found by resync: a channel that is not parked in AsyncAGI (talking, ringing...).

    A caller in an agent's bridge shows an empty Application and its BridgeId;
    the agent leg shows ``Bridge`` and the same BridgeId; a ringing agent leg
    ``AppDial2`` (transcript 21).
    """

    call_id: str
    channel: str
    uniqueid: str
    bridge_id: str
    application: str
    context: str
    caller_number: str
    caller_name: str


DomainEvent = (
    AgiStarted
    | AgiEnded
    | DigitPressed
    | Bridged
    | Unbridged
    | ChannelHungUp
    | LinkedidGone
    | ParkedInAgi
    | Listed
    | PhoneTransfer
)


def needs_status(listed: AmiEvent, contexts: frozenset[str]) -> bool:
    """Whether a ``CoreShowChannel`` entry must be checked with ``Status``.

    CoreShowChannels keeps the application of a caller's last AGI ``EXEC``
    long after it returned (transcript 15: ``MusicOnHold`` for a caller parked
    in AsyncAGI again). A channel of ``contexts`` in no bridge and listed with
    another application than ``AGI`` may be such a caller.
    """
    return (
        listed.name == "CoreShowChannel"
        and not listed.get("BridgeId")
        and listed.get("Application") != "AGI"
        and listed.get("Context") in contexts
    )


def corrected(listed: AmiEvent, status: AmiEvent) -> AmiEvent:
    """The listing entry as ``Status`` says it is.

    ``Status`` says ``AGI`` once the ``EXEC`` returned (15). If it still names
    an application (an ``EXEC`` still running), the caller is parked all the
    same: the only applications our contexts run besides ``AGI()`` are instant
    (Answer, Set, NoOp, GotoIf), and an AGI command sent meanwhile is queued
    and runs when the ``EXEC`` returns (transcript 21 shows such queueing).
    """
    if (status.get("Application") or "") in ("", "(null)"):
        return listed
    return _Corrected(listed, {"Application": "AGI", "ApplicationData": "agi:async"})


class _Corrected:
    """A listed channel with some of its fields corrected from better facts."""

    def __init__(self, ev: AmiEvent, fix: dict[str, str]) -> None:
        self.name = ev.name
        self._ev = ev
        self._fix = fix

    def get(self, name: str, default: str | None = None) -> str | None:
        if name in self._fix:
            return self._fix[name]
        return self._ev.get(name, default)


class CallTracker:
    """Keeps the live channels and calls of one Asterisk node."""

    def __init__(self) -> None:
        self.calls: dict[str, LinkedChannels] = {}
        self.channels: dict[str, Channel] = {}  # by uniqueid
        self._agi_seen: set[str] = set()
        #: (Cause, TechCause) of recently hung-up channels, by Uniqueid, newest last:
        #: tells a busy PJSIP agent leg from others (transcript 16)
        self.ended: dict[str, tuple[int, str]] = {}

    # -- events ------------------------------------------------------------------
    def on_event(self, ev: AmiEvent) -> list[DomainEvent]:
        """Feed one AMI event; returns the domain events it causes."""
        handler = _HANDLERS.get(ev.name)
        return handler(self, ev) if handler is not None else []

    def _channel(self, ev: AmiEvent, *, create: bool = True) -> Channel | None:
        uid = ev.get("Uniqueid")
        if not uid:
            return None
        ch = self.channels.get(uid)
        if ch is None:
            if not create:
                return None
            ch = self._add(
                Channel(
                    name=ev.get("Channel") or "",
                    uniqueid=uid,
                    linkedid=ev.get("Linkedid") or uid,
                )
            )
        self._refresh(ch, ev)
        return ch

    def _add(self, ch: Channel) -> Channel:
        self.channels[ch.uniqueid] = ch
        self.calls.setdefault(ch.linkedid, LinkedChannels(ch.linkedid)).channels[ch.uniqueid] = ch
        return ch

    @staticmethod
    def _refresh(ch: Channel, ev: AmiEvent) -> None:
        ch.name = ev.get("Channel") or ch.name
        num = ev.get("CallerIDNum")
        if num is not None:
            ch.caller_number = num
            ch.caller_name = ev.get("CallerIDName") or ""
        ch.context = ev.get("Context") or ch.context
        ch.exten = ev.get("Exten") or ch.exten
        ch.state = ev.get("ChannelStateDesc") or ch.state

    def _move(self, ch: Channel, linkedid: str) -> None:
        old = self.calls.get(ch.linkedid)
        if old is not None:
            old.channels.pop(ch.uniqueid, None)
        ch.linkedid = linkedid
        self.calls.setdefault(linkedid, LinkedChannels(linkedid)).channels[ch.uniqueid] = ch

    def _on_newchannel(self, ev: AmiEvent) -> list[DomainEvent]:
        self._channel(ev)
        return []

    def _on_update(self, ev: AmiEvent) -> list[DomainEvent]:
        # Only known channels: Asterisk sends NewCallerid for a ;2 half after its
        # Hangup (transcript 03), which must not bring the channel back.
        self._channel(ev, create=False)
        return []

    def _on_agi_start(self, ev: AmiEvent) -> list[DomainEvent]:
        ch = self._channel(ev)
        if ch is None:
            return []
        ch.in_agi = True
        first = ch.uniqueid not in self._agi_seen
        self._agi_seen.add(ch.uniqueid)
        env = parse_agi_env(ev.get("Env") or "")
        return [AgiStarted(ch.linkedid, ch.name, ch.uniqueid, env, first)]

    def _on_agi_end(self, ev: AmiEvent) -> list[DomainEvent]:
        ch = self._channel(ev, create=False)
        if ch is None:
            return []
        ch.in_agi = False
        return [AgiEnded(ch.linkedid, ch.name, ch.uniqueid)]

    def _on_dtmf(self, ev: AmiEvent) -> list[DomainEvent]:
        ch = self._channel(ev, create=False)
        if ch is None or ev.get("Direction", "Received") != "Received":
            return []
        return [DigitPressed(ch.linkedid, ch.name, ev.get("Digit") or "")]

    def _on_bridge_enter(self, ev: AmiEvent) -> list[DomainEvent]:
        ch = self._channel(ev)
        if ch is None:
            return []
        previous = ch.linkedid
        linkedid = ev.get("Linkedid") or previous
        if linkedid != previous:
            self._move(ch, linkedid)
        ch.bridge = ev.get("BridgeUniqueid")
        ch.in_agi = False  # pulled out of AsyncAGI without AsyncAGIEnd (transcript 03)
        return [Bridged(ch.linkedid, ch.name, ch.uniqueid, ch.bridge or "", previous)]

    def _on_bridge_leave(self, ev: AmiEvent) -> list[DomainEvent]:
        ch = self._channel(ev, create=False)
        if ch is None:
            return []
        bridge = ch.bridge or ev.get("BridgeUniqueid") or ""
        ch.bridge = None
        return [Unbridged(ch.linkedid, ch.name, ch.uniqueid, bridge)]

    def _on_transfer(self, ev: AmiEvent) -> list[DomainEvent]:
        """Rule 6: ``BlindTransfer`` names ``Transferer*``, ``AttendedTransfer``
        ``OrigTransferer*``; both ``Transferee*`` (07 B, C)."""
        if ev.get("Result") != "Success":
            return []
        ch = self.channels.get(ev.get("TransfereeUniqueid") or "")
        if ch is None:
            return []
        blind = ev.name == "BlindTransfer"
        transferer = ev.get("TransfererUniqueid" if blind else "OrigTransfererUniqueid") or ""
        if blind:
            return [PhoneTransfer(ch.linkedid, ch.uniqueid, transferer, "blind",
                                  ev.get("Context") or "", ev.get("Extension") or "")]  # fmt: skip
        return [PhoneTransfer(ch.linkedid, ch.uniqueid, transferer, "attended")]

    def _on_hangup(self, ev: AmiEvent) -> list[DomainEvent]:
        uid = ev.get("Uniqueid") or ""
        cause = ev.get("Cause") or "0"
        code = int(cause) if cause.isdigit() else 0
        # kept for unknown channels too: a resync under way must not bring them back
        self.ended[uid] = (code, ev.get("TechCause") or "")
        if len(self.ended) > _ENDED_KEPT:
            del self.ended[next(iter(self.ended))]
        ch = self.channels.get(uid)
        if ch is None:
            return []
        return self._remove(ch, code, ev.get("Cause-txt") or "")

    def _remove(self, ch: Channel, cause: int, cause_txt: str) -> list[DomainEvent]:
        self.channels.pop(ch.uniqueid, None)
        self._agi_seen.discard(ch.uniqueid)
        out: list[DomainEvent] = [
            ChannelHungUp(ch.linkedid, ch.name, ch.uniqueid, cause, cause_txt)
        ]
        call = self.calls.get(ch.linkedid)
        if call is not None:
            call.channels.pop(ch.uniqueid, None)
            if not call.channels:
                del self.calls[ch.linkedid]
                out.append(LinkedidGone(ch.linkedid))
        return out

    # -- resync ------------------------------------------------------------------
    def resync(
        self,
        listed: Iterable[AmiEvent],
        known: Iterable[str] | None = None,
        hung_up: Iterable[str] = (),
    ) -> list[DomainEvent]:
        """Reconcile with a ``CoreShowChannels`` listing taken after a reconnect.

        Events keep coming while the listing (and its Status and SQL facts) is read,
        so the listing may be older than what the tracker saw meanwhile:
        ``known`` are the Uniqueids known when the listing was asked for (only those
        can be found gone); ``hung_up`` the ones whose ``Hangup`` came since (a listed
        channel among them is not brought back).
        """
        ended = set(hung_up)
        out: list[DomainEvent] = []
        present: set[str] = set()
        for ev in listed:
            if ev.name != "CoreShowChannel" or ev.get("Uniqueid") in ended:
                continue
            ch = self._channel(ev)
            if ch is None:
                continue
            present.add(ch.uniqueid)
            linkedid = ev.get("Linkedid") or ch.linkedid
            if linkedid != ch.linkedid:
                self._move(ch, linkedid)
            ch.bridge = ev.get("BridgeId") or None
            # A caller in a bridge may still show AGI (pbxsim, an old listing); a
            # real one shows an empty Application with BridgeId (transcript 21).
            parked = (
                ev.get("Application") == "AGI"
                and ev.get("ApplicationData") == "agi:async"
                and ch.bridge is None
            )
            ch.in_agi = parked
            if not parked:
                out.append(
                    Listed(
                        ch.linkedid,
                        ch.name,
                        ch.uniqueid,
                        ch.bridge or "",
                        ev.get("Application") or "",
                        ch.context,
                        ch.caller_number,
                        ch.caller_name,
                    )
                )
            if parked:
                self._agi_seen.add(ch.uniqueid)
                out.append(
                    ParkedInAgi(
                        ch.linkedid,
                        ch.name,
                        ch.uniqueid,
                        ch.caller_number,
                        ch.caller_name,
                        ch.context,
                    )
                )
        before = set(self.channels) if known is None else set(known)
        for uid in [u for u in self.channels if u not in present and u in before]:
            # Hung up while we were not listening: 0 / "resync" marks it as unseen.
            out.extend(self._remove(self.channels[uid], 0, GONE_AT_RESYNC))
        return out


_HANDLERS = {
    "Newchannel": CallTracker._on_newchannel,
    "Newstate": CallTracker._on_update,
    "NewCallerid": CallTracker._on_update,
    "AsyncAGIStart": CallTracker._on_agi_start,
    "AsyncAGIEnd": CallTracker._on_agi_end,
    "DTMFEnd": CallTracker._on_dtmf,
    "BridgeEnter": CallTracker._on_bridge_enter,
    "BridgeLeave": CallTracker._on_bridge_leave,
    "Hangup": CallTracker._on_hangup,
    "BlindTransfer": CallTracker._on_transfer,
    "AttendedTransfer": CallTracker._on_transfer,
}
