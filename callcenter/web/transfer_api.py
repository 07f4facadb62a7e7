"""An agent hands its talking caller on to a queue or to another agent:
``POST /api/calls/{call_id}/transfer``.

Body ``{"queue": "<name>", "mode": "blind"}``, or ``{"agent": "<agent id>"}`` (with an
optional ``queue``; without it, the call's queue). The caller leaves the agent (an AMI
``BlindTransfer`` of the agent's leg back into the hotline, transcript 07 B), waits in
that queue again as the same call, and the agent who answers it next gets the same
screen-pop before the phone is answered; the agent goes to wrap-up. To a named agent,
the caller waits for that agent alone first (offered at once if Ready), for up to
``AGENT_TRANSFER_WAIT_S`` (60 s), then for any agent of the queue. Only the call's own
agent may do it: 401 anonymous, 403 anyone else (supervisors included,
``not_your_call`` for another agent), 404 no such live call (``unknown_call``), queue
(``unknown_queue``) or agent (``unknown_agent``), 409 the call is not talking to its
agent (``not_talking``) or the named agent is logged out or not of that queue
(``agent_unavailable``), 400 a bad body (an agent naming themself: ``agent``). 202:
the transfer is under way; the call's events tell the rest.

Attended (``{"agent": "<id>", "mode": "attended"}``, no ``queue``: the call stays in
its own; or ``{"queue": "<name>", "mode": "attended"}``, no ``agent``: that queue's next
Ready agent other than the caller's, as the ACD would route it, else 409
``no_agent_ready`` with nothing changed): the agent consults that agent first. AMI ``Atxfer`` of the agent's leg rings
the other agent's phone (its desk shows the caller's card) while the caller hears music
on hold; the other agent must be Ready (409 ``agent_busy``), and one consultation at a
time (409 ``consulting``). Then ``POST /api/calls/{call_id}/transfer/complete`` (once
the other agent answered, else 409 ``not_answered``: the caller talks to that agent, the
first goes to wrap-up) or ``POST /api/calls/{call_id}/transfer/cancel`` (``CancelAtxfer``:
the caller is back with the first agent); both 409 ``not_consulting`` when no
consultation is under way. 202: asked; the desk's messages tell the rest.
"""

from __future__ import annotations

import logging
from typing import Literal, Self

from aiohttp import web
from pydantic import ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from callcenter.web.api import CALL_ID, _Body, read_body
from callcenter.web.auth import AGENTS, require_api
from callcenter.web.errors import ApiError
from callcenter.web.keys import DESK

log = logging.getLogger(__name__)


class TransferBody(_Body):
    """``POST /api/calls/{call_id}/transfer``: where the caller goes, and how."""

    # the document says what the validator below says: a queue, an agent or both
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [
            {"required": [name], "properties": {name: {"type": "string"}}}
            for name in ("queue", "agent")
        ]}
    )  # fmt: skip

    #: the queue the caller waits in next (a configured queue's name); with ``agent``,
    #: optional (the call's queue)
    queue: str | None = Field(default=None, min_length=1, max_length=64,
                              pattern=r"^[A-Za-z0-9_.-]+$")  # fmt: skip
    #: another agent (its id): the caller waits for that agent alone first
    agent: str | None = Field(default=None, min_length=1, max_length=64,
                              pattern=r"^[A-Za-z0-9_.-]+$")  # fmt: skip
    #: blind: the agent lets go at once, the caller holds in the queue; attended: the
    #: agent consults ``agent`` first (the caller on hold), then completes or cancels
    mode: Literal["blind", "attended"] = "blind"

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.queue is None and self.agent is None:
            raise ValueError("queue: give a queue or an agent")
        if self.mode == "attended" and self.queue is not None and self.agent is not None:
            raise ValueError("queue: an attended transfer consults an agent or a queue's next")
        return self


class TransferAsked(TypedDict):
    """The caller is being handed on to ``queue`` (for ``agent`` first, if not null;
    ``queue`` null: the call's own)."""

    call_id: str
    queue: str | None
    agent: str | None
    mode: str


