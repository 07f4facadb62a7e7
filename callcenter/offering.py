"""Offering a queued call to an agent: screen-pop, Originate, and the answer.

The screen-pop goes to the agent's desktop at the moment the Originate is sent,
so the card is on screen while the phone rings. ``Originate <device>
Application=Bridge Data=<caller>,F(<after-call>^s^1)`` with ``ChannelId`` set,
so the agent leg's Uniqueid is known before the channel exists (transcript 06).
``OriginateResponse`` Reason 4 answered, 3 no answer, 5 busy (Local), 0 busy,
unreachable or failed, told apart by the agent leg (transcripts 03, 08, 16). A mixin of :class:`callcenter.controller.Controller`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import acd
from callcenter.ami import AMIConnectionError, AMIError
from callcenter.callflow import LiveCall, Node, Offer

log = logging.getLogger(__name__)

#: Originate reasons (transcripts 03, 08, 16): 3 no answer, 5 busy (a Local
#: channel running Busy()); 0 is busy, unreachable or failed: see the leg
_FAILURES = {"3": acd.OfferFailure.NO_ANSWER, "5": acd.OfferFailure.BUSY}
#: Hangup Cause 17, "User busy" (transcript 16)
_USER_BUSY = 17


class Offering:
    """Carries out the ACD's ``OfferCall`` and ``CancelOffer``."""

    nodes: dict[str, Node]
    calls: dict[str, LiveCall]
    hub: Any
    counters: dict[str, int]
    after_call_context: str
    _offer_seq: int

    def _do_offer(self, cmd: acd.OfferCall) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        self._offer_seq += 1
        offer = Offer(cmd.agent_id, f"hl-{call.linkedid}-{self._offer_seq}")
        call.offer = offer
        call.agent_id = cmd.agent_id
        # The screen-pop goes out with the Originate, while the agent's phone rings.
        self.counters["screen_pops_sent"] += 1
        self.hub.push_to_agent(
            cmd.agent_id,
            {
                "type": "screen_pop",
                "call_id": call.call_id,
                "caller_number": call.caller_number,
                "card": call.card_json(),
                "ivr": {
                    "language": call.language,
                    "selections": call.selections,
                    "queue": call.queue,
                },
            },
        )
        self._spawn(self._originate(call, offer, cmd), f"offer {call.call_id}")

    async def _originate(self, call: LiveCall, offer: Offer, cmd: acd.OfferCall) -> None:
        node = self.nodes[call.node]
        failed = acd.OfferFailed(call.call_id, cmd.agent_id, acd.OfferFailure.FAILED)
        if not node.synced.is_set():
            # The PBX link is down: ring the agent once it is back, not never.
            try:
                await asyncio.wait_for(node.synced.wait(), cmd.timeout_s)
            except TimeoutError:
                self._offer_result(call, offer, failed)
                return
        number = "".join(c for c in call.caller_number if c.isdigit() or c == "+")
        try:
            ev = await node.client.originate(
                cmd.device,
                application="Bridge",
                data=f"{call.channel},F({self.after_call_context}^s^1)",
                caller_id=f"<{number}>" if number else None,
                dial_timeout=cmd.timeout_s,
                channel_id=offer.channel_uid,
                other_channel_id=f"{offer.channel_uid}-2",
                timeout=cmd.timeout_s + 15,
            )
        except AMIConnectionError:
            # The OriginateResponse is lost with the link: read the agent leg's fate
            # from the channels seen after the resync instead.
            self._offer_result(call, offer, await self._offer_fate(node, call, offer, cmd))
            return
        except AMIError as exc:
            log.warning("offer of %s to %s failed: %s", call.call_id, cmd.agent_id, exc)
            self._offer_result(call, offer, failed)
            return
        if ev.get("Response") == "Success":
            self._offer_result(call, offer, acd.OfferAnswered(call.call_id, cmd.agent_id))
            return
        reason = _FAILURES.get(ev.get("Reason") or "")
        if reason is None:
            reason = await self._failure_kind(node, offer.channel_uid)
        self._offer_result(call, offer, acd.OfferFailed(call.call_id, cmd.agent_id, reason))

    async def _failure_kind(self, node: Node, uid: str) -> acd.OfferFailure:
        """Tell a Reason-0 failure apart by the agent leg (transcript 16).

        A PJSIP leg answered ``486 Busy Here`` hangs up with Cause 17 /
        TechCause 486; an endpoint with no contact creates no channel at all;
        anything else is a plain failure. The leg's ``Hangup`` comes in the same
        millisecond as the ``OriginateResponse``, before or after it (21): a leg
        still up is given a moment to hang up.
        """
        for _ in range(20):
            if uid not in node.tracker.channels:
                break
            await asyncio.sleep(0.05)
        ended = node.tracker.ended.get(uid)
        if ended is None:
            if uid in node.tracker.channels:
                return acd.OfferFailure.FAILED
            return acd.OfferFailure.UNREACHABLE
        cause, tech = ended
        if cause == _USER_BUSY or tech == "486":
            return acd.OfferFailure.BUSY
        return acd.OfferFailure.FAILED

    async def _offer_fate(
        self, node: Node, call: LiveCall, offer: Offer, cmd: acd.OfferCall
    ) -> Any:
        deadline = self.now() + cmd.timeout_s
        seen = False
        while self.now() < deadline and call.offer is offer and not offer.cancelled:
            if node.synced.is_set():
                leg = node.tracker.channels.get(offer.channel_uid)
                if leg is not None and leg.bridge:
                    return acd.OfferAnswered(call.call_id, cmd.agent_id)
                if leg is None and seen:
                    break
                seen = seen or leg is not None
            await asyncio.sleep(0.2)
        return acd.OfferFailed(call.call_id, cmd.agent_id, acd.OfferFailure.NO_ANSWER)

    def _offer_result(self, call: LiveCall, offer: Offer, event: Any) -> None:
        if call.offer is not offer or offer.cancelled:
            if isinstance(event, acd.OfferAnswered):
                # Answered after we withdrew the offer: end that agent leg.
                self._spawn(self._hangup_uid(call.node, offer.channel_uid), "withdrawn leg")
            return
        self._acd(event)

    def _do_cancel(self, cmd: acd.CancelOffer) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None or call.offer is None or call.offer.agent_id != cmd.agent_id:
            return
        call.offer.cancelled = True
        self.hub.push_to_agent(cmd.agent_id, {"type": "call_ended", "call_id": call.call_id})
        self._spawn(self._hangup_uid(call.node, call.offer.channel_uid), "cancel offer")

    async def _hangup_uid(self, node_name: str, uid: str) -> None:
        node = self.nodes[node_name]
        ch = node.tracker.channels.get(uid)
        if ch is None:
            return
        try:
            await node.client.send_action("Hangup", {"Channel": ch.name}, check=False)
        except AMIError:
            log.warning("could not hang up %s", ch.name)
