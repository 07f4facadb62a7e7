"""After a reconnect or a restart: reconcile with what Asterisk really has.

A lost AMI link or a dead controller leaves callers parked in AsyncAGI
(res_agi has no timeout: transcript 12). ``CoreShowChannels`` lists them
(``Application: AGI``, ``ApplicationData: agi:async``); the tracker turns the
list into domain events; calls we know carry on, calls we do not know are
adopted (a queued one goes back into its queue with its original wait), and
calls a dead run left open in SQL are settled. A mixin of
:class:`callcenter.controller.Controller`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import acd
from callcenter.ami import ActionError, AMIError
from callcenter.callflow import LiveCall, Node, Stage, utcnow
from callcenter.calls import ParkedInAgi
from callcenter.storage import call_key
from callcenter.storage.writes import RecordCallEvent, RecordCallUpdate

log = logging.getLogger(__name__)


class Recovery:
    """Resync after a (re)connect, adoption of parked callers, settling left-overs."""

    nodes: dict[str, Node]
    calls: dict[str, LiveCall]
    detached: dict[str, Any]
    writer: Any
    store: Any
    metrics: Any
    counters: dict[str, int]
    entry_contexts: frozenset[str]
    after_call_context: str
    record_outcome: Callable[[str, str, str, float, int | None], None]

    # -- resync ------------------------------------------------------------------
    async def _resync(self, node: Node, first: bool = False) -> None:
        """Reconcile with CoreShowChannels after a (re)connect (transcript 12)."""
        try:
            listing = await node.client.send_list_action("CoreShowChannels")
            listed = await self._corrected(node, listing.events)
        except AMIError as exc:
            log.error("resync of %s failed: %s", node.name, exc)
            return
        for de in node.tracker.resync(listed):
            self._on_domain(node, de)
        if first:
            await self._settle_open_calls(node)
        node.synced.set()
        self._changed()

    async def _corrected(self, node: Node, listed: list[Any]) -> list[Any]:
        """The channel listing, with ``Status`` where CoreShowChannels can be stale.

        CoreShowChannels keeps the application of a caller's last AGI ``EXEC``
        long after it returned (``MusicOnHold`` for a caller parked in AsyncAGI
        again); ``Status`` of the same channel says ``AGI`` (transcript 15). A
        channel of our contexts that is in no bridge and is listed with another
        application is asked with ``Status``. If that still names an application
        (an ``EXEC`` still running), the caller is ours all the same: the only
        applications our contexts run outside ``AGI()`` are instant (Answer,
        Set, NoOp, GotoIf), and an AGI command sent meanwhile is queued and runs
        when the ``EXEC`` returns (transcript 21 shows such queueing).
        """
        ours = self.entry_contexts | {self.after_call_context}
        out: list[Any] = []
        for ev in listed:
            if (
                ev.name == "CoreShowChannel"
                and not ev.get("BridgeId")
                and ev.get("Application") != "AGI"
                and ev.get("Context") in ours
            ):
                try:
                    status = await node.client.send_list_action(
                        "Status", {"Channel": ev.get("Channel") or ""}
                    )
                except ActionError:
                    continue  # "No such channel": gone between the two listings
                facts = [e for e in status.events if e.name == "Status"]
                if not facts:
                    continue  # gone between the two listings
                app = facts[0].get("Application") or ""
                if app not in ("", "(null)"):
                    ev = Listed(ev, {"Application": "AGI", "ApplicationData": "agi:async"})
            out.append(ev)
        return out

    def _on_parked(self, node: Node, de: ParkedInAgi, call: LiveCall | None) -> None:
        if call is not None:
            if de.uniqueid == call.uniqueid:
                call.agi_ready.set()
            return
        if de.context not in self.entry_contexts:
            self._spawn(self._hangup_stray(node, de.channel), f"stray {de.channel}")
            return
        self._spawn(self._adopt(node, de), f"adopt {de.channel}")

    async def _adopt(self, node: Node, de: ParkedInAgi) -> None:
        """A caller parked in AsyncAGI from before our restart: pick it up again."""
        key = call_key(node.name, de.call_id)
        row = await self.store.get_call(key)
        if key in self.calls or node.tracker.channels.get(de.uniqueid) is None:
            return
        call = self._new_call(
            node, de.call_id, de.channel, de.uniqueid, de.caller_number, de.caller_name
        )
        call.agi_ready.set()
        if row is not None and row.started_at is not None:
            call.started_at = _aware(row.started_at)
        self.writer.submit(RecordCallEvent(key, utcnow(), "adopted", {"channel": de.channel}))
        if row is not None and row.queued_at is not None and row.queue:
            waited = (utcnow() - _aware(row.queued_at)).total_seconds()
            call.queue, call.language, call.stage = row.queue, row.language, Stage.QUEUED
            self._acd(
                acd.CallQueued(
                    key,
                    row.queue,
                    call.caller_number or "anonymous",
                    entered_at=self.now() - max(0.0, waited),
                )
            )
        else:
            self._start_ivr(call)

    async def _settle_open_calls(self, node: Node) -> None:
        """Calls a previous run left open in SQL (it died, transcript 12's `dead`).

        Gone now: settled at once. Parked in AsyncAGI: adopted by ``_adopt``.
        Still talking to an agent (in a bridge, not in AGI): settled when the
        call ends.
        """
        for row in await self.store.open_calls(node.name):
            if row.id in self.calls:
                continue
            call = node.tracker.calls.get(row.linkedid)
            if call is None:
                self._settle(row, "settled_after_restart")
            elif not any(ch.in_agi for ch in call.channels.values()):
                self.detached[row.id] = row

    def _settle(self, row: Any, why: str) -> None:
        outcome = (
            "answered" if row.answered_at else ("abandoned" if row.queued_at else "ivr_hangup")
        )
        now = utcnow()
        self.record_outcome(row.id, row.queue or "", outcome, row.wait_s or 0.0, row.agent_id)
        self.writer.submit(RecordCallUpdate(row.id, ended_at=now))
        self.writer.submit(RecordCallEvent(row.id, now, why, {"outcome": outcome}))


class Listed:
    """A listed channel with some of its fields corrected from better facts."""

    def __init__(self, ev: Any, fix: dict[str, str]) -> None:
        self.name: str = ev.name
        self._ev = ev
        self._fix = fix

    def get(self, name: str, default: str | None = None) -> str | None:
        if name in self._fix:
            return self._fix[name]
        value: str | None = self._ev.get(name, default)
        return value


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
