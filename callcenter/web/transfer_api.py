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
the transfer is under way; the call's events tell the rest. Attended transfer
(``mode: attended``) is not offered (400).
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
    #: blind: the agent lets go at once, the caller holds in the queue
    mode: Literal["blind"] = "blind"

    @model_validator(mode="after")
    def _somewhere(self) -> Self:
        if self.queue is None and self.agent is None:
            raise ValueError("queue: give a queue or an agent")
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
}


async def transfer_call(request: web.Request) -> web.StreamResponse:
    """Transfer the agent's talking call to a queue (blind)."""
    session = require_api(request, AGENTS)
    call_id = request.match_info["call_id"]
    if not CALL_ID.fullmatch(call_id):
        raise ApiError(400, "invalid_field", "call_id: not a call id")
    body = await read_body(request, TransferBody)
    desk = request.app[DESK]
    agent = desk.call_agent(call_id)
    if agent is None:
        raise ApiError(404, "unknown_call", f"no live call {call_id!r}")
    if agent != session.account_id:
        raise ApiError(403, "not_your_call", f"call {call_id!r} is not yours")
    if body.agent is not None and body.agent == session.account_id:
        raise ApiError(400, "invalid_field", "agent: the call is already yours")
    if body.agent is None:
        why = desk.transfer(call_id, body.queue or "", session.account_id)
    else:
        why = desk.transfer(call_id, body.queue or "", session.account_id, body.agent)
    if why is not None:
        status, code, text = _REFUSALS.get(why, _REFUSALS["not_talking"])
        raise ApiError(status, code, text.format(queue=body.queue, call_id=call_id,
                                                 agent=body.agent))  # fmt: skip
    log.info("call %s transferred to queue %s agent %s by agent %s", call_id, body.queue,
             body.agent, session.account_id)  # fmt: skip
    return web.json_response(TransferAsked(call_id=call_id, queue=body.queue, agent=body.agent,
                                           mode=body.mode), status=202)  # fmt: skip
