"""The Originate action: dial a Local pair or a PJSIP phone, then run Context/Exten or an app.

Sequence of a Local originate (02, 03, 08):

- ``Newchannel`` ;1 (Down) and ;2 (Ring); ``Newexten`` ;1 ``AppDial2 (Outgoing Line)``;
  ``VarSet`` on ;1 in reverse order, its CallerID; ``VarSet`` on ;2 in order, its
  CallerID; ``LocalBridge``; ``DialBegin``; ;2 runs its dialplan.
- answer: ``Newstate`` ;2 and ;1 Up, ``DialEnd ANSWER``, two ``DeviceStateChange
  INUSE``, ``OriginateResponse`` Reason 4, then ;1 runs Context/Exten or the app.
- busy: Reason 5 (Hangup causes 17 and 0); no answer before ``Timeout``: Reason 3
  (cause 19); no such Local context: ``Hangup`` both (cause 0), Reason 0,
  ``DeviceStateChange INVALID`` twice. A failed OriginateResponse names the
  dial string and ``<unknown>`` for Uniqueid/CallerIDNum/CallerIDName.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .apps import run_app
from .channels import UNKNOWN, Channel, State
from .dialplan import DIALPLAN, extension_exists
from .population import phone_plan
from .wire import ActionFrame, parse_callerid

if TYPE_CHECKING:
    from .world import World

REASON = {"answer": 4, "busy": 5, "noanswer": 3, "failed": 0, "hangup": 1, "congestion": 8}


@dataclass
class Request:
    action_id: str
    channel: str
    tech: str
    resource: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    callerid: tuple[str, str] | None = None
    timeout: float = 30.0
    variables: list[tuple[str, str]] = field(default_factory=list)
    channel_id: str = ""
    other_channel_id: str = ""
    is_async: bool = False

    @property
    def local(self) -> tuple[str, str]:
        """``Local/exten@context/n`` -> (exten, context)."""
        dest = self.resource.split("/")[0]
        exten, _, context = dest.partition("@")
        return exten, context or "default"


def parse(frame: ActionFrame) -> Request | str:
    """The Originate fields, or the error text Asterisk answers (08-errors)."""
    channel = frame.get("Channel")
    if not channel:
        return "Channel not specified"
    app = frame.get("Application")
    context, exten, prio = frame.get("Context"), frame.get("Exten"), frame.get("Priority")
    priority = 1
    if prio:
        if not prio.strip().lstrip("-").isdigit():
            return "Invalid priority"
        priority = int(prio)
    timeout = frame.get("Timeout")
    if timeout and not timeout.strip().lstrip("-").isdigit():
        return "Invalid timeout"
    tech, slash, resource = channel.partition("/")
    if not slash:
        return "Invalid channel"
    if not app and (not exten or not context or not prio):
        return "Originate with 'Exten' requires 'Context' and 'Priority'"
    variables: list[tuple[str, str]] = []
    for line in frame.getall("Variable"):
        for item in line.split(","):
            name, eq, value = item.partition("=")
            if eq and name.strip():
                variables.append((name.strip(), value))
    cid = frame.get("CallerID")
    return Request(
        action_id=frame.action_id,
        channel=channel,
        tech=tech,
        resource=resource,
        context=context,
        exten=exten,
        priority=priority,
        application=app,
        data=frame.get("Data"),
        callerid=parse_callerid(cid) if cid else None,
        timeout=(int(timeout) if timeout else 30000) / 1000.0,
        variables=variables,
        channel_id=frame.get("ChannelId"),
        other_channel_id=frame.get("OtherChannelId"),
        is_async=frame.get("Async").lower() in ("true", "yes", "1", "y", "t", "on"),
    )


def local_context_missing(req: Request) -> bool:
    return req.tech.lower() == "local" and req.local[1] not in DIALPLAN


def _response(world: World, req: Request, outcome: str, ch: Channel | None) -> None:
    if not req.is_async:
        return
    ok = outcome == "answer" and ch is not None
    fields = [("ActionID", req.action_id)] if req.action_id else []
    fields += [("Response", "Success" if ok else "Failure")]
    fields += [("Channel", ch.name if ok and ch else req.channel)]
    if req.application:
        fields += [("Application", req.application), ("Data", req.data)]
    else:
        fields += [("Context", req.context), ("Exten", req.exten)]
    fields += [("Reason", str(REASON.get(outcome, 0)))]
    if ok and ch is not None:
        fields += [
            ("Uniqueid", ch.uniqueid),
            ("CallerIDNum", ch.cid_num),
            ("CallerIDName", ch.cid_name),
        ]
    else:
        # 16: a failed Originate names its ChannelId and CallerID; without them (03, 08)
        # the literal <unknown>.
        num, name = req.callerid or (UNKNOWN, UNKNOWN)
        fields += [
            ("Uniqueid", req.channel_id or UNKNOWN),
            ("CallerIDNum", num or UNKNOWN),
            ("CallerIDName", name or UNKNOWN),
        ]
    world.emit("OriginateResponse", fields)


def _setup(world: World, req: Request, ch: Channel, reverse: bool) -> None:
    for name, value in reversed(req.variables) if reverse else req.variables:
        world.set_var(ch, name, value)
    if req.callerid is not None:
        num, name = req.callerid
        if ch.half == 2:
            ch.conn_num, ch.conn_name = num, name
        world.set_callerid(ch, num, name)
        world.set_connected(ch, num, name)


def _role(req: Request, context: str) -> str:
    if req.application.lower() == "bridge" or context.startswith("agent"):
        return "agent"
    if context == "caller-sim":
        return "caller"
    return "other"


async def originate(world: World, req: Request) -> bool:
    """Place the call; emit OriginateResponse if async. True when answered."""
    if req.tech.lower() == "local":
        return await _local(world, req)
    return await _tech(world, req)


async def _local(world: World, req: Request) -> bool:
    exten, context = req.local
    one, two = world.new_local_pair(exten, context, req.channel_id, req.other_channel_id)
    one.role = _role(req, context)
    one.agent_key = exten
    world.newexten(one, "AppDial2", "(Outgoing Line)")
    one.mode = "dial"
    _setup(world, req, one, reverse=True)
    _setup(world, req, two, reverse=False)
    if not extension_exists(context, exten):
        for ch in (two, one):
            world.discard(ch, emit_hangup=True)
            if ch is two:
                _response(world, req, "failed", None)
        world.device_state(one.device, "INVALID", 2)
        return False
    world.emit(
        "LocalBridge",
        one.fields("LocalOne")
        + two.fields("LocalTwo")
        + [("Context", context), ("Exten", exten), ("LocalOptimization", "Yes")],
    )
    world.emit("DialBegin", one.fields("Dest") + [("DialString", f"{exten}@{context}")])
    one.answered = asyncio.get_running_loop().create_future()
    world.start_dialplan(two, context, exten, 1)
    outcome = await _wait(world, one, req.timeout)
    if outcome == "answer":
        world.emit("DialEnd", one.fields("Dest") + [("DialStatus", "ANSWER")])
        one.device_inuse = two.device_inuse = True
        world.device_state(one.device, "INUSE", 2)
        _response(world, req, "answer", one)
        _run(world, req, one)
        return True
    _fail_pair(world, req, one, two, outcome)
    return False


def _fail_pair(world: World, req: Request, one: Channel, two: Channel, outcome: str) -> None:
    if outcome == "busy":  # 03-C agent-busy
        world.emit("DialEnd", one.fields("Dest") + [("DialStatus", "BUSY")])
        if not two.gone:
            world.chan_event("HangupRequest", two, ("Cause", "0"))
        _response(world, req, "busy", None)
        two.hangupcause, one.hangupcause = 17, 0
    elif outcome == "noanswer":  # 03-C agent-noanswer
        if not two.gone:
            world.chan_event("HangupRequest", two, ("Cause", "19"))
        _response(world, req, "noanswer", None)
        two.hangupcause = one.hangupcause = 19
    else:
        _response(world, req, outcome, None)
    for ch in (two, one):
        if not ch.gone:
            if ch is two and not ch.hanging:
                world.chan_event("SoftHangupRequest", ch, ("Cause", "16"))
            world.discard(ch, emit_hangup=True)


async def _wait(world: World, ch: Channel, timeout: float) -> str:
    """The dial outcome, or "noanswer" when ``timeout`` (the Originate's) runs out."""
    assert ch.answered is not None
    await asyncio.wait({ch.answered}, timeout=timeout / world.time_scale)
    return ch.answered.result() if ch.answered.done() else "noanswer"


def _run(world: World, req: Request, ch: Channel) -> None:
    if req.application:
        ch.runner = world.spawn(run_app(world, ch, req.application, req.data), ch.name)
    else:
        world.start_dialplan(ch, req.context, req.exten, req.priority)


#: Hotline's queued callback rings the agent into this context (its extensions.conf).
CALLBACK_AGENT_CONTEXT = "hotline-callback"
#: The context of the bench's PJSIP agent endpoints (16, 21: ``Context: agents-out``).
AGENT_ENDPOINT_CONTEXT = "agents-out"


async def _tech(world: World, req: Request) -> bool:
    """A PJSIP agent phone, as in 16: busy (486), ringing unanswered (480 at the Originate's
    Timeout), no contact (no channel at all) or answered. The scenario says which."""
    endpoint = req.resource.split("/")[0].split("@")[-1]
    user = req.resource.split("/")[0].partition("@")[0] if "@" in req.resource else ""
    trunk = world.trunks is not None and bool(user) and world.trunks.wants(endpoint)
    real = not trunk and world.sip is not None and world.sip.wants(req, endpoint)
    plan = ("answer", 0.0) if real or trunk else phone_plan(world, endpoint)
    if trunk and not await world.trunks.reachable(endpoint):
        # unrecorded: a trunk whose far node is down, taken as 16's endpoint with no
        # contact (its aor's qualify found it unreachable): Reason 0 at once, no channel.
        plan = ("unreachable", 0.0)
    if plan[0] == "unreachable":
        # 16 (2003, no contact): Reason 0 at once, no Newchannel, DialBegin or Hangup.
        _response(world, req, "failed", None)
        return False
    ch = world.new_tech_channel(req.tech, endpoint, AGENT_ENDPOINT_CONTEXT, "s", req.channel_id)
    # A phone dialed into the hotline dialplan is a customer; else an agent, and so is a
    # phone dialed into the queued callback's agent context (the agent first: its whisper;
    # unrecorded: no transcript originates a PJSIP phone into a context, 02 a Local one).
    customer = req.context.startswith("hotline") and req.context != CALLBACK_AGENT_CONTEXT
    ch.role = "caller" if not req.application and customer else "agent"
    ch.agent_key = user if trunk else endpoint
    world.add_channel(ch)
    world.newexten(ch, "AppDial2", "(Outgoing Line)")
    ch.mode = "dial"
    _setup(world, req, ch, reverse=False)
    world.emit("DialBegin", ch.fields("Dest") + [("DialString", req.resource)])
    ch.answered = asyncio.get_running_loop().create_future()
    # With --sip, a phone with a SIP URI (dial string or scenario) is really called (pbxsim.sip).
    if trunk:
        world.spawn(world.trunks.dial(ch, endpoint, user), f"trunk {ch.name}")
    elif not real or world.sip.dial(ch, req) is None:
        world.spawn(_phone(world, ch, plan), f"phone {ch.name}")
    outcome = await _wait(world, ch, req.timeout)
    if outcome == "answer":
        world.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "ANSWER")])
        ch.device_inuse = True
        world.device_state(ch.device, "INUSE")
        _response(world, req, "answer", ch)
        _run(world, req, ch)
        return True
    if ch.gone:
        _response(world, req, outcome, None)
    elif outcome == "busy":
        # 16 (2001, 486 Busy Here): Reason 0, not the 5 of a Local Busy() (03).
        ch.hangupcause, ch.techcause = 17, 486
        world.chan_event("HangupRequest", ch, ("Cause", "17"), ("TechCause", "486"))
        _response(world, req, "failed", None)
        world.emit("DialEnd", ch.fields("Dest") + [("DialStatus", "BUSY")])
        world.discard(ch, emit_hangup=True)
    elif outcome == "noanswer":
        # 16 (2002, rings past Timeout): Reason 3, cause 19 / 480, no DialEnd.
        ch.hangupcause, ch.techcause = 19, 480
        _response(world, req, "noanswer", None)
        world.discard(ch, emit_hangup=True)
        world.device_state(ch.device, "NOT_INUSE")
    else:
        # unrecorded: a PJSIP leg refused with another status (404, 503, 603…).
        status = {"congestion": "CONGESTION", "failed": "CHANUNAVAIL"}.get(outcome, "CANCEL")
        world.emit("DialEnd", ch.fields("Dest") + [("DialStatus", status)])
        ch.hangupcause = {"congestion": 34}.get(outcome, 16)
        _response(world, req, outcome, None)
        world.discard(ch, emit_hangup=True)
    return False


def ring(world: World, ch: Channel, *, dial_state_first: bool) -> None:
    """180 Ringing: DialState RINGING, Newstate Ringing and DeviceStateChange RINGING (16;
    the first two came in either order)."""
    if ch.gone or ch.state == State.RINGING:
        return
    if dial_state_first:
        world.emit("DialState", ch.fields("Dest") + [("DialStatus", "RINGING")])
        world.set_state(ch, State.RINGING)
    else:
        world.set_state(ch, State.RINGING)
        world.emit("DialState", ch.fields("Dest") + [("DialStatus", "RINGING")])
    world.device_state(ch.device, "RINGING")


async def _phone(world: World, ch: Channel, plan: tuple[str, float]) -> None:
    outcome, delay = plan
    if outcome == "busy":
        if ch.answered is not None and not ch.answered.done():
            ch.answered.set_result("busy")
        return
    await world.sleep(0.005)  # unrecorded: 180 came within milliseconds in 16
    ring(world, ch, dial_state_first=outcome == "noanswer")
    if outcome == "noanswer":
        return
    await world.sleep(delay)
    if not ch.gone and ch.state != State.UP:
        world.answer(ch)