_REFUSALS = {
    "unknown_queue": (404, "unknown_queue", "no queue {queue!r}"),
    "not_your_call": (403, "not_your_call", "call {call_id!r} is not yours"),
    "not_talking": (409, "not_talking", "call {call_id!r} is not talking to its agent"),
    "unknown_agent": (404, "unknown_agent", "no agent {agent!r}"),
    "agent_unavailable": (409, "agent_unavailable",
                          "agent {agent!r} is logged out or not of that queue"),
    "same_agent": (400, "invalid_field", "agent: the call is already yours"),
    "consulting": (409, "consulting", "call {call_id!r}: a consultation is under way"),
    "agent_busy": (409, "agent_busy", "agent {agent!r} is not Ready"),
    "no_agent_ready": (409, "no_agent_ready", "no agent of queue {queue!r} is Ready"),
    "not_consulting": (409, "not_consulting", "call {call_id!r}: no consultation under way"),
    "not_answered": (409, "not_answered",
                     "call {call_id!r}: the consulted agent has not answered"),
}


class ConsultEnding(TypedDict):
    """The consultation of ``call_id`` is being completed or cancelled."""

    call_id: str
    action: Literal["complete", "cancel"]


def _own_call(request: web.Request) -> tuple[str, str]:
    """The call id of the path and the agent asking, once it is that call's agent."""
    session = require_api(request, AGENTS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    return call_id, session.account_id


def _check_owner(request: web.Request, call_id: str, account_id: str) -> None:
    agent = request.app[DESK].call_agent(call_id)
    if agent is None:
        raise ApiError(404, "unknown_call", f"no live call {call_id!r}")
    if agent != account_id:
        raise ApiError(403, "not_your_call", f"call {call_id!r} is not yours")


async def transfer_call(request: web.Request) -> web.StreamResponse:
    """Transfer the agent's talking call to a queue or an agent (blind), or consult an
    agent first (attended)."""
    call_id, me = _own_call(request)
    body = await read_body(request, TransferBody)
    desk = request.app[DESK]
    _check_owner(request, call_id, me)
    if body.agent is not None and body.agent == me:
        raise ApiError(400, "invalid_field", "agent: the call is already yours")
    if body.mode == "attended":
        why = desk.consult(call_id, me, body.agent, body.queue or "")
    elif body.agent is None:
        why = desk.transfer(call_id, body.queue or "", me)
    else:
        why = desk.transfer(call_id, body.queue or "", me, body.agent)
    if why is not None:
        status, code, text = _REFUSALS.get(why, _REFUSALS["not_talking"])
        raise ApiError(status, code, text.format(queue=body.queue, call_id=call_id,
                                                 agent=body.agent))  # fmt: skip
    log.info("call %s transferred (%s) to queue %s agent %s by agent %s", call_id, body.mode,
             body.queue, body.agent, me)  # fmt: skip
    return web.json_response(TransferAsked(call_id=call_id, queue=body.queue, agent=body.agent,
                                           mode=body.mode), status=202)  # fmt: skip


async def _end_consult(request: web.Request, complete: bool) -> web.StreamResponse:
    call_id, me = _own_call(request)
    _check_owner(request, call_id, me)
    why = request.app[DESK].end_consult(call_id, me, complete)
    if why is not None:
        status, code, text = _REFUSALS.get(why, _REFUSALS["not_talking"])
        raise ApiError(status, code, text.format(queue=None, call_id=call_id, agent=None))
    action: Literal["complete", "cancel"] = "complete" if complete else "cancel"
    log.info("call %s: consultation %s by agent %s", call_id, action, me)
    return web.json_response(ConsultEnding(call_id=call_id, action=action), status=202)


async def complete_transfer(request: web.Request) -> web.StreamResponse:
    """Complete the attended transfer: the caller talks to the consulted agent."""
    return await _end_consult(request, True)


async def cancel_transfer(request: web.Request) -> web.StreamResponse:
    """Cancel the attended transfer: the caller is back with its agent."""
    return await _end_consult(request, False)
