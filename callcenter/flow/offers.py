"""Offers and the ACD's glue (core rule 8): the ACD's commands become holds, offers (one leg
per agent in ring-all), connects and outcomes; the Originate results come back as inputs.

Each function is a method of :class:`~.core.CallFlow` (assigned in its class body):
the core is one state machine; its parts live here by concern."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import acd
from callcenter.facts import (
    RecordAgentState,
    RecordCallUpdate,
    RecordPause,
)
from ivr import trail_path

from .call import AgiJob, Call, Offer, Purpose
from .effects import (
    HangupLeg,
    Originate,
    PickLeg,
    Push,
)
from .inputs import (
    OfferEnded,
    OfferResult,
)
from .state import Stage, Step, next_stage
from .terms import (
    OFFER_FAILURES,
    PAGE_STATE,
    int_id,
)

if TYPE_CHECKING:
    from .core import CallFlow


def offer(self: CallFlow, cmd: acd.OfferCall) -> None:
    call = self.calls.get(cmd.call_id)
    if call is None:
        return
    pick = self._ring_all(cmd.queue)
    if not (pick and call.stage is Stage.OFFERED):  # ring-all: its next legs
        call.stage = next_stage(call.call_id, call.stage, Step.OFFER)
    leg = f"hl-{self.run_id}-{cmd.agent_id}-{next(self._seq)}"
    call.offers.append(Offer(cmd.agent_id, leg, pick=pick))
    call.agent_id = None if pick else cmd.agent_id  # ring-all: known at the answer
    self.legs[leg] = call.call_id
    self.counters["screen_pops_sent"] += 1
    # The screen-pop goes out with the Originate, while the agent's phone rings.
    self._out.append(Push(cmd.agent_id, {
        "type": "screen_pop",
        "call_id": call.call_id,
        "caller_number": call.caller_number,
        "card": call.card_json(),
        "ivr": {"language": call.language, "selections": call.selections,
                "queue": call.queue,
                "path": trail_path(call.ivr.trail) if call.ivr is not None else "",
                "entries": call.ivr.variables if call.ivr is not None else {}},
    }))  # fmt: skip
    number = "".join(c for c in call.caller_number if c.isdigit() or c == "+")
    self._out.append(Originate(call.node, call.call_id, cmd.agent_id, cmd.device,
                               call.channel, self.after_call_context, number,
                               cmd.timeout_s, leg,
                               self.ring_all_context if pick else None))  # fmt: skip


def ring_all(self: CallFlow, queue: str) -> bool:
    """Whether ``queue`` rings all its agents at once (its legs wait to be picked)."""
    return any(q.name == queue and q.strategy is acd.Strategy.RING_ALL
               for q in self.acd.config.queues)  # fmt: skip


def offer_ended(self: CallFlow, ev: OfferEnded) -> None:
    call = self.calls.get(ev.call_id)
    offer = call.offer_of(ev.leg) if call is not None else None
    if call is None or offer is None or offer.cancelled:
        if ev.result is OfferResult.ANSWERED:
            # Answered after we withdrew the offer: end that agent leg.
            node = call.node if call is not None else ev.call_id.split(":", 1)[0]
            self._out.append(HangupLeg(node, ev.leg))
        return
    if ev.result is OfferResult.ANSWERED:
        self._offer_answered(call, offer)
    elif ev.result is OfferResult.UNKNOWN:
        offer.fate_unknown = True  # judged from the bridge after the resync
    else:
        self._offer_failed(call, offer, OFFER_FAILURES[ev.result])


def offer_answered(self: CallFlow, call: Call, offer: Offer) -> None:
    offer.fate_unknown = False
    if offer.pick:
        if offer.picked:
            return
        if call.stage is not Stage.OFFERED or any(o.picked for o in call.offers):
            # Another leg of the ring-all was picked first: this one never bridges.
            self._drop_offer(call, offer)
            self._out.append(HangupLeg(call.node, offer.leg))
            return
        # The first answer wins: only this leg is sent to its Bridge(), so no second
        # agent can pull the caller away; the ACD cancels the others (CancelOffer).
        offer.picked = True
        call.agent_id = offer.agent_id
        self._out.append(PickLeg(call.node, call.call_id, offer.leg, self.ring_all_context))
    self._acd(acd.OfferAnswered(call.call_id, offer.agent_id))


def offer_failed(self: CallFlow, call: Call, offer: Offer, why: acd.OfferFailure) -> None:
    offer.fate_unknown = False
    self._drop_offer(call, offer)
    self._acd(acd.OfferFailed(call.call_id, offer.agent_id, why))


def drop_offer(self: CallFlow, call: Call, offer: Offer) -> None:
    """The offer is over; the call holds again once none rings (its stage first: the
    ACD may offer it again at once)."""
    if offer in call.offers:
        call.offers.remove(offer)
    self.legs.pop(offer.leg, None)  # any later report of the leg is stale
    if call.stage is Stage.OFFERED and not call.live_offers():
        call.stage = next_stage(call.call_id, call.stage, Step.OFFER_OVER)


def to_acd(self: CallFlow, event: Any) -> None:
    try:
        commands = self.acd.handle(event, self._now.mono)
    except acd.AcdError as exc:
        self._log("error", f"ACD refused {event!r}: {exc}")
        return
    self._acd_commands(commands)


def acd_commands(self: CallFlow, commands: Iterable[Any]) -> None:
    for cmd in commands:
        match cmd:
            case acd.HoldCaller():
                self._hold(cmd)
            case acd.OfferCall():
                self._offer(cmd)
            case acd.CancelOffer():
                self._cancel(cmd)
            case acd.CallConnected():
                self._connected(cmd)
            case acd.CallOutcome():
                self._acd_outcome(cmd)
            case acd.OverflowCall():
                self._overflow(cmd)
            case acd.AgentStateChanged():
                self._agent_state(cmd)
            case acd.PauseEnded():
                self._pause_ended(cmd)


def hold(self: CallFlow, cmd: acd.HoldCaller) -> None:
    call = self.calls.get(cmd.call_id)
    if call is None or call.stage not in (Stage.HOLDING, Stage.OFFERED):
        return
    jobs = [*call.outbox, *([call.pending] if call.pending else [])]
    if any(j.purpose in (Purpose.HOLD, Purpose.MUSIC_ON) for j in jobs):
        return
    if not call.music_on:
        call.outbox.append(AgiJob(f"SET MUSIC ON {self.moh_class}", Purpose.MUSIC_ON))
    ms = max(1000, round(cmd.seconds * 1000))
    self._queue_agi(call, AgiJob(f"WAIT FOR DIGIT {ms}", Purpose.HOLD))


def cancel(self: CallFlow, cmd: acd.CancelOffer) -> None:
    call = self.calls.get(cmd.call_id)
    offer = next((o for o in call.offers if o.agent_id == cmd.agent_id), None) if call else None
    if call is None or offer is None:
        return
    offer.cancelled = True
    self._drop_offer(call, offer)
    self._out.append(Push(cmd.agent_id, {"type": "call_ended", "call_id": call.call_id}))
    self._out.append(HangupLeg(call.node, offer.leg))


def connected(self: CallFlow, cmd: acd.CallConnected) -> None:
    call = self.calls.get(cmd.call_id)
    if call is None:
        return
    call.stage = next_stage(call.call_id, call.stage, Step.CONNECT)
    call.agent_id = cmd.agent_id
    call.outbox.clear()
    self._write(RecordCallUpdate(call.call_id, answered_at=self._now.wall,
                                 agent_id=int_id(cmd.agent_id), wait_s=cmd.wait_s))  # fmt: skip
    self._record_if_bridged(call)


def acd_outcome(self: CallFlow, cmd: acd.CallOutcome) -> None:
    call = self.calls.get(cmd.call_id)
    if call is None:
        self._settle(cmd.call_id, cmd.outcome, cmd.queue, cmd.wait_s, cmd.agent_id)
        return
    call.in_acd = False
    self._outcome(call, cmd.outcome, cmd.queue, cmd.wait_s, cmd.agent_id)
    if call.agent_id is not None:
        self._out.append(Push(call.agent_id, {"type": "call_ended",
                                              "call_id": call.call_id}))  # fmt: skip


def overflow(self: CallFlow, cmd: acd.OverflowCall) -> None:
    call = self.calls.get(cmd.call_id)
    if call is None:
        return
    self._log("warning", f"call {cmd.call_id} waited {cmd.wait_s:.0f} s in {cmd.queue}: "
                         "overflow", call)  # fmt: skip
    call.stage = next_stage(call.call_id, call.stage, Step.OVERFLOW)
    self._after_call(call)


def pause_ended(self: CallFlow, cmd: acd.PauseEnded) -> None:
    """One row per ended pause: the reports sum pause time per reason and agent."""
    agent_id = int_id(cmd.agent_id)
    if agent_id is None:
        return  # an agent of no SQL row (a test's): nothing to refer to
    started, ended = (dt.datetime.fromtimestamp(self.wall_time(t, self._now), dt.UTC)
                      for t in (cmd.started_at, cmd.ended_at))  # fmt: skip
    self._write(RecordPause(agent_id, cmd.reason, started, ended, cmd.seconds))


def agent_state(self: CallFlow, cmd: acd.AgentStateChanged) -> None:
    self._write(RecordAgentState(int_id(cmd.agent_id) or 0, self._now.wall, cmd.new.value,
                                 cmd.old.value, cmd.reason or None))  # fmt: skip
    self._out.append(Push(cmd.agent_id, {
        "type": "state",
        "state": PAGE_STATE[cmd.new],
        "since": self.wall_time(cmd.at, self._now),
        "call_id": cmd.call_id,
    }))  # fmt: skip


def agent_command(self: CallFlow, event: Any) -> None:
    if isinstance(event, acd.AgentReady):
        try:
            view = self.acd.agent(event.agent_id, self._now.mono)
        except acd.AcdError as exc:
            self._log("warning", f"ready of unknown agent: {exc}")
            return
        if view.state is acd.AgentState.LOGGED_OUT:
            event = acd.AgentLogin(event.agent_id)
    self._acd(event)
