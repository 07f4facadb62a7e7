"""A caller from arrival to the queue: call row, CRM lookup, the IVR over AsyncAGI.

Rules kept here:

- one AGI command at a time per caller; each waits until the channel is in
  AsyncAGI (``agi_ready``), because Asterisk 22 ends AsyncAGI after a failed
  ``STREAM FILE`` and ``[hotline-safe]`` re-enters it (transcript 13), and a
  channel pulled into a bridge leaves AsyncAGI without ``AsyncAGIEnd`` (03);
- a command lost with the AMI link is sent again after the resync;
- a caller who is gone stops the work (:class:`CallGone`), nothing else does.

A mixin of :class:`callcenter.controller.Controller`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import acd
from callcenter.ami import ActionError, AgiHangup, AMIConnectionError, AMIError
from callcenter.callflow import CallGone, LiveCall, Node, Stage, utcnow
from callcenter.storage import call_key
from callcenter.storage.writes import RecordCallEvent, RecordCallStarted, RecordCallUpdate
from ivr import IvrDefinition, IvrSession, agi_command, prompt_result
from ivr.events import (
    CollectDigits,
    Hangup,
    PlayPrompt,
    PromptFailed,
    RouteToQueue,
    SetLanguage,
)

log = logging.getLogger(__name__)

#: how long a command waits for its channel to be back in AsyncAGI
AGI_READY_WAIT_S = 4.0


class CallerFlow:
    """New callers, their IVR walk, and every AGI command sent to them."""

    nodes: dict[str, Node]
    calls: dict[str, LiveCall]
    ivr: IvrDefinition
    writer: Any
    crm: Any
    crm_timeout_s: float
    moh_class: str
    counters: dict[str, int]

    # -- a new caller ----------------------------------------------------------
    def _new_call(
        self, node: Node, linkedid: str, channel: str, uniqueid: str, number: str, name: str
    ) -> LiveCall:
        number = "" if number in ("", "unknown", "<unknown>") else number
        call = LiveCall(
            call_id=call_key(node.name, linkedid),
            node=node.name,
            linkedid=linkedid,
            channel=channel,
            uniqueid=uniqueid,
            caller_number=number,
            caller_name="" if name in ("unknown", "<unknown>") else name,
            started_at=utcnow(),
        )
        self.calls[call.call_id] = call
        self.counters["calls"] += 1
        self.writer.submit(
            RecordCallStarted(
                call.call_id,
                linkedid,
                node.name,
                call.started_at,
                caller_number=number or None,
                caller_name=call.caller_name or None,
            )
        )
        if number:
            call.card_lookup = self._spawn(self._lookup(call), f"crm {call.call_id}")
        return call

    async def _lookup(self, call: LiveCall) -> None:
        card = await self.crm.lookup(call.caller_number, self.crm_timeout_s)
        call.card = card
        if card is not None:
            self.writer.submit(RecordCallUpdate(call.call_id, customer_id=card.customer_id))

    def _start_ivr(self, call: LiveCall) -> None:
        call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number)
        call.stage = Stage.IVR
        commands = call.ivr.start(self.now())
        call.job = self._spawn(self._run_ivr(call, commands), f"ivr {call.call_id}")

    async def _run_ivr(self, call: LiveCall, commands: list[Any]) -> None:
        session = call.ivr
        assert session is not None
        try:
            while commands:
                cmd = commands.pop(0)
                if isinstance(cmd, RouteToQueue):
                    call.job = None
                    self._route(call, cmd)
                    return
                if isinstance(cmd, SetLanguage):
                    call.language = cmd.language
                    await self._agi(call, agi_command(cmd) or "NOOP")
                    continue
                if isinstance(cmd, Hangup):
                    await self._agi(call, "HANGUP")
                    return
                if isinstance(cmd, PromptFailed):
                    # GET DATA of a missing prompt: result=-1 at once, still in
                    # AsyncAGI (transcript 17); the IVR reads the digit without it.
                    log.warning(
                        "call %s: prompt %s of menu %s failed (%d in a row); %s",
                        call.call_id, cmd.prompt, cmd.node, cmd.failures,
                        "reading the digit with no prompt" if cmd.listening else "a miss",
                    )  # fmt: skip
                    self.counters["prompt_failures"] = self.counters.get("prompt_failures", 0) + 1
                    continue
                if isinstance(cmd, (PlayPrompt, CollectDigits)):
                    reply = await self._agi(call, agi_command(cmd) or "NOOP")
                    result = prompt_result(cmd, reply.text)
                    if result.status == "failed" and cmd.prompt:
                        self.writer.submit(
                            RecordCallEvent(
                                call.call_id, utcnow(), "prompt_failed",
                                {"prompt": cmd.prompt, "reply": reply.text},
                            )
                        )  # fmt: skip
                        if isinstance(cmd, PlayPrompt):
                            # Asterisk 22 ends AsyncAGI after a failed STREAM FILE
                            # (transcript 13); wait for [hotline-safe] to bring it back.
                            call.agi_ready.clear()
                    commands = session.on_result(result, self.now())
        except CallGone:
            return
        finally:
            if call.job is asyncio.current_task():
                call.job = None

    def _route(self, call: LiveCall, cmd: RouteToQueue) -> None:
        call.queue = cmd.queue
        call.language = cmd.language
        call.selections = {s.node: s.digits for s in cmd.selections}
        call.stage = Stage.QUEUED
        card = call.card
        priority = 1 if card is not None and card.is_vip else 0
        self.writer.submit(
            RecordCallUpdate(
                call.call_id,
                language=cmd.language,
                queue=cmd.queue,
                queued_at=utcnow(),
                ivr_selections=tuple(f"{n}={d}" for n, d in call.selections.items()),
            )
        )
        self._acd(
            acd.CallQueued(
                call.call_id,
                cmd.queue,
                call.caller_number or "anonymous",
                priority=priority,
                customer_id=str(card.customer_id) if card is not None else None,
            )
        )

    # -- AGI -------------------------------------------------------------------
    async def _agi(self, call: LiveCall, command: str) -> Any:
        """Send one AGI command to the caller, surviving re-entries and reconnects."""
        node = self.nodes[call.node]
        for attempt in range(6):
            if call.stage is Stage.ENDED:
                raise CallGone(call.call_id)
            await self._until_in_agi(call, node)
            try:
                return await node.client.agi(call.channel, command)
            except AgiHangup as exc:
                if call.stage is Stage.ENDED or node.tracker.channels.get(call.uniqueid) is None:
                    raise CallGone(call.call_id) from exc
                call.agi_ready.clear()
            except ActionError:
                call.agi_ready.clear()  # not in AsyncAGI (yet): wait for AsyncAGIStart
            except AMIConnectionError:
                call.agi_ready.clear()  # the link dropped: the resync sets it again
                await node.synced.wait()
            self.counters["agi_retries"] += 1
            log.info("call %s: AGI %r again (attempt %d)", call.call_id, command, attempt + 2)
        raise CallGone(f"{call.call_id}: AGI {command!r} kept failing")

    async def _until_in_agi(self, call: LiveCall, node: Node) -> None:
        try:
            await asyncio.wait_for(call.agi_ready.wait(), AGI_READY_WAIT_S)
        except TimeoutError:
            ch = node.tracker.channels.get(call.uniqueid)
            if ch is None:
                raise CallGone(call.call_id) from None
            await node.synced.wait()
            call.agi_ready.set()  # no AsyncAGIStart seen: try anyway, the error tells

    async def _hold(self, call: LiveCall, seconds: float) -> None:
        """One slice of the queue's hold: music on, then a ``WAIT FOR DIGIT`` slice.

        Not ``EXEC MusicOnHold``: after it returns, CoreShowChannels keeps listing
        the caller as ``MusicOnHold`` and a restarted controller would not see a
        caller parked in AsyncAGI (transcript 15). ``SET MUSIC ON`` then ``WAIT
        FOR DIGIT`` keeps ``Application: AGI`` throughout and a digit ends the
        wait (15). Every prompt stops the music and it does not come back by
        itself (22), so the music is switched on again after anything else ran.
        """
        try:
            if not call.music_on:
                await self._agi(call, f"SET MUSIC ON {self.moh_class}")
                call.music_on = True
            ms = max(1000, round(seconds * 1000))
            reply = await self._agi(call, f"WAIT FOR DIGIT {ms}")
            digit = reply.digit
            if digit:
                self.writer.submit(
                    RecordCallEvent(call.call_id, utcnow(), "digit_on_hold", {"digit": digit})
                )
        except CallGone:
            return
        finally:
            if call.job is asyncio.current_task():
                call.job = None
        if call.stage is Stage.QUEUED:
            self._acd(acd.HoldSliceDone(call.call_id))

    async def _after_call(self, call: LiveCall) -> None:
        try:
            await self._agi(call, "HANGUP")
        except CallGone:
            pass

    async def _hangup_stray(self, node: Node, channel: str) -> None:
        try:
            await node.client.agi(channel, "HANGUP")
        except AMIError:
            log.warning("could not end stray AsyncAGI channel %s", channel)
